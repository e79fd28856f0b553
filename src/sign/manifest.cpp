// Manifest computation. The walk collects (relative name, absolute path, size) for every
// regular file that is not ignored, pruning ignored folders, checking symlinks before
// anything else is done with a path. In `shards` mode each file becomes ceil(size/shard)
// tasks; in `files` mode one task per file. A fixed pool of worker threads takes tasks from an
// atomic counter, reads with pread() into a per-thread 1 MiB buffer and stores the digest in
// the task's slot, so the result does not depend on scheduling. The first error (a file that
// shrank, an unreadable file) wins and stops the others.
#include "sign/manifest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "crypto/blake3.hpp"
#include "util/hex.hpp"

namespace hubgate::sign {

namespace fs = std::filesystem;

const char* hash_type_name(HashType h) {
  switch (h) {
    case HashType::sha256: return "sha256";
    case HashType::blake2b: return "blake2b";
    case HashType::blake3: return "blake3";
  }
  return "?";
}

Result<HashType> parse_hash_type(std::string_view s) {
  if (s == "sha256") return HashType::sha256;
  if (s == "blake2b" || s == "blake2") return HashType::blake2b;
  if (s == "blake3") return HashType::blake3;
  return fail(Errc::unsupported, "unsupported hash_type '" + std::string(s) + "'");
}

const char* method_name(Method m) { return m == Method::files ? "files" : "shards"; }

namespace {

// Streaming hasher over the three hash types.
class Hasher {
 public:
  explicit Hasher(HashType h) : type_(h) {
    if (h != HashType::blake3) {
      ctx_ = EVP_MD_CTX_new();
      EVP_DigestInit_ex(ctx_, h == HashType::sha256 ? EVP_sha256() : EVP_blake2b512(), nullptr);
    }
  }
  ~Hasher() { EVP_MD_CTX_free(ctx_); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void update(const std::uint8_t* p, std::size_t n) {
    if (type_ == HashType::blake3) {
      b3_.update(ByteView(p, n));
    } else {
      EVP_DigestUpdate(ctx_, p, n);
    }
  }
  std::string final_hex() {
    if (type_ == HashType::blake3) return to_hex(b3_.finalize());
    std::uint8_t out[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    return to_hex(ByteView(out, len));
  }

 private:
  HashType type_;
  EVP_MD_CTX* ctx_ = nullptr;
  crypto::Blake3 b3_;
};

struct Comp {
  std::vector<std::string_view> parts;
  std::uint64_t start = 0, end = 0;
};

Comp split_name(std::string_view name, bool shards) {
  Comp c;
  // A shard name is "path:start:end"; the last two ':' separate the offsets when both parse.
  auto p2 = shards ? name.rfind(':') : std::string_view::npos;
  if (p2 != std::string_view::npos && p2 > 0) {
    auto p1 = name.rfind(':', p2 - 1);
    if (p1 != std::string_view::npos) {
      auto num = [](std::string_view s, std::uint64_t& v) {
        if (s.empty() || s.size() > 19) return false;
        v = 0;
        for (char ch : s) {
          if (ch < '0' || ch > '9') return false;
          v = v * 10 + static_cast<std::uint64_t>(ch - '0');
        }
        return true;
      };
      std::uint64_t a = 0, b = 0;
      if (num(name.substr(p1 + 1, p2 - p1 - 1), a) && num(name.substr(p2 + 1), b)) {
        c.start = a;
        c.end = b;
        name = name.substr(0, p1);
      }
    }
  }
  std::size_t i = 0;
  while (i <= name.size()) {
    auto j = name.find('/', i);
    if (j == std::string_view::npos) j = name.size();
    if (j > i) c.parts.push_back(name.substr(i, j - i));
    i = j + 1;
  }
  return c;
}

}  // namespace

bool resource_less(std::string_view a, std::string_view b, Method m) {
  const bool shards = m == Method::shards;
  Comp x = split_name(a, shards), y = split_name(b, shards);
  if (x.parts != y.parts) return x.parts < y.parts;
  if (x.start != y.start) return x.start < y.start;
  return x.end < y.end;
}

void sort_resources(std::vector<Resource>& r, Method m) {
  std::stable_sort(r.begin(), r.end(), [m](const Resource& a, const Resource& b) { return resource_less(a.name, b.name, m); });
}

Result<std::string> normalize_relative(std::string_view path) {
  if (path.empty()) return fail(Errc::invalid_argument, "empty path");
  if (path.find('\0') != std::string_view::npos) return fail(Errc::invalid_argument, "path contains NUL");
  if (path.front() == '/') return fail(Errc::invalid_argument, "absolute path '" + std::string(path) + "'");
  std::string out;
  std::size_t i = 0;
  while (i <= path.size()) {
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") return fail(Errc::invalid_argument, "path '" + std::string(path) + "' contains '..'");
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  if (out.empty()) out = ".";
  return out;
}

std::string digest_hex(HashType h, ByteView data) {
  Hasher hs(h);
  hs.update(data.data(), data.size());
  return hs.final_hex();
}

namespace {

struct FileItem {
  std::string name;  // relative, "." for a single-file model
  fs::path path;
  std::uint64_t size = 0;
};

struct Task {
  std::size_t file;
  std::uint64_t start, end;
};

bool is_ignored(const std::string& rel, const std::vector<std::string>& ignored) {
  for (const auto& ig : ignored) {
    if (ig == ".") return true;
    if (rel == ig) return true;
    if (rel.size() > ig.size() && rel.compare(0, ig.size(), ig) == 0 && rel[ig.size()] == '/') return true;
  }
  return false;
}

std::string algorithm_for(const Serialization& s) {
  std::string a = hash_type_name(s.hash);
  if (s.method == Method::shards) a += "-sharded-" + std::to_string(s.shard_size);
  return a;
}

Result<void> check_path(const fs::path& p, const std::string& rel, bool allow_symlinks, bool& is_file, std::uint64_t& size) {
  struct stat st{};
  if (::lstat(p.c_str(), &st) != 0) return fail(os_error("lstat", p.string(), errno));
  if (S_ISLNK(st.st_mode)) {
    if (!allow_symlinks)
      return fail(Errc::invalid_argument, "'" + rel + "' is a symlink (symlinks are not allowed; use --allow-symlinks)");
    if (::stat(p.c_str(), &st) != 0)
      return fail(Errc::invalid_argument, "'" + rel + "' is a broken symlink");
  }
  if (S_ISREG(st.st_mode)) {
    is_file = true;
    size = static_cast<std::uint64_t>(st.st_size);
    return {};
  }
  if (S_ISDIR(st.st_mode)) {
    is_file = false;
    return {};
  }
  return fail(Errc::invalid_argument, "'" + rel + "' is neither a regular file nor a folder");
}

Result<std::vector<FileItem>> collect(const fs::path& model, const std::vector<std::string>& ignored,
                                      const HashOptions& opt) {
  std::vector<FileItem> files;
  bool root_file = false;
  std::uint64_t size = 0;
  HG_TRY_VOID(check_path(model, model.string(), opt.serialization.allow_symlinks, root_file, size));
  if (root_file) {
    if (opt.only_files) {
      for (const auto& n : *opt.only_files) {
        if (n != ".") return fail(Errc::not_found, "missing file '" + n + "' (signed, not found in the model)");
      }
    }
    files.push_back({".", model, size});
    return files;
  }
  if (opt.only_files) {
    for (const auto& n : *opt.only_files) {
      if (n == "." || is_ignored(n, ignored)) continue;
      fs::path p = model / n;
      bool f = false;
      std::uint64_t sz = 0;
      struct stat st{};
      if (::lstat(p.c_str(), &st) != 0)
        return fail(Errc::not_found, "missing file '" + n + "' (signed, not found in the model)");
      HG_TRY_VOID(check_path(p, n, opt.serialization.allow_symlinks, f, sz));
      if (f) files.push_back({n, p, sz});
    }
    return files;
  }
  std::error_code ec;
  fs::recursive_directory_iterator it(model, fs::directory_options::none, ec), end;
  if (ec) return fail(os_error("opendir", model.string(), ec.value()));
  std::size_t count = 0;
  for (; it != end; it.increment(ec)) {
    if (ec) return fail(os_error("readdir", model.string(), ec.value()));
    if (++count > 10'000'000) return fail(Errc::limit_exceeded, "model has more than 10M entries");
    std::string rel = it->path().lexically_relative(model).generic_string();
    if (is_ignored(rel, ignored)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
      continue;
    }
    bool f = false;
    std::uint64_t sz = 0;
    HG_TRY_VOID(check_path(it->path(), rel, opt.serialization.allow_symlinks, f, sz));
    if (f) files.push_back({rel, it->path(), sz});
  }
  return files;
}

Result<std::vector<std::string>> hash_tasks(const std::vector<FileItem>& files, const std::vector<Task>& tasks,
                                            HashType h, const HashOptions& opt) {
  std::vector<std::string> out(tasks.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex err_mu;
  std::optional<Error> first_error;
  unsigned n = opt.threads ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  n = static_cast<unsigned>(std::min<std::size_t>(n, std::max<std::size_t>(1, tasks.size())));
  std::size_t chunk = std::max<std::size_t>(opt.read_chunk, 4096);
  auto worker = [&] {
    std::vector<std::uint8_t> buf(chunk);
    int fd = -1;
    std::size_t fd_file = SIZE_MAX;
    auto record = [&](Error e) {
      std::lock_guard lk(err_mu);
      if (!first_error) first_error = std::move(e);
      stop = true;
    };
    while (!stop) {
      std::size_t i = next.fetch_add(1);
      if (i >= tasks.size()) break;
      const Task& t = tasks[i];
      const FileItem& f = files[t.file];
      if (fd_file != t.file) {
        if (fd >= 0) ::close(fd);
        fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
        fd_file = t.file;
        if (fd < 0) {
          record(os_error("open", f.path.string(), errno));
          break;
        }
      }
      Hasher hs(h);
      std::uint64_t pos = t.start;
      while (pos < t.end) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, t.end - pos));
        ssize_t got = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
          record(os_error("read", f.path.string(), errno));
          break;
        }
        if (got == 0) {
          record(Error(Errc::conflict, "file '" + f.name + "' shrank while hashing"));
          break;
        }
        hs.update(buf.data(), static_cast<std::size_t>(got));
        pos += static_cast<std::uint64_t>(got);
      }
      if (pos == t.end) out[i] = hs.final_hex();
    }
    if (fd >= 0) ::close(fd);
  };
  std::vector<std::thread> pool;
  for (unsigned k = 1; k < n; ++k) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (first_error) return fail(*first_error);
  return out;
}

std::string model_name_of(const fs::path& model) {
  std::string name = model.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    name = fs::weakly_canonical(fs::absolute(model), ec).filename().string();
  }
  return name;
}

Serialization effective(Serialization s) {
  if (s.hash == HashType::blake3 && s.method == Method::shards) s.method = Method::files;  // as the reference
  return s;
}

}  // namespace

Result<Manifest> compute_manifest(const fs::path& model, const HashOptions& opt_in) {
  HashOptions opt = opt_in;
  opt.serialization = effective(opt.serialization);
  if (opt.serialization.method == Method::shards && opt.serialization.shard_size == 0)
    return fail(Errc::invalid_argument, "shard_size must be positive");
  std::vector<std::string> ignored;
  std::vector<std::string> recorded;
  auto add = [&](std::string_view p, bool record) {
    auto n = normalize_relative(p);
    if (!n) return;  // outside the model: not applicable (like the reference)
    if (std::find(ignored.begin(), ignored.end(), *n) == ignored.end()) ignored.push_back(*n);
    if (record && std::find(recorded.begin(), recorded.end(), *n) == recorded.end()) recorded.push_back(*n);
  };
  for (const auto& p : opt.ignore_paths) add(p, true);
  for (const auto& p : opt.serialization.ignore_paths) add(p, false);
  if (opt.ignore_git_paths)
    for (const char* g : kGitPaths) add(g, true);

  HG_TRY(auto files, collect(model, ignored, opt));
  std::vector<Task> tasks;
  const bool shards = opt.serialization.method == Method::shards;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (!shards) {
      tasks.push_back({i, 0, files[i].size});
      continue;
    }
    for (std::uint64_t s = 0; s < files[i].size; s += opt.serialization.shard_size)
      tasks.push_back({i, s, std::min(files[i].size, s + opt.serialization.shard_size)});
  }
  HG_TRY(auto digests, hash_tasks(files, tasks, opt.serialization.hash, opt));
  Manifest m;
  m.model_name = model_name_of(model);
  m.serialization = opt.serialization;
  if (opt.record_ignore_paths) {
    m.serialization.ignore_paths = recorded;
  }
  std::string alg = algorithm_for(opt.serialization);
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const auto& f = files[tasks[i].file];
    std::string name = shards ? f.name + ":" + std::to_string(tasks[i].start) + ":" + std::to_string(tasks[i].end) : f.name;
    m.resources.push_back({std::move(name), alg, std::move(digests[i])});
  }
  sort_resources(m.resources, m.serialization.method);
  return m;
}

Result<Manifest> manifest_from_memory(const std::vector<std::pair<std::string, ByteView>>& files,
                                      const Serialization& s_in) {
  Serialization s = effective(s_in);
  if (s.method == Method::shards && s.shard_size == 0) return fail(Errc::invalid_argument, "shard_size must be positive");
  Manifest m;
  m.serialization = s;
  std::string alg = algorithm_for(s);
  std::set<std::string> seen;
  for (const auto& [name_in, bytes] : files) {
    HG_TRY(auto name, normalize_relative(name_in));
    if (!seen.insert(name).second) return fail(Errc::invalid_argument, "duplicate file '" + name + "'");
    if (s.method == Method::files) {
      m.resources.push_back({name, alg, digest_hex(s.hash, bytes)});
      continue;
    }
    for (std::uint64_t st = 0; st < bytes.size(); st += s.shard_size) {
      std::uint64_t en = std::min<std::uint64_t>(bytes.size(), st + s.shard_size);
      m.resources.push_back({name + ":" + std::to_string(st) + ":" + std::to_string(en), alg,
                             digest_hex(s.hash, bytes.subspan(st, en - st))});
    }
  }
  sort_resources(m.resources, m.serialization.method);
  return m;
}

Result<Manifest> manifest_from_file_digests(const std::vector<std::pair<std::string, std::string>>& files,
                                            const Serialization& s) {
  if (s.method != Method::files) return fail(Errc::invalid_argument, "known digests only fit the files serialization");
  Manifest m;
  m.serialization = s;
  std::set<std::string> seen;
  for (const auto& [name_in, hex] : files) {
    HG_TRY(auto name, normalize_relative(name_in));
    if (!seen.insert(name).second) return fail(Errc::invalid_argument, "duplicate file '" + name + "'");
    std::string lower;
    for (char c : hex) lower += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    m.resources.push_back({name, hash_type_name(s.hash), lower});
  }
  sort_resources(m.resources, m.serialization.method);
  return m;
}

Result<void> compare_manifests(const Manifest& expected, const Manifest& actual) {
  std::map<std::string, const Resource*> e, a;
  for (const auto& r : expected.resources) e[r.name] = &r;
  for (const auto& r : actual.resources) a[r.name] = &r;
  std::vector<std::string> extra, missing, mism;
  for (const auto& [k, r] : a)
    if (!e.count(k)) extra.push_back(k);
  for (const auto& [k, r] : e)
    if (!a.count(k)) missing.push_back(k);
  for (const auto& [k, r] : e) {
    auto it = a.find(k);
    if (it == a.end()) continue;
    if (r->algorithm != it->second->algorithm || r->digest != it->second->digest)
      mism.push_back("hash mismatch for '" + k + "': expected " + r->algorithm + ":" + r->digest + ", actual " +
                     it->second->algorithm + ":" + it->second->digest);
  }
  if (extra.empty() && missing.empty() && mism.empty()) return {};
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + ("'" + x + "'");
    return s;
  };
  std::string msg;
  auto add = [&](const std::string& s) { msg += (msg.empty() ? "" : "; ") + s; };
  for (const auto& m : mism) add(m);
  if (!extra.empty()) add("extra unsigned files in model: " + join(extra));
  if (!missing.empty()) add("missing signed files: " + join(missing));
  return fail(Errc::corrupt, "model does not match the signature: " + msg);
}

}  // namespace hubgate::sign
