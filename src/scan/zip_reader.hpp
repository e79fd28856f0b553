// Internal: a relaxed ZIP reader that lists members the way PyTorch's loader (miniz) and Python's
// zipfile find them, without refusing what they tolerate.
//
// `read_zip` locates the end-of-central-directory record (ZIP64 too), corrects for bytes
// prepended to the archive, lists the central directory, and then walks the local headers from
// the start so that members present only as local headers are listed too (hidden members).
// For each member it reads the local header to find the data; it records, but does not refuse:
// general-purpose flag bits (encrypted 0x1, 0x20, 0x40), a local name that differs from the
// central one, a method or size that differs from the central directory's (`views_differ`: the
// two readings are both scanned). CRCs are not checked here (the scanner checks the members it
// reads). Every offset and length is bounded by the input. Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scan/scan.hpp"

namespace hubgate::scan::zip {

struct Entry {
  std::string name;          // central-directory name (local name for hidden members)
  std::string local_name;    // name in the local header
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed = 0;
  std::uint64_t uncompressed = 0;
  std::uint64_t header_offset = 0;  // of the local header, in the input
  std::uint64_t data_offset = 0;    // of the member's data, in the input
  bool in_central = true;           // false: found only by walking local headers
  bool local_ok = true;             // the local header was found and parsed
  // The local header's own view (a streaming reader, which walks local headers, uses it; the
  // central directory's readers — PyTorch's miniz, Python's zipfile — use the fields above).
  std::uint16_t local_method = 0;
  std::uint64_t local_compressed = 0;
  // The local header's view differs from the central directory's (name, method, or a size the
  // local header states rather than defers to a data descriptor): the member reads differently
  // depending on the reader, and both views must be scanned.
  bool views_differ = false;
};

struct Note {
  Severity severity = Severity::suspicious;
  std::string rule;
  std::string subject;
  std::string message;
  std::uint64_t offset = 0;
};

struct Listing {
  std::vector<Entry> entries;
  std::vector<Note> notes;
  bool has_central = false;
};

Listing read_zip(ByteView data, std::uint64_t max_entries);

// A PyTorch storage member (`…/data/<digits>`, `…/constants/<digits>`): raw tensor bytes.
bool is_storage_name(std::string_view name);

// Just the member names (for format detection); cheap, stops after `max` names.
std::vector<std::string> member_names(ByteView data, std::size_t max = 4096);

}  // namespace hubgate::scan::zip
