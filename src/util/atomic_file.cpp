#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

namespace hubgate {

namespace {
std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}
std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(12, '0');
  auto v = rng();
  for (auto& c : s) {
    c = digits[v & 15];
    v >>= 4;
  }
  return s;
}
}  // namespace

Result<void> make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail(Errc::io, "mkdir " + path + ": " + ec.message());
  return {};
}

Result<void> fsync_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(os_error("open", path, errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return fail(os_error("fsync", path, err));
  return {};
}

Result<AtomicFile> AtomicFile::create(std::string dest) {
  HG_TRY_VOID(make_dirs(parent_of(dest)));
  std::string tmp = dest + ".tmp." + random_suffix();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return fail(os_error("create", tmp, errno));
  return AtomicFile(std::move(dest), std::move(tmp), fd);
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : dest_(std::move(o.dest_)), tmp_(std::move(o.tmp_)), fd_(o.fd_), size_(o.size_) {
  o.fd_ = -1;
  o.tmp_.clear();
}

AtomicFile::~AtomicFile() { abandon(); }

void AtomicFile::abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

Result<void> AtomicFile::write(ByteView data) {
  if (fd_ < 0) return fail(Errc::internal, "write to closed atomic file " + dest_);
  const std::uint8_t* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(os_error("write", tmp_, errno));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  size_ += data.size();
  return {};
}

Result<void> AtomicFile::reserve(std::uint64_t bytes) {
  if (fd_ < 0) return fail(Errc::internal, "reserve on closed atomic file " + dest_);
  if (bytes == 0) return {};
  while (::fallocate(fd_, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(bytes)) != 0) {
    if (errno == EINTR) continue;
    if (errno == EOPNOTSUPP || errno == ENOSYS) return {};
    return fail(os_error("fallocate " + std::to_string(bytes) + " bytes", tmp_, errno));
  }
  return {};
}

Result<void> AtomicFile::commit(Durability durability) {
  if (fd_ < 0) return fail(Errc::internal, "commit of closed atomic file " + dest_);
  const bool sync = durability == Durability::fsync;
  if (sync && ::fsync(fd_) != 0) return fail(os_error("fsync", tmp_, errno));
  if (::close(fd_) != 0) {
    fd_ = -1;
    return fail(os_error("close", tmp_, errno));
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), dest_.c_str()) != 0) return fail(os_error("rename", tmp_, errno));
  tmp_.clear();
  return sync ? fsync_dir(parent_of(dest_)) : Result<void>{};
}

Result<void> AtomicFile::commit_as(std::string dest, Durability durability) {
  if (fd_ < 0) return fail(Errc::internal, "commit of closed atomic file " + dest);
  HG_TRY_VOID(make_dirs(parent_of(dest)));
  dest_ = std::move(dest);
  return commit(durability);
}

Result<std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(os_error("open", path, errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail(os_error("read", path, err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<void> write_file_atomic(const std::string& path, std::string_view data) {
  HG_TRY(auto f, AtomicFile::create(path));
  HG_TRY_VOID(f.write(data));
  return f.commit();
}

}  // namespace hubgate
