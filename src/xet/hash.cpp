// Xet hashes (spec §1). The merkle root is computed level by level: each pass cuts the node
// list left to right into groups of 2..9 (a group ends after a node whose hash % 4 == 0, counting
// from its third node, or at 9 nodes, or when at most 2 nodes are left) and replaces each group by
// an internal node hashing "{hex(child)} : {size}\n" lines with the internal-node key.
#include "xet/hash.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "crypto/blake3.hpp"
#include "util/hex.hpp"

namespace hubgate::xet {

const Key32 kDataKey = {102, 151, 245, 119, 91,  149, 80,  222, 49,  53,  203, 172, 165, 151, 24,  28,
                        157, 228, 33,  16,  155, 235, 43,  88,  180, 208, 176, 75,  147, 173, 242, 41};
const Key32 kInternalNodeKey = {1,  126, 197, 199, 165, 71,  41,  150, 253, 148, 102, 102, 180, 138, 2,   230,
                                93, 221, 83,  111, 55,  199, 109, 210, 248, 99,  82,  230, 74,  83,  113, 63};
const Key32 kVerificationKey = {127, 24,  87, 214, 206, 86,  237, 102, 18, 127, 249, 19,  231, 165, 195, 243,
                                164, 205, 38, 213, 181, 219, 73,  230, 65, 36,  152, 127, 40,  251, 148, 195};

namespace {
MerkleHash keyed(const Key32& key, ByteView data) {
  MerkleHash h;
  h.bytes = crypto::Blake3::keyed(key, data);
  return h;
}
constexpr char kDigits[] = "0123456789abcdef";

void append_hex(std::string& out, const MerkleHash& h) {
  char buf[64];
  for (int w = 0; w < 4; ++w) {
    for (int b = 0; b < 8; ++b) {
      std::uint8_t v = h.bytes[w * 8 + 7 - b];
      buf[w * 16 + 2 * b] = kDigits[v >> 4];
      buf[w * 16 + 2 * b + 1] = kDigits[v & 15];
    }
  }
  out.append(buf, 64);
}

HashAndSize merge(std::span<const HashAndSize> group) {
  std::string text;
  text.reserve(group.size() * 90);
  std::uint64_t total = 0;
  for (const auto& n : group) {
    append_hex(text, n.hash);
    text += " : ";
    text += std::to_string(n.size);
    text += '\n';
    total += n.size;
  }
  return {keyed(kInternalNodeKey, as_bytes(text)), total};
}

std::size_t next_cut(std::span<const HashAndSize> nodes) {
  if (nodes.size() <= 2) return nodes.size();
  std::size_t lim = std::min<std::size_t>(9, nodes.size());
  for (std::size_t k = 2; k < lim; ++k) {
    if (nodes[k].hash.mod(4) == 0) return k + 1;
  }
  return lim;
}
}  // namespace

std::string MerkleHash::hex() const {
  std::string s;
  s.reserve(64);
  append_hex(s, *this);
  return s;
}

Result<MerkleHash> MerkleHash::from_hex(std::string_view s) {
  if (s.size() != 64) return fail(Errc::invalid_argument, "xet hash: expected 64 hex digits, got " + std::to_string(s.size()));
  MerkleHash h;
  for (int w = 0; w < 4; ++w) {
    for (int b = 0; b < 8; ++b) {
      int hi = hex_digit_value(s[w * 16 + 2 * b]), lo = hex_digit_value(s[w * 16 + 2 * b + 1]);
      if (hi < 0 || lo < 0) return fail(Errc::invalid_argument, "xet hash: invalid hex digit near position " + std::to_string(w * 16 + 2 * b));
      h.bytes[w * 8 + 7 - b] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
  }
  return h;
}

MerkleHash MerkleHash::from_raw(ByteView raw32) {
  MerkleHash h;
  std::memcpy(h.bytes.data(), raw32.data(), std::min<std::size_t>(32, raw32.size()));
  return h;
}

std::uint64_t MerkleHash::word(int k) const {
  std::uint64_t v = 0;
  for (int b = 7; b >= 0; --b) v = v << 8 | bytes[k * 8 + b];
  return v;
}

bool MerkleHash::is_zero() const {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

MerkleHash chunk_hash(ByteView chunk) { return keyed(kDataKey, chunk); }

MerkleHash merkle_root(std::span<const HashAndSize> leaves) {
  if (leaves.empty()) return {};
  if (leaves.size() == 1) return leaves[0].hash;
  std::vector<HashAndSize> level(leaves.begin(), leaves.end());
  while (level.size() > 1) {
    std::size_t w = 0, r = 0;
    while (r < level.size()) {
      std::size_t cut = r + next_cut(std::span(level).subspan(r));
      level[w++] = merge(std::span(level).subspan(r, cut - r));
      r = cut;
    }
    level.resize(w);
  }
  return level[0].hash;
}

MerkleHash file_hash_from_root(const MerkleHash& root, const MerkleHash& salt) { return keyed(salt.bytes, root.bytes); }

MerkleHash file_hash(std::span<const HashAndSize> chunks) {
  if (chunks.empty()) return {};
  return keyed(Key32{}, merkle_root(chunks).bytes);
}

MerkleHash verification_hash(std::span<const MerkleHash> chunk_hashes) {
  std::vector<std::uint8_t> buf(chunk_hashes.size() * 32);
  for (std::size_t i = 0; i < chunk_hashes.size(); ++i) std::memcpy(buf.data() + 32 * i, chunk_hashes[i].bytes.data(), 32);
  return keyed(kVerificationKey, buf);
}

MerkleHash hmac(const MerkleHash& key, const MerkleHash& h) { return keyed(key.bytes, h.bytes); }

}  // namespace hubgate::xet
