// Atomic publication of files.
//
// `AtomicFile` writes to a unique temporary name in the destination's folder; `commit()` fsyncs
// the data, renames it over the destination and fsyncs the folder, so a reader sees either the
// old file, or the complete new one, never a prefix. A file that is never committed is removed
// by the destructor (which never publishes). Not thread-safe; one writer per object.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate {

class AtomicFile {
 public:
  // Creates `<dest>.tmp.<random>` (parent folders are created as needed).
  static Result<AtomicFile> create(std::string dest);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile();

  Result<void> write(ByteView data);
  Result<void> write(std::string_view data) { return write(as_bytes(data)); }
  // Reserves disk blocks for `bytes` without changing the file's size (fallocate KEEP_SIZE), so
  // the writes that follow skip block allocation and a full disk is reported up front
  // (Errc::io). A file system without fallocate is not an error (nothing is reserved).
  Result<void> reserve(std::uint64_t bytes);
  int fd() const { return fd_; }
  const std::string& temp_path() const { return tmp_; }
  std::uint64_t size() const { return size_; }

  // fsync + rename + fsync(dir). After success the object is inert.
  // `Durability::none` only renames: running readers still see the old or the complete new
  // file, but after a crash the new file may be missing or empty — for caches whose reader
  // checks what it reads (and can fetch it again), where an fsync would cost a request latency.
  enum class Durability { fsync, none };
  Result<void> commit(Durability durability = Durability::fsync);
  // commit(), publishing under `dest` (same file system; parent folders are created) instead of
  // the path given to create(): for content whose name is known only once it is written.
  Result<void> commit_as(std::string dest, Durability durability = Durability::fsync);
  // Drop the temporary file now.
  void abandon();

 private:
  AtomicFile(std::string dest, std::string tmp, int fd) : dest_(std::move(dest)), tmp_(std::move(tmp)), fd_(fd) {}
  std::string dest_, tmp_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// Whole-file helpers.
Result<std::string> read_file(const std::string& path);
Result<void> write_file_atomic(const std::string& path, std::string_view data);
// mkdir -p.
Result<void> make_dirs(const std::string& path);
// fsync a folder (after a rename or unlink in it).
Result<void> fsync_dir(const std::string& path);

}  // namespace hubgate
