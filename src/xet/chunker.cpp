// Gear chunker, fast path. A cut can only happen at chunk offsets i >= MIN-1 (length >= MIN), and
// there the hash is a pure function of the 64 bytes ending at i (the shift pushes older bytes
// out), so the search is: skip to offset MIN-65, hash 64 bytes without checking, then scan until
// the first position whose hash has its top 16 bits clear, or MAX.
//
// The scan breaks the serial h -> h' dependency (2 cycles per byte) by running four lanes over
// four adjacent blocks of a superblock; lanes 1..3 warm up on the 64 bytes before their block,
// which gives them the exact hash. When any lane hits at step t, lanes before it finish their
// blocks sequentially (an earlier lane's later hit is still an earlier position), then the
// lowest hitting lane wins. Remainders and short scans use the plain sequential loop.
#include "xet/chunker.hpp"

namespace hubgate::xet {

const std::uint64_t kGearTable[256] = {
#include "xet/gear_table.inc"
};

namespace {

constexpr std::uint64_t kSkipTo = kMinChunk - 64 - 1;  // 8127: first hashed offset
constexpr std::uint64_t kCheckFrom = kMinChunk - 1;    // 8191: first offset where a cut may happen
constexpr std::size_t kBlock = 4096;                   // lane block size
constexpr std::size_t kLanes = 4;

#define HG_GEAR(h, b) ((h) = ((h) << 1) + kGearTable[(b)])

// Sequential scan with checks: returns the index of the first byte after which (h & mask) == 0,
// or n; h is updated (to the state after that byte or after all n bytes).
inline std::size_t scan_seq(const std::uint8_t* p, std::size_t n, std::uint64_t& h) {
  std::uint64_t x = h;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    HG_GEAR(x, p[i]);
    if ((x & kChunkMask) == 0) { h = x; return i; }
    HG_GEAR(x, p[i + 1]);
    if ((x & kChunkMask) == 0) { h = x; return i + 1; }
    HG_GEAR(x, p[i + 2]);
    if ((x & kChunkMask) == 0) { h = x; return i + 2; }
    HG_GEAR(x, p[i + 3]);
    if ((x & kChunkMask) == 0) { h = x; return i + 3; }
  }
  for (; i < n; ++i) {
    HG_GEAR(x, p[i]);
    if ((x & kChunkMask) == 0) { h = x; return i; }
  }
  h = x;
  return n;
}

inline std::uint64_t warm(const std::uint8_t* p) {  // hash of the 64 bytes p[-64..-1]
  std::uint64_t x = 0;
  for (int k = -64; k < 0; ++k) HG_GEAR(x, p[k]);
  return x;
}

// Four-lane scan; same contract as scan_seq. Every position checked is admissible.
std::size_t scan(const std::uint8_t* p, std::size_t n, std::uint64_t& h) {
  constexpr std::size_t kSuper = kBlock * kLanes;
  std::size_t base = 0;
  std::uint64_t h0 = h;
  while (n - base >= kSuper) {
    const std::uint8_t* q0 = p + base;
    const std::uint8_t* q1 = q0 + kBlock;
    const std::uint8_t* q2 = q1 + kBlock;
    const std::uint8_t* q3 = q2 + kBlock;
    std::uint64_t h1 = warm(q1), h2 = warm(q2), h3 = warm(q3);
    std::size_t t = 0;
    bool hit = false;
#pragma GCC unroll 4
    for (; t < kBlock; ++t) {
      HG_GEAR(h0, q0[t]);
      HG_GEAR(h1, q1[t]);
      HG_GEAR(h2, q2[t]);
      HG_GEAR(h3, q3[t]);
      if (((h0 & kChunkMask) == 0) | ((h1 & kChunkMask) == 0) | ((h2 & kChunkMask) == 0) |
          ((h3 & kChunkMask) == 0)) {
        hit = true;
        break;
      }
    }
    if (!hit) {
      h0 = h3;
      base += kSuper;
      continue;
    }
    // Resolve: the earliest position wins. Lane states are all "after step t".
    const std::uint8_t* q[kLanes] = {q0, q1, q2, q3};
    std::uint64_t hs[kLanes] = {h0, h1, h2, h3};
    for (std::size_t k = 0; k < kLanes; ++k) {
      if ((hs[k] & kChunkMask) == 0) {
        h = hs[k];
        return base + k * kBlock + t;
      }
      std::uint64_t x = hs[k];
      std::size_t j = scan_seq(q[k] + t + 1, kBlock - t - 1, x);
      if (j < kBlock - t - 1) {
        h = x;
        return base + k * kBlock + t + 1 + j;
      }
    }
    // Unreachable: some lane had a zero at step t.
    h = hs[kLanes - 1];
    return base + kSuper - 1;
  }
  std::uint64_t x = h0;
  std::size_t j = scan_seq(p + base, n - base, x);
  h = x;
  return base + j;
}

}  // namespace

std::size_t Chunker::next_cut(ByteView data) {
  const std::uint8_t* p = data.data();
  const std::size_t n = data.size();
  std::size_t i = 0;
  if (len_ < kSkipTo) {
    std::size_t s = static_cast<std::size_t>(std::min<std::uint64_t>(kSkipTo - len_, n));
    i += s;
    len_ += s;
    h_ = 0;
    if (i == n) return 0;
  }
  if (len_ < kCheckFrom) {
    std::size_t s = static_cast<std::size_t>(std::min<std::uint64_t>(kCheckFrom - len_, n - i));
    std::uint64_t x = h_;
    for (std::size_t k = 0; k < s; ++k) HG_GEAR(x, p[i + k]);
    h_ = x;
    i += s;
    len_ += s;
    if (i == n) return 0;
  }
  std::size_t m = static_cast<std::size_t>(std::min<std::uint64_t>(kMaxChunk - len_, n - i));
  std::size_t j = m >= 2 * kBlock * kLanes ? scan(p + i, m, h_) : scan_seq(p + i, m, h_);
  if (j < m) {
    len_ = 0;
    h_ = 0;
    return i + j + 1;
  }
  i += m;
  len_ += m;
  if (len_ == kMaxChunk) {
    len_ = 0;
    h_ = 0;
    return i;
  }
  return 0;
}

void Chunker::feed(ByteView data, std::vector<std::size_t>& cuts) {
  std::size_t off = 0;
  while (off < data.size()) {
    std::size_t c = next_cut(data.subspan(off));
    if (c == 0) break;
    off += c;
    cuts.push_back(off);
  }
}

std::uint64_t Chunker::finish() {
  std::uint64_t last = len_;
  len_ = 0;
  h_ = 0;
  return last;
}

std::vector<std::uint32_t> chunk_lengths(ByteView data) {
  std::vector<std::uint32_t> out;
  Chunker c;
  std::size_t off = 0;
  while (off < data.size()) {
    std::size_t cut = c.next_cut(data.subspan(off));
    if (cut == 0) break;
    out.push_back(static_cast<std::uint32_t>(cut));
    off += cut;
  }
  if (auto last = c.finish()) out.push_back(static_cast<std::uint32_t>(last));
  return out;
}

std::vector<std::uint32_t> chunk_lengths_reference(ByteView data, bool hj_compat) {
  std::vector<std::uint32_t> out;
  std::uint64_t h = 0;
  std::size_t len = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    ++len;
    if (len - 1 < kSkipTo) continue;  // chunk offsets [0, 8127) are never hashed
    h = (h << 1) + kGearTable[data[i]];
    if (len == kMaxChunk || ((h & kChunkMask) == 0 && (hj_compat || len >= kMinChunk))) {
      out.push_back(static_cast<std::uint32_t>(len));
      len = 0;
      h = 0;
    }
  }
  if (len > 0) out.push_back(static_cast<std::uint32_t>(len));
  return out;
}

}  // namespace hubgate::xet
