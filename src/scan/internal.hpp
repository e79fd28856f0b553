// Internal helpers shared by the scanner's .cpp files (not part of the public API).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "scan/scan.hpp"

namespace hubgate::scan {

struct PickleScanOptions {
  bool joblib = false;       // follow joblib's inline array data (NumpyArrayWrapper)
  bool speculative = false;  // bytes that merely might be a pickle: stay silent unless it names a global or calls
  std::size_t max_pickles = 100000;  // pickles followed one after another in one stream
};

// Scan the pickle(s) at the start of `data`: the first one, then every following one while the
// bytes after a STOP still look like a pickle (attackers concatenate; legacy torch stores five).
// Returns the offset just past the last pickle scanned.
std::uint64_t scan_pickles(Context& ctx, ByteView data, const PickleScanOptions& opt);

// Bounded decompression (zlib/raw deflate/gzip, xz/lzma, lz4 frame). Output is capped at `cap`
// bytes; `truncated` is set if more would follow. Errors are value errors.
enum class Codec { zlib, deflate_raw, gzip, xz, lzma_alone, lz4_frame };
struct Decompressed {
  std::vector<std::uint8_t> bytes;
  bool truncated = false;
};
Result<Decompressed> decompress(ByteView in, Codec codec, std::uint64_t cap);
// Cheap sniff for joblib's compressed containers; nullopt when `data` is none of them.
std::optional<Codec> sniff_codec(ByteView data);

// Relaxed ZIP reading (as PyTorch's reader does): see zip_reader.hpp.

std::string hex_offset(std::uint64_t off);

// While a container scans a member of which it has only a prefix (decompression stopped at a
// limit, which it reports), validators must not judge sizes against an end they did not see.
// Thread-local: one scan runs on one thread, and nested scans run synchronously inside it.
inline thread_local bool t_scanning_prefix = false;
inline bool scanning_prefix() { return t_scanning_prefix; }
class PrefixScope {
 public:
  explicit PrefixScope(bool prefix) : before_(t_scanning_prefix) { t_scanning_prefix = before_ || prefix; }
  ~PrefixScope() { t_scanning_prefix = before_; }
  PrefixScope(const PrefixScope&) = delete;
  PrefixScope& operator=(const PrefixScope&) = delete;

 private:
  bool before_;
};

}  // namespace hubgate::scan
