// Xet hashes: chunk hashes, the aggregated merkle root (xorb hash), the file hash, term
// verification hashes and the "Xet hex" text form. Spec: docs/spec/xet.md §1.
//
// Every hash is 32 bytes of keyed BLAKE3. `MerkleHash` is a plain value (raw bytes in hash
// order); its text form reads the bytes as four little-endian u64 words printed as %016x each.
// All functions are pure and thread-safe.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate::xet {

struct MerkleHash {
  std::array<std::uint8_t, 32> bytes{};

  // Xet hex (64 lowercase digits): each 8-byte group reversed, then hex-encoded.
  std::string hex() const;
  // Inverse of hex(); accepts exactly 64 hex digits (either case).
  static Result<MerkleHash> from_hex(std::string_view s);
  static MerkleHash from_raw(ByteView raw32);  // raw32.size() must be 32

  // Word k (0..3) of the hash read as a little-endian u64.
  std::uint64_t word(int k) const;
  // `h % n` in the reference uses the last word; shard lookups use the first.
  std::uint64_t mod(std::uint64_t n) const { return word(3) % n; }
  bool is_zero() const;

  auto operator<=>(const MerkleHash&) const = default;
  bool operator==(const MerkleHash&) const = default;
};

struct MerkleHashHasher {
  std::size_t operator()(const MerkleHash& h) const noexcept { return static_cast<std::size_t>(h.word(0)); }
};

// One chunk as the hashes see it.
struct HashAndSize {
  MerkleHash hash;
  std::uint64_t size = 0;
};

using Key32 = std::array<std::uint8_t, 32>;
extern const Key32 kDataKey;
extern const Key32 kInternalNodeKey;
extern const Key32 kVerificationKey;

// blake3_keyed(DATA_KEY, chunk).
MerkleHash chunk_hash(ByteView chunk);
// Aggregated merkle root over (hash, size) leaves (spec §1); one leaf gives itself, none gives 0.
MerkleHash merkle_root(std::span<const HashAndSize> leaves);
inline MerkleHash xorb_hash(std::span<const HashAndSize> chunks) { return merkle_root(chunks); }
// blake3_keyed(0^32, root); the empty file (no chunks) has the all-zero hash.
MerkleHash file_hash(std::span<const HashAndSize> chunks);
// blake3_keyed(salt, root) for a non-empty file whose root is known (XC `file_hash_with_salt`).
MerkleHash file_hash_from_root(const MerkleHash& root, const MerkleHash& salt = {});
// blake3_keyed(VERIFICATION_KEY, raw chunk hashes concatenated) for a term's chunk range.
MerkleHash verification_hash(std::span<const MerkleHash> chunk_hashes);
// blake3_keyed(key, raw hash), for dedup replies with a chunk_hash_hmac_key.
MerkleHash hmac(const MerkleHash& key, const MerkleHash& h);

}  // namespace hubgate::xet
