// The safetensors header validator on its own (security.md §4): the scanner's `scan_safetensors`
// and the streaming loader (`src/loader/`) share it. It needs only the header bytes and the
// file's size, so a reader that streams the file can validate before the data arrives.
//
// Contract: `prefix` starts at file offset 0 and holds at least the 8-byte length and the N
// header bytes it announces (the whole file is fine); `file_size` is the file's full size. Every
// rule breach is appended to `findings` (at most 100, then one `safetensors.too-many-findings`);
// the layout lists the well-formed entries sorted by data offsets. A file is sound exactly when
// no finding was added. Never throws; reads only inside `prefix`. Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scan/scan.hpp"

namespace hubgate::scan {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;                 // "F32", "BF16", "F8_E4M3", ...
  std::vector<std::uint64_t> shape;
  std::uint64_t begin = 0, end = 0;  // data_offsets, relative to the data section
};

struct SafetensorsLayout {
  std::uint64_t header_len = 0;      // N; the data section starts at 8 + N
  std::vector<SafetensorsTensor> tensors;  // sorted by (begin, end)
  std::vector<std::pair<std::string, std::string>> metadata;  // __metadata__, as in the header
};

struct LayoutFinding {
  Severity severity = Severity::dangerous;
  std::string rule, subject, message;  // message without the "safetensors: " prefix
  std::optional<std::uint64_t> offset;
};

SafetensorsLayout check_safetensors_layout(ByteView prefix, std::uint64_t file_size,
                                           std::vector<LayoutFinding>& findings);

// Bits per element of a safetensors dtype name; 0 for a name the reference library lacks.
int safetensors_dtype_bits(std::string_view dtype);

// A name as findings quote it: 'name', control characters as '?', cut after 200 characters.
std::string safetensors_quote(std::string_view s);

}  // namespace hubgate::scan
