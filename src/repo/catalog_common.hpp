// Private to src/repo/: what the SQLite and PostgreSQL catalogs share — the revision rules of
// `Catalog::resolve` over two lookups, the in-memory cache of immutable snapshots, and the
// discussion events a commit records.
#pragma once

#include <list>
#include <mutex>
#include <unordered_map>

#include "repo/catalog.hpp"

namespace hubgate::repo::detail {

// `ref(name, kind)` looks a ref up (kind -1: any kind, the branch first); `prefix(lo, hi)`
// returns the commit ids in [lo, hi) (two are enough to tell "ambiguous").
template <class RefFn, class PrefixFn>
Result<std::optional<std::string>> resolve_rev(std::string_view rev, RefFn&& ref, PrefixFn&& prefix) {
  if (rev.empty()) return std::optional<std::string>{};
  if (rev == "HEAD") return ref("main", int(RefKind::branch));
  if (rev.starts_with("refs/heads/")) return ref(rev.substr(11), int(RefKind::branch));
  if (rev.starts_with("refs/tags/")) return ref(rev.substr(10), int(RefKind::tag));
  HG_TRY(auto named, ref(rev, -1));
  if (named) return named;
  if (is_commit_prefix(rev)) {
    std::string lo(rev), hi(rev);
    hi.push_back('g');  // every id with this prefix sorts in [lo, lo+"g")
    HG_TRY(std::vector<std::string> ids, prefix(lo, hi));
    if (ids.size() == 1) return std::optional<std::string>(ids[0]);
  }
  return std::optional<std::string>{};
}

// Snapshots by (repository key, commit id), the 128 most recently stored. Thread-safe.
class SnapshotCache {
 public:
  std::shared_ptr<const Snapshot> find(std::int64_t repo, const std::string& commit);
  void put(std::int64_t repo, const std::string& commit, std::shared_ptr<const Snapshot> s);
  void forget_repo(std::int64_t repo);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Snapshot>> map_;
  std::list<std::string> order_;
};

// The events a pull request records: its opening comment and each commit (ids derived from
// repository, number and commit, so a retried insert is a no-op).
DiscussionEvent comment_event(std::int64_t repo, int num, const Commit& cm, const std::string& author,
                              const std::string& text);
DiscussionEvent commit_event(std::int64_t repo, int num, const Commit& cm, const std::string& author);

// The pull request a `create_pr` commit opens (number `num`, from `head`, the base's head).
Discussion pr_discussion(int num, const NewCommit& c, const Commit& cm, const std::optional<std::string>& head);

}  // namespace hubgate::repo::detail
