// Xorb format (spec/xet.md §3): a sequence of chunk records `[8-byte header][payload]`, no
// padding, optionally followed by a footer (XC `XorbObjectInfoV1`) and its u32 length.
//
//   header: u8 version=0 | u24 compressed_size | u8 scheme | u24 uncompressed_size
//   scheme: 0 none, 1 LZ4 frame, 2 ByteGrouping4 + LZ4 frame (see `Compression`)
//   footer: "XETBLOB" u8 1 xorb_hash[32]
//           "XBLBHSH" u8 0 u32 N hash[32]*N
//           "XBLBBND" u8 1 u32 N u32 record_end*N u32 unpacked_end*N
//           u32 N | u32 hashes_offset_from_end | u32 boundary_offset_from_end | u8[16] nonce
//           then u32 info_length = 92 + 40N (offsets count back from the end of the nonce)
//
// Limits: at most 8192 chunks and 64 MiB of unpacked chunk data per xorb. LZ4 payloads we write
// are frames `04 22 4D 18 | FLG 0x60 | BD 0x40 | HC`, independent 64 KiB blocks, no checksums
// (HJ mis-parses block checksums); any valid LZ4 frame is accepted when reading.
//
// Xorb byte ranges: the CAS API serves whole records, so a contiguous chunk range [a, b) of a
// xorb is the byte range [record_start(a), record_end(b-1)) and decodes on its own with
// `decode_records`. Thread-safety: builders are values; free functions are pure (they use
// thread-local LZ4 contexts).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/byte_reader.hpp"
#include "util/error.hpp"
#include "xet/hash.hpp"

namespace hubgate::xet {

// Persisted in every record header: do not renumber.
enum class Compression : std::uint8_t { none = 0, lz4 = 1, bg4_lz4 = 2 };

inline constexpr std::size_t kMaxXorbChunks = 8192;
inline constexpr std::uint64_t kMaxXorbBytes = 64ull << 20;  // unpacked chunk data
inline constexpr std::size_t kRecordHeaderSize = 8;
inline constexpr std::uint32_t kMaxRecordField = (1u << 24) - 1;  // u24

enum class CompressionPolicy {
  none,     // always scheme 0
  lz4,      // LZ4 when it shrinks the chunk, else scheme 0
  bg4_lz4,  // BG4+LZ4 when it shrinks the chunk, else scheme 0
  automatic // default: probe a sample with both, compress with the better one if it pays
};

// The concrete policy for this chunk: `automatic` probes its first 4 KiB with LZ4 and with
// BG4+LZ4 and returns the better one if it saves at least 1/32, else `none`; any other policy is
// returned as is.
CompressionPolicy resolve_policy(ByteView chunk, CompressionPolicy policy);

// Compress one chunk per `policy`; appends the record (header + payload) to `out`.
Compression append_record(std::string& out, ByteView chunk, CompressionPolicy policy);

// The 8-byte header of a record.
std::array<std::uint8_t, kRecordHeaderSize> record_header(Compression scheme, std::uint32_t payload_size,
                                                          std::uint32_t unpacked_size);

// Decode one record payload; appends exactly `unpacked_size` bytes to `out` or fails.
Result<void> decode_payload(ByteView payload, std::uint8_t scheme, std::uint32_t unpacked_size, std::string& out);

// BG4 transforms (exposed for tests).
void bg4_split(ByteView in, std::uint8_t* out);
void bg4_join(ByteView in, std::uint8_t* out);

struct XorbChunkMeta {
  MerkleHash hash;
  std::uint32_t record_start = 0;    // offset of the record header in the body
  std::uint32_t record_end = 0;      // offset just past the payload
  std::uint32_t unpacked_start = 0;  // offset of the chunk in the concatenated data
  std::uint32_t unpacked_size = 0;
  Compression scheme = Compression::none;
};

// Accumulates chunks into a xorb body. Not thread-safe.
class XorbBuilder {
 public:
  // `keep_body` false: the builder keeps only the chunks' metadata (offsets, hashes — enough for
  // hash() and footer()); the caller writes each record where it goes as it adds it with
  // add_record(), and add()/body()/serialize() are not available.
  explicit XorbBuilder(CompressionPolicy policy = CompressionPolicy::automatic, bool keep_body = true)
      : policy_(policy), keep_body_(keep_body) {}
  // True if a chunk of `size` bytes still fits the limits.
  bool fits(std::size_t size) const {
    return chunks_.size() < kMaxXorbChunks && unpacked_ + size <= kMaxXorbBytes && size <= kMaxRecordField;
  }
  // Adds a chunk (caller computed `hash` = chunk_hash(chunk)); returns its index, or an error
  // (limit_exceeded) when it does not fit.
  Result<std::uint32_t> add(ByteView chunk, const MerkleHash& hash);
  // Adds a record already encoded by append_record() (header + payload) for a chunk of
  // `unpacked_size` bytes whose hash is `hash`; lets callers compress chunks on other threads.
  // Fails (invalid_argument) unless `record` is exactly one well-formed record header + payload
  // of that unpacked size, and (limit_exceeded) when it does not fit.
  Result<std::uint32_t> add_record(ByteView record, std::uint32_t unpacked_size, const MerkleHash& hash);
  // Adds a chunk as a scheme-0 (raw) record, whatever the builder's policy.
  Result<std::uint32_t> add_uncompressed(ByteView chunk, const MerkleHash& hash);
  // A builder without a kept body: records the chunk whose record starts with `header` (its
  // sizes give the payload's length); the caller writes the header and the payload itself.
  Result<std::uint32_t> add_record_header(ByteView header, const MerkleHash& hash);

  bool empty() const { return chunks_.empty(); }
  std::size_t num_chunks() const { return chunks_.size(); }
  std::uint64_t unpacked_bytes() const { return unpacked_; }
  std::size_t body_bytes() const { return body_size_; }  // records so far (kept or not)
  ByteView body() const { return keep_body_ ? as_bytes(body_).subspan(0, body_size_) : ByteView{}; }
  std::span<const XorbChunkMeta> chunks() const { return chunks_; }
  MerkleHash hash() const;  // merkle root over the chunks
  // The optional stored footer (with its trailing length) for this body.
  std::string footer() const;
  // The serialized xorb (body, plus the footer if asked), valid until the next add()/clear().
  ByteView serialize(bool with_footer);
  void clear();
  // Buffer reuse (a 64 MiB body costs ~16k page faults to touch the first time): take the body's
  // storage out (the builder is cleared) or hand it one to fill (the builder must be empty).
  std::string take_buffer();
  void give_buffer(std::string&& buffer);

 private:
  CompressionPolicy policy_;
  bool keep_body_ = true;
  std::string body_;
  std::size_t body_size_ = 0;  // records only (body_ may hold a footer after serialize())
  std::vector<XorbChunkMeta> chunks_;
  std::uint64_t unpacked_ = 0;
};

// Footer serialization for given chunk metadata (hashes, record ends, unpacked ends).
std::string xorb_footer(const MerkleHash& xorb_hash, std::span<const XorbChunkMeta> chunks);

struct XorbRecordInfo {
  std::uint32_t offset = 0;  // header offset
  std::uint32_t payload_size = 0;
  std::uint32_t unpacked_size = 0;
  std::uint8_t scheme = 0;
};

// The fields of one 8-byte record header (offset 0); nullopt for another length, an unknown
// version or an unknown compression scheme.
std::optional<XorbRecordInfo> parse_record_header(ByteView header);

struct XorbLayout {
  std::vector<XorbRecordInfo> records;
  std::size_t body_size = 0;   // bytes of records (the footer, if any, follows)
  bool has_footer = false;
  MerkleHash footer_hash;      // when has_footer
  std::vector<MerkleHash> footer_chunk_hashes;
};

// Walks record headers (no decompression) and validates an optional footer against them.
// Fails with Errc::corrupt / limit_exceeded on lying sizes, truncation, unknown schemes or
// versions, or more than kMaxXorbChunks records / kMaxXorbBytes unpacked.
Result<XorbLayout> parse_xorb_layout(ByteView xorb);

struct DecodedXorb {
  std::string data;                   // all chunks, concatenated
  std::vector<XorbChunkMeta> chunks;  // recomputed hashes and offsets
  MerkleHash hash;                    // recomputed xorb hash
  std::size_t body_size = 0;          // serialized size without footer
  bool had_footer = false;
};

// The footer's content, for reading chunk boundaries without the records.
struct XorbFooterInfo {
  MerkleHash hash;
  std::vector<MerkleHash> chunk_hashes;
  std::vector<std::uint32_t> record_ends;    // offset just past each record
  std::vector<std::uint32_t> unpacked_ends;  // cumulative unpacked sizes
};
// Parses the footer block (without the trailing u32 info_length, whose value must be its size).
Result<XorbFooterInfo> parse_xorb_footer(ByteView info);

// Fully decodes and re-hashes a xorb (upload validation); a footer, if present, must agree.
// With `keep_data` false, `data` stays empty: each chunk is decoded into one reused scratch
// buffer, hashed and dropped (validation of a 64 MiB upload without a 64 MiB allocation);
// `unpacked_start` offsets are the same either way.
Result<DecodedXorb> decode_xorb(ByteView xorb, bool keep_data = true);

// Decodes a run of whole records (e.g. a served byte range); appends the chunk bytes to `out`
// and each chunk's size to `sizes` when given. Fails unless `records` is exactly whole records.
Result<void> decode_records(ByteView records, std::string& out, std::vector<std::uint32_t>* sizes = nullptr);

}  // namespace hubgate::xet
