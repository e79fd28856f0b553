// Blob store backends. DiskStore fans blobs out as sha256/ab/cd/<hex> so no folder grows past
// 65536 entries per level; `put` writes through AtomicFile (temp name in the destination folder,
// fsync, rename, fsync folder) and `adopt` renames a fully received temp file into place after
// an fsync (falling back to a copy across filesystems). A racing second writer of the same
// digest simply replaces identical bytes.
#include "store/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "crypto/sha.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"

namespace hubgate::store {

Result<void> check_digest(std::string_view sha256) {
  if (!is_lower_hex(sha256, 64)) return fail(Errc::invalid_argument, "invalid sha256 digest '" + std::string(sha256.substr(0, 80)) + "'");
  return {};
}

Result<std::string> sha256_file(const std::string& path, std::uint64_t* size_out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(os_error("open", path, errno));
  crypto::Sha256 h;
  std::string buf(1 << 20, '\0');
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail(os_error("read", path, err));
    }
    if (n == 0) break;
    h.update(std::string_view(buf.data(), std::size_t(n)));
    total += std::uint64_t(n);
  }
  ::close(fd);
  if (size_out) *size_out = total;
  return to_hex(h.final());
}

Result<std::shared_ptr<Filling>> BlobStore::filling(const std::string&) { return std::shared_ptr<Filling>(); }

// ---- DiskStore ----------------------------------------------------------------------------

Result<std::unique_ptr<DiskStore>> DiskStore::open_at(std::string root) {
  HG_TRY_VOID(make_dirs(root + "/sha256"));
  HG_TRY_VOID(make_dirs(root + "/tmp"));
  return std::unique_ptr<DiskStore>(new DiskStore(std::move(root)));
}

std::string DiskStore::path_of(const std::string& d) const {
  return root_ + "/sha256/" + d.substr(0, 2) + "/" + d.substr(2, 2) + "/" + d;
}

Result<std::optional<std::uint64_t>> DiskStore::stat(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  struct stat st {};
  if (::stat(path_of(d).c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<std::uint64_t>{};
    return fail(os_error("stat", path_of(d), errno));
  }
  return std::optional<std::uint64_t>(std::uint64_t(st.st_size));
}

Result<Blob> DiskStore::open(const std::string& d) {
  HG_TRY(auto size, stat(d));
  if (!size) return fail(Errc::not_found, "blob " + d + " is not stored");
  Blob b;
  b.path = path_of(d);
  b.size = *size;
  return b;
}

Result<std::string> DiskStore::put(std::string_view data) {
  std::string d = to_hex(crypto::sha256(data));
  HG_TRY(auto have, stat(d));
  if (have) return d;
  HG_TRY(auto f, AtomicFile::create(path_of(d)));
  HG_TRY_VOID(f.write(data));
  HG_TRY_VOID(f.commit());
  return d;
}

Result<void> DiskStore::adopt(const std::string& path, const std::string& d, std::uint64_t size, Verify verify) {
  HG_TRY_VOID(check_digest(d));
  if (verify == Verify::yes) {
    std::uint64_t got_size = 0;
    HG_TRY(auto got, sha256_file(path, &got_size));
    if (got != d || got_size != size) {
      ::unlink(path.c_str());
      return fail(Errc::corrupt, "content hashes to " + got + " (" + std::to_string(got_size) + " bytes), expected " +
                                     d + " (" + std::to_string(size) + " bytes)");
    }
  }
  HG_TRY(auto have, stat(d));
  if (have) {
    ::unlink(path.c_str());
    return {};
  }
  std::string dest = path_of(d);
  std::string dir = dest.substr(0, dest.rfind('/'));
  HG_TRY_VOID(make_dirs(dir));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(os_error("open", path, errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return fail(os_error("fsync", path, errno));
  ::chmod(path.c_str(), 0644);
  if (::rename(path.c_str(), dest.c_str()) != 0) {
    if (errno != EXDEV) return fail(os_error("rename", path, errno));
    HG_TRY(auto bytes, read_file(path));
    HG_TRY(auto f, AtomicFile::create(dest));
    HG_TRY_VOID(f.write(bytes));
    HG_TRY_VOID(f.commit());
    ::unlink(path.c_str());
    return {};
  }
  return fsync_dir(dir);
}

Result<bool> DiskStore::remove(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  std::string p = path_of(d);
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return false;
    return fail(os_error("unlink", p, errno));
  }
  return true;
}

Result<std::vector<std::string>> DiskStore::list() {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(root_ + "/sha256", ec), end;
  if (ec) return fail(Errc::io, "list " + root_ + "/sha256: " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return fail(Errc::io, "list " + root_ + "/sha256: " + ec.message());
    if (it.depth() != 2 || !it->is_regular_file(ec)) continue;
    std::string name = it->path().filename().string();
    if (is_lower_hex(name, 64)) out.push_back(std::move(name));  // temp files of AtomicFile are skipped
  }
  return out;
}

// ---- MemoryStore --------------------------------------------------------------------------

Result<std::optional<std::uint64_t>> MemoryStore::stat(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  std::lock_guard lk(mu_);
  auto it = blobs_.find(d);
  if (it == blobs_.end()) return std::optional<std::uint64_t>{};
  return std::optional<std::uint64_t>(it->second->size());
}

Result<Blob> MemoryStore::open(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  std::lock_guard lk(mu_);
  auto it = blobs_.find(d);
  if (it == blobs_.end()) return fail(Errc::not_found, "blob " + d + " is not stored");
  Blob b;
  b.data = it->second;
  b.size = it->second->size();
  return b;
}

Result<std::string> MemoryStore::put(std::string_view data) {
  std::string d = to_hex(crypto::sha256(data));
  std::lock_guard lk(mu_);
  blobs_.try_emplace(d, std::make_shared<const std::string>(data));
  return d;
}

Result<void> MemoryStore::adopt(const std::string& path, const std::string& d, std::uint64_t size, Verify verify) {
  HG_TRY_VOID(check_digest(d));
  HG_TRY(auto bytes, read_file(path));
  ::unlink(path.c_str());
  if (verify == Verify::yes) {
    std::string got = to_hex(crypto::sha256(bytes));
    if (got != d || bytes.size() != size) return fail(Errc::corrupt, "content hashes to " + got + ", expected " + d);
  }
  std::lock_guard lk(mu_);
  blobs_.try_emplace(d, std::make_shared<const std::string>(std::move(bytes)));
  return {};
}

Result<bool> MemoryStore::remove(const std::string& d) {
  HG_TRY_VOID(check_digest(d));
  std::lock_guard lk(mu_);
  return blobs_.erase(d) > 0;
}

Result<std::vector<std::string>> MemoryStore::list() {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  for (const auto& [d, b] : blobs_) out.push_back(d);
  return out;
}

std::size_t MemoryStore::count() const {
  std::lock_guard lk(mu_);
  return blobs_.size();
}

// ---- FaultyStore --------------------------------------------------------------------------

bool FaultyStore::trip(std::atomic<int>& counter) {
  if (fail_all) return true;
  int v = counter.load();
  while (v > 0) {
    if (counter.compare_exchange_weak(v, v - 1)) return true;
  }
  return false;
}

Result<std::optional<std::uint64_t>> FaultyStore::stat(const std::string& d) {
  if (trip(fail_stats)) return fail(Errc::io, "injected fault: stat " + d);
  return inner_.stat(d);
}
Result<Blob> FaultyStore::open(const std::string& d) {
  if (trip(fail_opens)) return fail(Errc::io, "injected fault: open " + d);
  return inner_.open(d);
}
Result<std::string> FaultyStore::put(std::string_view data) {
  if (trip(fail_puts)) return fail(Errc::io, "injected fault: put");
  return inner_.put(data);
}
Result<void> FaultyStore::adopt(const std::string& path, const std::string& d, std::uint64_t size, Verify verify) {
  if (trip(fail_puts)) {
    ::unlink(path.c_str());
    return fail(Errc::io, "injected fault: adopt " + d);
  }
  return inner_.adopt(path, d, size, verify);
}
Result<bool> FaultyStore::remove(const std::string& d) {
  if (trip(fail_removes)) return fail(Errc::io, "injected fault: remove " + d);
  return inner_.remove(d);
}
Result<std::vector<std::string>> FaultyStore::list() {
  if (fail_all) return fail(Errc::io, "injected fault: list");
  return inner_.list();
}

}  // namespace hubgate::store
