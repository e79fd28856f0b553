// Download counts and likes of hosted repositories (spec hub-repo-api.md §13).
//
// Downloads: `resolve`/`raw` call `count_download` after answering a file with a 2xx/3xx; the
// rule of hub/download_stats.hpp decides (models: query files of the card's library_name;
// datasets: one download per user per 5-minute series, the user being the token's name or, for
// anonymous callers, the client address; spaces: never). A counted download is one catalog
// write (all-time count + the day's count), so listings and repo info show it at once.
//
// Likes: POST/DELETE /api/{t}/{repo}/like (a token is required; liking twice is a no-op),
// GET /api/{t}/{repo}/likers ([{user, fullname, avatarUrl}]), GET /api/users/{user}/likes
// ([{createdAt, repo: {name, type}}], only repositories the caller may read).
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

#include "auth/auth.hpp"
#include "hub/context.hpp"
#include "hub/download_stats.hpp"
#include "http/url.hpp"

namespace hubgate::hub {

namespace {

// Dataset series: (repository key, user) -> start of the user's current series.
std::mutex series_mu;
std::map<std::pair<std::int64_t, std::string>, std::int64_t> series;

bool new_dataset_series(std::int64_t repo, const std::string& user, std::int64_t now) {
  std::lock_guard lk(series_mu);
  if (series.size() > 100000) std::erase_if(series, [&](const auto& e) { return now - e.second >= kDatasetSeriesSeconds; });
  auto [it, inserted] = series.try_emplace({repo, user}, now);
  if (inserted || now - it->second >= kDatasetSeriesSeconds) {
    it->second = now;
    return true;
  }
  return false;
}

std::string caller(const Ctx& c) {
  if (c.token) return "token:" + c.token->name;
  auto colon = c.req.client.rfind(':');
  return "addr:" + (colon == std::string::npos ? c.req.client : c.req.client.substr(0, colon));
}

json user_json(const std::string& name) {
  return {{"user", name}, {"fullname", name}, {"avatarUrl", "/avatars/" + name + ".svg"}, {"type", "user"}};
}

}  // namespace

void count_download(Ctx& c, const repo::RepoRecord& r, const repo::Snapshot& s, const std::string& path) {
  const std::int64_t now = std::int64_t(std::time(nullptr));
  bool counts = false;
  if (r.id.type == repo::RepoType::model) {
    counts = model_query_file(card_of(c, r, s)->library_name, path);
  } else if (r.id.type == repo::RepoType::dataset) {
    counts = new_dataset_series(r.key, caller(c), now);
  }
  if (!counts) return;
  if (auto d = c.hub.catalog.count_download(r.key, now / 86400); !d)
    std::fprintf(stderr, "hubgate: cannot count a download of %s: %s\n", r.id.qualified().c_str(),
                 d.error().message.c_str());
}

http::Response like(Ctx& c, const repo::RepoId& id) {
  const bool add = c.req.method == "POST";
  if (!add && c.req.method != "DELETE") return error(405, "", "method not allowed (allowed: POST, DELETE)");
  if (!c.token) return error(401, "", "a token is required to like a repository");
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  auto changed = c.hub.catalog.set_like(r->key, c.token->name, add, std::int64_t(std::time(nullptr)));
  if (!changed) return error_from(changed.error());
  if (*changed) audit_write(c, id, add ? "like" : "unlike", "", "");
  return json_reply(200, json::object());
}

http::Response likers(Ctx& c, const repo::RepoId& id) {
  auto r = open_repo(c, id, Need::read);
  if (!r) return r.error();
  auto all = c.hub.catalog.list_likers(r->key);
  if (!all) return error_from(all.error());
  json out = json::array();
  for (const auto& l : *all) out.push_back(user_json(l.user));
  return json_reply(200, out);
}

http::Response user_likes(Ctx& c, std::string_view raw_user) {
  auto user = http::percent_decode(raw_user);
  if (!user) return error(400, "", user.error().message);
  auto all = c.hub.catalog.list_liked(*user);
  if (!all) return error_from(all.error());
  json out = json::array();
  for (const auto& l : *all) {
    if (!auth::can_read(c.tok(), l.repo.id.qualified(), l.repo.is_private)) continue;
    out.push_back({{"createdAt", repo::iso_date(l.time)},
                   {"repo", {{"name", l.repo.id.full()}, {"type", repo::type_name(l.repo.id.type)}}}});
  }
  return json_reply(200, out);
}

}  // namespace hubgate::hub
