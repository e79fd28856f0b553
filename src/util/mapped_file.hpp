// A read-only memory mapping of a whole file.
//
// `MappedFile::open(path)` maps the file PROT_READ/MAP_PRIVATE and exposes it as a ByteView;
// the mapping lives as long as the object (move-only, unmapped in the destructor). An empty file
// maps to an empty view without calling mmap. Readers must treat the bytes as untrusted and use
// bounds-checked access (ByteReader); never cast into them. If another process truncates the
// file while mapped, reading can raise SIGBUS: map only files this process owns or that are
// immutable (the store's published blobs, temp files being scanned). Thread-safety: the view
// may be read from any thread.
#pragma once

#include <string>

#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate {

class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);

  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  ByteView bytes() const { return {static_cast<const std::uint8_t*>(addr_), size_}; }

 private:
  MappedFile() = default;
  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace hubgate
