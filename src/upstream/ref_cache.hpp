// Time-bounded caches of the resolver: branch/tag -> commit mappings (`RefCache`) and
// per-token access decisions and repo visibility (`AccessCache`), plus allow/deny patterns.
//
// RefCache: a mapping is *fresh* for `ttl` after it was learned from upstream, then it must be
// revalidated; the last known mapping is persisted in the MetaStore (`ref\t<repo>\t<rev>` ->
// `<commit> <unix ms>`) so an offline or cut-off edge can still resolve branch names (answers
// marked stale). Commit ids never need a mapping (commit-addressed data is immutable).
//
// AccessCache: `(sha256(token), repo) -> allowed/denied` for `ttl` (in memory only: a restart
// asks upstream again). A repo is *known public* once an anonymous request for it succeeded
// upstream; that fact is persisted (`public\t<repo>` -> `<0|1> <unix ms>`), fresh for `ttl`, and
// its last value is what an offline edge relies on. Nothing here ever uses the gateway's own
// upstream token: decisions are made with the client's credentials only.
//
// Time comes from a `Clock` (unix milliseconds) so tests can move it. Thread-safety: all
// methods are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "upstream/meta_store.hpp"

namespace hubgate::upstream {

using Clock = std::function<std::int64_t()>;  // unix milliseconds
std::int64_t system_clock_ms();

class RefCache {
 public:
  RefCache(MetaStore& store, std::chrono::milliseconds ttl, Clock clock = system_clock_ms)
      : store_(store), ttl_(ttl), clock_(std::move(clock)) {}
  struct Entry {
    std::string commit;
    bool fresh = false;
  };
  std::optional<Entry> get(const std::string& repo_key, const std::string& rev);
  void put(const std::string& repo_key, const std::string& rev, const std::string& commit);

 private:
  MetaStore& store_;
  std::chrono::milliseconds ttl_;
  Clock clock_;
};

enum class Access { allowed, denied, unknown };

class AccessCache {
 public:
  AccessCache(MetaStore& store, std::chrono::milliseconds ttl, Clock clock = system_clock_ms)
      : store_(store), ttl_(ttl), clock_(std::move(clock)) {}
  // A fresh decision for this token (raw Authorization value; empty = anonymous) and repo.
  Access lookup(const std::string& authorization, const std::string& repo_key);
  void record(const std::string& authorization, const std::string& repo_key, bool allowed);
  // Visibility: `fresh_only` ignores facts older than the ttl.
  bool known_public(const std::string& repo_key, bool fresh_only);
  void record_public(const std::string& repo_key, bool is_public);

 private:
  MetaStore& store_;
  std::chrono::milliseconds ttl_;
  Clock clock_;
  std::mutex mu_;
  struct Decision {
    bool allowed;
    std::int64_t at;
  };
  std::unordered_map<std::string, Decision> decisions_;
};

// Repository allow/deny patterns (fnmatch globs, `*` also matches `/`), matched against
// `<type>/<namespace>/<name>` (e.g. `models/org/*`, `datasets/*`) and `<namespace>/<name>`.
// Deny wins; an empty allow list allows everything not denied.
struct RepoFilter {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  bool permits(const std::string& type, const std::string& repo_id) const;
};

}  // namespace hubgate::upstream
