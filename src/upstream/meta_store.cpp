#include "upstream/meta_store.hpp"

#include "crypto/sha.hpp"
#include "util/atomic_file.hpp"

namespace hubgate::upstream {

Result<std::unique_ptr<MetaStore>> MetaStore::open_dir(std::string root) {
  if (!root.empty()) HG_TRY_VOID(make_dirs(root));
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(root)));
}

std::string MetaStore::path_of(const std::string& key) const {
  std::string h = crypto::sha256_hex(key);
  return root_ + "/" + h.substr(0, 2) + "/" + h;
}

std::optional<std::string> MetaStore::get(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    if (auto it = mem_.find(key); it != mem_.end()) return it->second;
  }
  if (root_.empty()) return std::nullopt;
  auto data = read_file(path_of(key));
  if (!data) return std::nullopt;
  auto nl = data->find('\n');
  if (nl == std::string::npos || std::string_view(*data).substr(0, nl) != key) return std::nullopt;
  std::string value = data->substr(nl + 1);
  std::lock_guard lock(mu_);
  mem_[key] = value;
  return value;
}

Result<void> MetaStore::put(const std::string& key, std::string value) {
  if (key.find('\n') != std::string::npos) return fail(Errc::invalid_argument, "meta store: newline in key");
  std::string file = key + "\n" + value;
  {
    std::lock_guard lock(mu_);
    mem_[key] = std::move(value);
  }
  if (root_.empty()) return {};
  return write_file_atomic(path_of(key), file);
}

}  // namespace hubgate::upstream
