// Object store implementations. The local one lays objects out as
// root/<kind>/<hex[0:2]>/<hex[2:4]>/<hex> (Xet hex of the key) and publishes with AtomicFile
// (temp + fsync + rename + fsync(dir)); list() walks the fan-out folders and ignores anything
// that is not a 64-digit name (such as temporaries left by a crash).
#include "xet/object_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "util/atomic_file.hpp"
#include "util/hex.hpp"

namespace hubgate::xet {

const char* object_kind_name(ObjectKind k) { return k == ObjectKind::xorb ? "xorbs" : "shards"; }

namespace {
Error range_error(std::uint64_t off, std::uint64_t len, std::uint64_t size) {
  return Error(Errc::invalid_argument, "object range " + std::to_string(off) + "+" + std::to_string(len) +
                                           " past the end (" + std::to_string(size) + " bytes)");
}
}  // namespace

// ---- LocalObjectStore --------------------------------------------------------------------

Result<std::unique_ptr<LocalObjectStore>> LocalObjectStore::open(std::string root) {
  HG_TRY_VOID(make_dirs(root));
  return std::unique_ptr<LocalObjectStore>(new LocalObjectStore(std::move(root)));
}

std::string LocalObjectStore::path_of(ObjectKind kind, const MerkleHash& key) const {
  std::string h = key.hex();
  return root_ + "/" + object_kind_name(kind) + "/" + h.substr(0, 2) + "/" + h.substr(2, 2) + "/" + h;
}

Result<bool> ObjectStore::put_parts(ObjectKind kind, const MerkleHash& key, std::span<const ByteView> parts) {
  std::string joined;
  for (ByteView p : parts) joined.append(reinterpret_cast<const char*>(p.data()), p.size());
  return put(kind, key, as_bytes(joined));
}

namespace {

class BufferedWriter final : public ObjectWriter {
 public:
  BufferedWriter(ObjectStore& store, ObjectKind kind) : store_(store), kind_(kind) {}
  Result<void> write(ByteView data) override {
    bytes_.append(reinterpret_cast<const char*>(data.data()), data.size());
    return {};
  }
  Result<bool> commit(const MerkleHash& key) override { return store_.put(kind_, key, as_bytes(bytes_)); }

 private:
  ObjectStore& store_;
  ObjectKind kind_;
  std::string bytes_;
};

// A temporary file in the kind's folder (`incoming.tmp.*`: list() ignores it), renamed into the
// fan-out at commit.
class LocalWriter final : public ObjectWriter {
 public:
  LocalWriter(const LocalObjectStore& store, ObjectKind kind, AtomicFile file) : store_(store), kind_(kind), file_(std::move(file)) {}
  Result<void> write(ByteView data) override { return file_.write(data); }
  Result<bool> commit(const MerkleHash& key) override {
    std::string path = store_.path_of(kind_, key);
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) {
      file_.abandon();
      return false;
    }
    HG_TRY_VOID(file_.commit_as(std::move(path)));
    return true;
  }

 private:
  const LocalObjectStore& store_;
  ObjectKind kind_;
  AtomicFile file_;
};

}  // namespace

Result<std::string> ObjectStore::local_file(ObjectKind kind, const MerkleHash& key) {
  return fail(Errc::unsupported, std::string(object_kind_name(kind)) + "/" + key.hex() + ": this store keeps no files");
}

Result<std::string> LocalObjectStore::local_file(ObjectKind kind, const MerkleHash& key) {
  HG_TRY(auto size, this->size(kind, key));
  if (!size) return fail(Errc::not_found, std::string(object_kind_name(kind)) + "/" + key.hex() + " not found");
  return path_of(kind, key);
}

Result<std::unique_ptr<ObjectWriter>> ObjectStore::writer(ObjectKind kind) {
  return std::unique_ptr<ObjectWriter>(new BufferedWriter(*this, kind));
}

Result<std::unique_ptr<ObjectWriter>> LocalObjectStore::writer(ObjectKind kind) {
  HG_TRY(auto f, AtomicFile::create(root_ + "/" + object_kind_name(kind) + "/incoming"));
  return std::unique_ptr<ObjectWriter>(new LocalWriter(*this, kind, std::move(f)));
}

Result<bool> LocalObjectStore::put(ObjectKind kind, const MerkleHash& key, ByteView data) {
  return put_parts(kind, key, std::span<const ByteView>(&data, 1));
}

Result<bool> LocalObjectStore::put_parts(ObjectKind kind, const MerkleHash& key, std::span<const ByteView> parts) {
  std::string path = path_of(kind, key);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return false;
  HG_TRY(auto f, AtomicFile::create(path));
  for (ByteView p : parts) HG_TRY_VOID(f.write(p));
  HG_TRY_VOID(f.commit());
  return true;
}

Result<std::string> LocalObjectStore::get(ObjectKind kind, const MerkleHash& key) { return read_file(path_of(kind, key)); }

Result<std::string> LocalObjectStore::get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) {
  std::string path = path_of(kind, key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(os_error("open", path, errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return fail(os_error("stat", path, e));
  }
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (offset > size || length > size - offset) {
    ::close(fd);
    return fail(range_error(offset, length, size));
  }
  std::string out(length, '\0');
  std::size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      return fail(os_error("read", path, e));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return out;
}

Result<std::optional<std::uint64_t>> LocalObjectStore::size(ObjectKind kind, const MerkleHash& key) {
  struct stat st;
  std::string path = path_of(kind, key);
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<std::uint64_t>();
    return fail(os_error("stat", path, errno));
  }
  return std::optional<std::uint64_t>(static_cast<std::uint64_t>(st.st_size));
}

Result<void> LocalObjectStore::remove(ObjectKind kind, const MerkleHash& key) {
  std::string path = path_of(kind, key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(os_error("unlink", path, errno));
  return {};
}

Result<std::vector<MerkleHash>> LocalObjectStore::list(ObjectKind kind) {
  std::vector<MerkleHash> out;
  std::filesystem::path dir = root_ + "/" + object_kind_name(kind);
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string name = it->path().filename().string();
    if (!is_lower_hex(name, 64)) continue;
    if (auto h = MerkleHash::from_hex(name)) out.push_back(*h);
  }
  if (ec) return fail(Errc::io, "list " + dir.string() + ": " + ec.message());
  return out;
}

// ---- MemoryObjectStore -------------------------------------------------------------------

Result<bool> MemoryObjectStore::put(ObjectKind kind, const MerkleHash& key, ByteView data) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = objects_.try_emplace({kind, key});
  if (inserted) it->second.assign(reinterpret_cast<const char*>(data.data()), data.size());
  return inserted;
}

Result<std::string> MemoryObjectStore::get(ObjectKind kind, const MerkleHash& key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find({kind, key});
  if (it == objects_.end()) return fail(Errc::not_found, std::string(object_kind_name(kind)) + "/" + key.hex() + " not found");
  return it->second;
}

Result<std::string> MemoryObjectStore::get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) {
  std::lock_guard lock(mu_);
  auto it = objects_.find({kind, key});
  if (it == objects_.end()) return fail(Errc::not_found, std::string(object_kind_name(kind)) + "/" + key.hex() + " not found");
  std::uint64_t size = it->second.size();
  if (offset > size || length > size - offset) return fail(range_error(offset, length, size));
  return it->second.substr(offset, length);
}

Result<std::optional<std::uint64_t>> MemoryObjectStore::size(ObjectKind kind, const MerkleHash& key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find({kind, key});
  if (it == objects_.end()) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(it->second.size());
}

Result<void> MemoryObjectStore::remove(ObjectKind kind, const MerkleHash& key) {
  std::lock_guard lock(mu_);
  objects_.erase({kind, key});
  return {};
}

Result<std::vector<MerkleHash>> MemoryObjectStore::list(ObjectKind kind) {
  std::lock_guard lock(mu_);
  std::vector<MerkleHash> out;
  for (const auto& [k, v] : objects_)
    if (k.first == kind) out.push_back(k.second);
  return out;
}

std::uint64_t MemoryObjectStore::total_bytes(ObjectKind kind) const {
  std::lock_guard lock(mu_);
  std::uint64_t n = 0;
  for (const auto& [k, v] : objects_)
    if (k.first == kind) n += v.size();
  return n;
}

// ---- FaultyObjectStore -------------------------------------------------------------------

Result<bool> FaultyObjectStore::put(ObjectKind kind, const MerkleHash& key, ByteView data) {
  std::int64_t left = puts_left_.load();
  if (left == 0) return fail(Errc::io, "injected put failure");
  if (left > 0) --puts_left_;
  return inner_->put(kind, key, data);
}

Result<std::string> FaultyObjectStore::get(ObjectKind kind, const MerkleHash& key) {
  if (fail_reads_) return fail(Errc::io, "injected read failure");
  auto r = inner_->get(kind, key);
  ++reads_;
  if (r) bytes_read_ += r->size();
  return r;
}

Result<std::string> FaultyObjectStore::get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) {
  if (fail_reads_) return fail(Errc::io, "injected read failure");
  auto r = inner_->get_range(kind, key, offset, length);
  ++reads_;
  if (r) bytes_read_ += r->size();
  return r;
}

Result<std::optional<std::uint64_t>> FaultyObjectStore::size(ObjectKind kind, const MerkleHash& key) { return inner_->size(kind, key); }
Result<void> FaultyObjectStore::remove(ObjectKind kind, const MerkleHash& key) { return inner_->remove(kind, key); }
Result<std::vector<MerkleHash>> FaultyObjectStore::list(ObjectKind kind) { return inner_->list(kind); }

}  // namespace hubgate::xet
