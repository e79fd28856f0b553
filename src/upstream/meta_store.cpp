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
  std::string_view d(*data);
  constexpr std::string_view kMagic = "hgmeta1 ";
  if (d.size() < kMagic.size() + 65 || !d.starts_with(kMagic) || d[kMagic.size() + 64] != '\n') return std::nullopt;
  std::string_view sum = d.substr(kMagic.size(), 64), rest = d.substr(kMagic.size() + 65);
  if (crypto::sha256_hex(rest) != sum) return std::nullopt;  // torn by a crash
  auto nl = rest.find('\n');
  if (nl == std::string_view::npos || rest.substr(0, nl) != key) return std::nullopt;
  std::string value(rest.substr(nl + 1));
  std::lock_guard lock(mu_);
  mem_[key] = value;
  return value;
}

Result<void> MetaStore::put(const std::string& key, std::string value) {
  if (key.find('\n') != std::string::npos) return fail(Errc::invalid_argument, "meta store: newline in key");
  std::string rest = key + "\n" + value;
  std::string file = "hgmeta1 " + crypto::sha256_hex(rest) + "\n" + rest;
  {
    std::lock_guard lock(mu_);
    mem_[key] = std::move(value);
  }
  if (root_.empty()) return {};
  HG_TRY(AtomicFile f, AtomicFile::create(path_of(key)));
  HG_TRY_VOID(f.write(file));
  return f.commit(AtomicFile::Durability::none);
}

}  // namespace hubgate::upstream
