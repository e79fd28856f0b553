// Shard format (spec/xet.md §4): file reconstructions and xorb (CAS) chunk lists, 48-byte records.
//
//   header   tag[32] = "HFRepoMetaData\0" + 17 magic bytes | u64 version=2 | u64 footer_size (0|200)
//   files    per file: {file_hash[32], u32 flags, u32 n, u64 0}
//                      n x {xorb_hash[32], u32 0, u32 unpacked_bytes, u32 chunk_start, u32 chunk_end}
//                      if flags & 1<<31: n x {range_hash[32], u8[16] 0}      (verification)
//                      if flags & 1<<30: {sha256[32] (8-byte groups reversed), u8[16] 0}
//            bookend: 32 x 0xFF + 16 x 0
//   xorbs    per xorb: {xorb_hash[32], u32 0, u32 n, u32 unpacked_total, u32 bytes_on_disk}
//                      n x {chunk_hash[32], u32 unpacked_offset, u32 unpacked_len, u32 flags, u32 0}
//            bookend
//   lookups  (optional, sorted by key) file (u64, u32 record index), xorb (u64, u32), chunk (u64, u32, u32)
//   footer   200 bytes (see `ShardFooter`), when footer_size = 200
//
// Parsing is sequential from byte 48 through both bookends; client lookup tables and footer
// offsets are ignored. Every count is checked against the bytes left before anything is
// allocated. Thread-safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/byte_reader.hpp"
#include "util/error.hpp"
#include "xet/hash.hpp"

namespace hubgate::xet {

inline constexpr std::uint32_t kFileFlagVerification = 1u << 31;  // persisted: do not change
inline constexpr std::uint32_t kFileFlagMetadataExt = 1u << 30;   // persisted: do not change
inline constexpr std::uint32_t kChunkFlagGlobalDedup = 1u << 31;  // persisted: do not change
inline constexpr std::size_t kShardFooterSize = 200;

// A term of a file's reconstruction: chunks [chunk_start, chunk_end) of one xorb.
struct FileSegment {
  MerkleHash xorb_hash;
  std::uint32_t unpacked_bytes = 0;  // sum of the chunks' sizes
  std::uint32_t chunk_start = 0;
  std::uint32_t chunk_end = 0;       // exclusive
  bool operator==(const FileSegment&) const = default;
};

struct FileInfo {
  MerkleHash file_hash;
  std::vector<FileSegment> segments;
  std::vector<MerkleHash> verification;         // empty, or one range hash per segment
  std::optional<std::array<std::uint8_t, 32>> sha256;  // raw sha256 digest (metadata ext)
  bool operator==(const FileInfo&) const = default;
};

struct CasChunk {
  MerkleHash hash;
  std::uint32_t unpacked_offset = 0;
  std::uint32_t unpacked_len = 0;
  std::uint32_t flags = 0;  // kChunkFlagGlobalDedup
  bool operator==(const CasChunk&) const = default;
};

struct CasInfo {
  MerkleHash xorb_hash;
  std::uint32_t unpacked_total = 0;
  std::uint32_t bytes_on_disk = 0;  // informational; ignored when reading
  std::vector<CasChunk> chunks;
  bool operator==(const CasInfo&) const = default;
};

struct ShardFooter {
  std::uint64_t version = 1;
  std::uint64_t file_info_offset = 0, cas_info_offset = 0;
  std::uint64_t file_lookup_offset = 0, file_lookup_num_entry = 0;
  std::uint64_t cas_lookup_offset = 0, cas_lookup_num_entry = 0;
  std::uint64_t chunk_lookup_offset = 0, chunk_lookup_num_entry = 0;
  MerkleHash chunk_hash_hmac_key;
  std::uint64_t creation_ts = 0, key_expiry = 0;
  std::uint64_t stored_bytes_on_disk = 0, materialized_bytes = 0, stored_bytes = 0;
  std::uint64_t footer_offset = 0;
};

struct Shard {
  std::vector<FileInfo> files;
  std::vector<CasInfo> xorbs;
  std::optional<ShardFooter> footer;  // as read (parse) — ignored by serialize_shard
};

struct ShardWriteOptions {
  bool footer = true;               // write lookup tables and the 200-byte footer
  std::uint64_t creation_ts = 0;    // footer creation_ts (seconds)
  std::uint64_t key_expiry = 0;
  MerkleHash hmac_key;              // footer chunk_hash_hmac_key (zero: none)
};

std::string serialize_shard(const Shard& shard, const ShardWriteOptions& opts = {});

struct ShardParseOptions {
  bool require_verification = false;     // every file must carry verification entries
  std::size_t max_records = 1u << 22;    // hard cap on 48-byte records (~200 MB)
};

Result<Shard> parse_shard(ByteView data, const ShardParseOptions& opts = {});

// sha256 stored with each 8-byte group reversed (so its Xet hex is the ordinary hex).
std::array<std::uint8_t, 32> sha256_to_shard(const std::array<std::uint8_t, 32>& digest);

}  // namespace hubgate::xet
