#include "repo/catalog_common.hpp"

#include "crypto/sha.hpp"

namespace hubgate::repo::detail {

namespace {

std::string json_escape(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (ch < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[ch >> 4];
          out += hex[ch & 15];
        } else {
          out += char(ch);
        }
    }
  }
  return out;
}

std::string event_id(std::int64_t repo, int num, const std::string& kind, const std::string& commit) {
  return crypto::sha256_hex(std::to_string(repo) + ":" + std::to_string(num) + ":" + kind + ":" + commit).substr(0, 24);
}

std::string cache_key(std::int64_t repo, const std::string& commit) { return std::to_string(repo) + ":" + commit; }

}  // namespace

std::shared_ptr<const Snapshot> SnapshotCache::find(std::int64_t repo, const std::string& commit) {
  std::lock_guard lk(mu_);
  auto it = map_.find(cache_key(repo, commit));
  return it == map_.end() ? nullptr : it->second;
}

void SnapshotCache::put(std::int64_t repo, const std::string& commit, std::shared_ptr<const Snapshot> s) {
  std::lock_guard lk(mu_);
  auto key = cache_key(repo, commit);
  if (map_.count(key)) return;
  if (map_.size() >= 128) {
    map_.erase(order_.front());
    order_.pop_front();
  }
  map_[key] = std::move(s);
  order_.push_back(key);
}

void SnapshotCache::forget_repo(std::int64_t repo) {
  std::lock_guard lk(mu_);
  std::string prefix = std::to_string(repo) + ":";
  for (auto it = order_.begin(); it != order_.end();) {
    if (it->starts_with(prefix)) {
      map_.erase(*it);
      it = order_.erase(it);
    } else {
      ++it;
    }
  }
}

DiscussionEvent comment_event(std::int64_t repo, int num, const Commit& cm, const std::string& author,
                              const std::string& text) {
  return DiscussionEvent{event_id(repo, num, "comment", cm.id), "comment", author, cm.time,
                         "{\"edited\":false,\"hidden\":false,\"raw\":\"" + json_escape(text) + "\",\"history\":[]}"};
}

DiscussionEvent commit_event(std::int64_t repo, int num, const Commit& cm, const std::string& author) {
  return DiscussionEvent{event_id(repo, num, "commit", cm.id), "commit", author, cm.time,
                         "{\"subject\":\"" + json_escape(cm.title) + "\",\"oid\":\"" + cm.id + "\"}"};
}

Discussion pr_discussion(int num, const NewCommit& c, const Commit& cm, const std::optional<std::string>& head) {
  Discussion d;
  d.num = num;
  d.title = cm.title;
  d.status = "open";
  d.is_pr = true;
  d.author = c.pr_author;
  d.created = cm.time;
  d.base = "refs/heads/" + c.branch;
  d.start_commit = head ? *head : std::string();
  return d;
}

}  // namespace hubgate::repo::detail
