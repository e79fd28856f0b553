#include "upstream/ref_cache.hpp"

#include <fnmatch.h>

#include "crypto/sha.hpp"
#include "util/parse.hpp"

namespace hubgate::upstream {

std::int64_t system_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
// "<text> <unix ms>"
std::optional<std::pair<std::string, std::int64_t>> split_stamped(const std::string& v) {
  auto sp = v.rfind(' ');
  if (sp == std::string::npos) return std::nullopt;
  auto t = parse_u64(std::string_view(v).substr(sp + 1));
  if (!t) return std::nullopt;
  return std::make_pair(v.substr(0, sp), static_cast<std::int64_t>(*t));
}
}  // namespace

std::optional<RefCache::Entry> RefCache::get(const std::string& repo_key, const std::string& rev) {
  auto v = store_.get("ref\t" + repo_key + "\t" + rev);
  if (!v) return std::nullopt;
  auto parsed = split_stamped(*v);
  if (!parsed) return std::nullopt;
  std::int64_t age = clock_() - parsed->second;
  return Entry{parsed->first, age >= 0 && age < ttl_.count()};
}

void RefCache::put(const std::string& repo_key, const std::string& rev, const std::string& commit) {
  (void)store_.put("ref\t" + repo_key + "\t" + rev, commit + " " + std::to_string(clock_()));
}

Access AccessCache::lookup(const std::string& authorization, const std::string& repo_key) {
  std::string k = crypto::sha256_hex(authorization) + "\t" + repo_key;
  std::lock_guard lock(mu_);
  auto it = decisions_.find(k);
  if (it == decisions_.end()) return Access::unknown;
  std::int64_t age = clock_() - it->second.at;
  if (age < 0 || age >= ttl_.count()) {
    decisions_.erase(it);
    return Access::unknown;
  }
  return it->second.allowed ? Access::allowed : Access::denied;
}

void AccessCache::record(const std::string& authorization, const std::string& repo_key, bool allowed) {
  std::string k = crypto::sha256_hex(authorization) + "\t" + repo_key;
  std::lock_guard lock(mu_);
  if (decisions_.size() > 100000) decisions_.clear();  // hard bound; decisions are cheap to redo
  decisions_[k] = Decision{allowed, clock_()};
}

bool AccessCache::known_public(const std::string& repo_key, bool fresh_only) {
  auto v = store_.get("public\t" + repo_key);
  if (!v) return false;
  auto parsed = split_stamped(*v);
  if (!parsed || parsed->first != "1") return false;
  if (!fresh_only) return true;
  std::int64_t age = clock_() - parsed->second;
  return age >= 0 && age < ttl_.count();
}

void AccessCache::record_public(const std::string& repo_key, bool is_public) {
  (void)store_.put("public\t" + repo_key, std::string(is_public ? "1" : "0") + " " + std::to_string(clock_()));
}

bool RepoFilter::permits(const std::string& type, const std::string& repo_id) const {
  std::string full = type + "/" + repo_id;
  auto match = [&](const std::string& pat) {
    return ::fnmatch(pat.c_str(), full.c_str(), 0) == 0 || ::fnmatch(pat.c_str(), repo_id.c_str(), 0) == 0;
  };
  for (const auto& p : deny)
    if (match(p)) return false;
  if (allow.empty()) return true;
  for (const auto& p : allow)
    if (match(p)) return true;
  return false;
}

}  // namespace hubgate::upstream
