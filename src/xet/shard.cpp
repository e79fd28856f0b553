// Shard writer and sequential parser (format in shard.hpp). The writer emits files and xorbs in
// the order given, then (with a footer) lookup tables sorted by the truncated hash (first word)
// whose values count 48-byte records from the start of their section, as XC does.
#include "xet/shard.hpp"

#include <algorithm>
#include <cstring>
#include <tuple>

namespace hubgate::xet {

namespace {

constexpr std::uint8_t kTag[32] = {'H', 'F', 'R', 'e', 'p', 'o', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 0, 85,
                                   105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169};
constexpr std::size_t kRecord = 48;

void put_hash(std::string& out, const MerkleHash& h) { out.append(reinterpret_cast<const char*>(h.bytes.data()), 32); }
void put_bookend(std::string& out) {
  out.append(32, '\xff');
  out.append(16, '\0');
}
bool is_bookend(ByteView rec) {
  for (int i = 0; i < 32; ++i)
    if (rec[i] != 0xff) return false;
  return true;
}

}  // namespace

std::array<std::uint8_t, 32> sha256_to_shard(const std::array<std::uint8_t, 32>& d) {
  std::array<std::uint8_t, 32> out{};
  for (int w = 0; w < 4; ++w)
    for (int b = 0; b < 8; ++b) out[w * 8 + b] = d[w * 8 + 7 - b];
  return out;
}

std::string serialize_shard(const Shard& shard, const ShardWriteOptions& opts) {
  std::string out;
  out.append(reinterpret_cast<const char*>(kTag), 32);
  put_le<std::uint64_t>(out, 2);
  put_le<std::uint64_t>(out, opts.footer ? kShardFooterSize : 0);

  std::vector<std::tuple<std::uint64_t, std::uint32_t>> file_lookup;
  const std::size_t file_off = out.size();
  std::uint64_t materialized = 0;
  for (const auto& f : shard.files) {
    file_lookup.emplace_back(f.file_hash.word(0), static_cast<std::uint32_t>((out.size() - file_off) / kRecord));
    std::uint32_t flags = 0;
    bool ver = !f.verification.empty() && f.verification.size() == f.segments.size();
    if (ver) flags |= kFileFlagVerification;
    if (f.sha256) flags |= kFileFlagMetadataExt;
    put_hash(out, f.file_hash);
    put_le<std::uint32_t>(out, flags);
    put_le<std::uint32_t>(out, static_cast<std::uint32_t>(f.segments.size()));
    put_le<std::uint64_t>(out, 0);
    for (const auto& s : f.segments) {
      put_hash(out, s.xorb_hash);
      put_le<std::uint32_t>(out, 0);
      put_le<std::uint32_t>(out, s.unpacked_bytes);
      put_le<std::uint32_t>(out, s.chunk_start);
      put_le<std::uint32_t>(out, s.chunk_end);
      materialized += s.unpacked_bytes;
    }
    if (ver) {
      for (const auto& v : f.verification) {
        put_hash(out, v);
        out.append(16, '\0');
      }
    }
    if (f.sha256) {
      auto s = sha256_to_shard(*f.sha256);
      out.append(reinterpret_cast<const char*>(s.data()), 32);
      out.append(16, '\0');
    }
  }
  put_bookend(out);

  const std::size_t cas_off = out.size();
  std::vector<std::tuple<std::uint64_t, std::uint32_t>> cas_lookup;
  std::vector<std::tuple<std::uint64_t, std::uint32_t, std::uint32_t>> chunk_lookup;
  std::uint64_t stored = 0, on_disk = 0;
  for (const auto& x : shard.xorbs) {
    auto idx = static_cast<std::uint32_t>((out.size() - cas_off) / kRecord);
    cas_lookup.emplace_back(x.xorb_hash.word(0), idx);
    put_hash(out, x.xorb_hash);
    put_le<std::uint32_t>(out, 0);
    put_le<std::uint32_t>(out, static_cast<std::uint32_t>(x.chunks.size()));
    put_le<std::uint32_t>(out, x.unpacked_total);
    put_le<std::uint32_t>(out, x.bytes_on_disk);
    stored += x.unpacked_total;
    on_disk += x.bytes_on_disk;
    for (std::size_t i = 0; i < x.chunks.size(); ++i) {
      const auto& c = x.chunks[i];
      chunk_lookup.emplace_back(c.hash.word(0), idx, static_cast<std::uint32_t>(i));
      put_hash(out, c.hash);
      put_le<std::uint32_t>(out, c.unpacked_offset);
      put_le<std::uint32_t>(out, c.unpacked_len);
      put_le<std::uint32_t>(out, c.flags);
      put_le<std::uint32_t>(out, 0);
    }
  }
  put_bookend(out);
  if (!opts.footer) return out;

  ShardFooter f;
  f.file_info_offset = file_off;
  f.cas_info_offset = cas_off;
  std::stable_sort(file_lookup.begin(), file_lookup.end(), [](auto& a, auto& b) { return std::get<0>(a) < std::get<0>(b); });
  std::stable_sort(cas_lookup.begin(), cas_lookup.end(), [](auto& a, auto& b) { return std::get<0>(a) < std::get<0>(b); });
  std::stable_sort(chunk_lookup.begin(), chunk_lookup.end(), [](auto& a, auto& b) { return std::get<0>(a) < std::get<0>(b); });
  f.file_lookup_offset = out.size();
  f.file_lookup_num_entry = file_lookup.size();
  for (auto& [k, v] : file_lookup) {
    put_le<std::uint64_t>(out, k);
    put_le<std::uint32_t>(out, v);
  }
  f.cas_lookup_offset = out.size();
  f.cas_lookup_num_entry = cas_lookup.size();
  for (auto& [k, v] : cas_lookup) {
    put_le<std::uint64_t>(out, k);
    put_le<std::uint32_t>(out, v);
  }
  f.chunk_lookup_offset = out.size();
  f.chunk_lookup_num_entry = chunk_lookup.size();
  for (auto& [k, a, b] : chunk_lookup) {
    put_le<std::uint64_t>(out, k);
    put_le<std::uint32_t>(out, a);
    put_le<std::uint32_t>(out, b);
  }
  f.footer_offset = out.size();
  put_le<std::uint64_t>(out, f.version);
  for (auto v : {f.file_info_offset, f.cas_info_offset, f.file_lookup_offset, f.file_lookup_num_entry, f.cas_lookup_offset,
                 f.cas_lookup_num_entry, f.chunk_lookup_offset, f.chunk_lookup_num_entry})
    put_le<std::uint64_t>(out, v);
  put_hash(out, opts.hmac_key);
  put_le<std::uint64_t>(out, opts.creation_ts);
  put_le<std::uint64_t>(out, opts.key_expiry);
  for (int i = 0; i < 6; ++i) put_le<std::uint64_t>(out, 0);
  put_le<std::uint64_t>(out, on_disk);
  put_le<std::uint64_t>(out, materialized);
  put_le<std::uint64_t>(out, stored);
  put_le<std::uint64_t>(out, f.footer_offset);
  return out;
}

namespace {

Result<ShardFooter> parse_footer(ByteView d) {
  ByteReader r(d, "shard footer");
  ShardFooter f;
  HG_TRY(f.version, r.u64le());
  if (f.version != 1) return fail(Errc::unsupported, "shard footer: unsupported version " + std::to_string(f.version));
  HG_TRY(f.file_info_offset, r.u64le());
  HG_TRY(f.cas_info_offset, r.u64le());
  HG_TRY(f.file_lookup_offset, r.u64le());
  HG_TRY(f.file_lookup_num_entry, r.u64le());
  HG_TRY(f.cas_lookup_offset, r.u64le());
  HG_TRY(f.cas_lookup_num_entry, r.u64le());
  HG_TRY(f.chunk_lookup_offset, r.u64le());
  HG_TRY(f.chunk_lookup_num_entry, r.u64le());
  HG_TRY(auto key, r.bytes(32));
  f.chunk_hash_hmac_key = MerkleHash::from_raw(key);
  HG_TRY(f.creation_ts, r.u64le());
  HG_TRY(f.key_expiry, r.u64le());
  HG_TRY_VOID(r.skip(48));
  HG_TRY(f.stored_bytes_on_disk, r.u64le());
  HG_TRY(f.materialized_bytes, r.u64le());
  HG_TRY(f.stored_bytes, r.u64le());
  HG_TRY(f.footer_offset, r.u64le());
  return f;
}

std::string at(const ByteReader& r, const std::string& what) { return "shard: at offset " + std::to_string(r.offset()) + ": " + what; }

}  // namespace

Result<Shard> parse_shard(ByteView data, const ShardParseOptions& opts) {
  ByteReader r(data, "shard");
  HG_TRY(auto tag, r.bytes(32));
  if (std::memcmp(tag.data(), kTag, 32) != 0) return fail(Errc::corrupt, "shard: bad header tag");
  HG_TRY(auto version, r.u64le());
  if (version != 2) return fail(Errc::unsupported, "shard: unsupported version " + std::to_string(version));
  HG_TRY(auto footer_size, r.u64le());
  if (footer_size != 0 && footer_size != kShardFooterSize)
    return fail(Errc::corrupt, "shard: footer_size " + std::to_string(footer_size) + " (expected 0 or 200)");
  Shard shard;
  std::size_t end = data.size();
  if (footer_size) {
    if (data.size() < 48 + kShardFooterSize) return fail(Errc::corrupt, "shard: too short for its footer");
    end = data.size() - kShardFooterSize;
    HG_TRY(auto f, parse_footer(data.subspan(end)));
    shard.footer = f;
  }
  ByteReader body(data.subspan(0, end), "shard");
  HG_TRY_VOID(body.seek(48));
  std::size_t records = 0;
  auto take_records = [&](std::uint64_t n) -> Result<void> {
    if (n > body.remaining() / kRecord) return fail(Errc::corrupt, at(body, std::to_string(n) + " records claimed, " + std::to_string(body.remaining() / kRecord) + " present"));
    records += static_cast<std::size_t>(n);
    if (records > opts.max_records) return fail(Errc::limit_exceeded, "shard: more than " + std::to_string(opts.max_records) + " records");
    return {};
  };

  // File section.
  for (;;) {
    HG_TRY_VOID(take_records(1));
    HG_TRY(auto rec, body.bytes(kRecord));
    if (is_bookend(rec)) break;
    ByteReader h(rec, "shard file header");
    FileInfo fi;
    fi.file_hash = MerkleHash::from_raw(*h.bytes(32));
    std::uint32_t flags = *h.u32le(), n = *h.u32le();
    std::uint32_t known = kFileFlagVerification | kFileFlagMetadataExt;
    if (flags & ~known) return fail(Errc::unsupported, at(body, "unknown file flags " + std::to_string(flags)));
    bool ver = flags & kFileFlagVerification, ext = flags & kFileFlagMetadataExt;
    std::uint64_t more = std::uint64_t{n} * (ver ? 2 : 1) + (ext ? 1 : 0);
    HG_TRY_VOID(take_records(more));
    if (opts.require_verification && !ver) return fail(Errc::invalid_argument, "shard: file " + fi.file_hash.hex() + " lacks verification entries");
    fi.segments.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      ByteReader e(*body.bytes(kRecord), "shard segment");
      FileSegment s;
      s.xorb_hash = MerkleHash::from_raw(*e.bytes(32));
      (void)*e.u32le();
      s.unpacked_bytes = *e.u32le();
      s.chunk_start = *e.u32le();
      s.chunk_end = *e.u32le();
      if (s.chunk_end <= s.chunk_start)
        return fail(Errc::corrupt, "shard: file " + fi.file_hash.hex() + " segment " + std::to_string(i) + " has an empty chunk range");
      fi.segments.push_back(s);
    }
    if (ver) {
      for (std::uint32_t i = 0; i < n; ++i) fi.verification.push_back(MerkleHash::from_raw(body.bytes(kRecord)->subspan(0, 32)));
    }
    if (ext) {
      auto rec2 = *body.bytes(kRecord);
      std::array<std::uint8_t, 32> stored{};
      std::memcpy(stored.data(), rec2.data(), 32);
      fi.sha256 = sha256_to_shard(stored);  // the transform is its own inverse
    }
    shard.files.push_back(std::move(fi));
  }

  // CAS section.
  for (;;) {
    HG_TRY_VOID(take_records(1));
    HG_TRY(auto rec, body.bytes(kRecord));
    if (is_bookend(rec)) break;
    ByteReader h(rec, "shard xorb header");
    CasInfo ci;
    ci.xorb_hash = MerkleHash::from_raw(*h.bytes(32));
    (void)*h.u32le();
    std::uint32_t n = *h.u32le();
    ci.unpacked_total = *h.u32le();
    ci.bytes_on_disk = *h.u32le();
    HG_TRY_VOID(take_records(n));
    ci.chunks.reserve(n);
    std::uint64_t expect_off = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      ByteReader e(*body.bytes(kRecord), "shard chunk");
      CasChunk c;
      c.hash = MerkleHash::from_raw(*e.bytes(32));
      c.unpacked_offset = *e.u32le();
      c.unpacked_len = *e.u32le();
      c.flags = *e.u32le();
      if (c.unpacked_offset != expect_off)
        return fail(Errc::corrupt, "shard: xorb " + ci.xorb_hash.hex() + " chunk " + std::to_string(i) + " offset " +
                                       std::to_string(c.unpacked_offset) + " != " + std::to_string(expect_off));
      expect_off += c.unpacked_len;
      ci.chunks.push_back(c);
    }
    if (expect_off != ci.unpacked_total)
      return fail(Errc::corrupt, "shard: xorb " + ci.xorb_hash.hex() + " chunk sizes sum to " + std::to_string(expect_off) +
                                     ", header says " + std::to_string(ci.unpacked_total));
    shard.xorbs.push_back(std::move(ci));
  }
  return shard;
}

}  // namespace hubgate::xet
