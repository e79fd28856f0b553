// Canonical names and renamed repositories (resolver.hpp, `Resolver::canonical`).
//
// The Hub keeps old names working: `/api/models/gpt2` and `/gpt2/resolve/main/config.json`
// answer `307` with a relative Location under `openai-community/gpt2`, and so does a repository
// that was moved (`POST /api/repos/move`). An edge learns such a mapping from upstream's 3xx
// (asked on purpose for single-segment ids, noticed in passing for renamed ones), keeps it
// like a branch mapping (fresh for ref_ttl, persisted, the last known one used offline) and
// sends its clients the same relative 307 — so each later request names the current id, and
// everything cached under it is shared with clients that used the new name from the start.
#include <nlohmann/json.hpp>

#include "http/url.hpp"
#include "upstream/resolver.hpp"
#include "util/parse.hpp"

namespace hubgate::upstream {

namespace {

constexpr std::string_view kMovedKey = "moved\t";
constexpr std::size_t kMaxNotMoved = 1 << 16;

bool valid_segment(std::string_view s) {
  if (s.empty() || s.size() > 96 || s == "." || s == "..") return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

// "ns/name" when both parts are plausible repository name segments.
std::optional<std::string> two_segments(std::string_view path) {
  auto slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ns = http::percent_decode(path.substr(0, slash));
  std::string_view rest = path.substr(slash + 1);
  auto name = http::percent_decode(rest.substr(0, rest.find('/')));
  if (!ns || !name || !valid_segment(*ns) || !valid_segment(*name)) return std::nullopt;
  return *ns + "/" + *name;
}

}  // namespace

std::optional<std::string> repo_in_location(std::string_view type, std::string_view location) {
  if (!location.starts_with("/") || location.starts_with("//")) return std::nullopt;  // relative only
  location = location.substr(0, location.find_first_of("?#"));
  const std::string api = "/api/" + std::string(type) + "/";
  if (location.starts_with(api)) return two_segments(location.substr(api.size()));
  std::string prefix = "/";
  if (type == "datasets" || type == "spaces") prefix += std::string(type) + "/";
  if (!location.starts_with(prefix)) return std::nullopt;
  // "/ns/name/resolve/…" or "/ns/name/raw/…" only: other relative redirects (the Hub's
  // "/api/resolve-cache/…", a CAS path) name no repository.
  std::string_view rest = location.substr(prefix.size());
  auto second = rest.find('/', rest.find('/') + 1);
  if (rest.find('/') == std::string_view::npos || second == std::string_view::npos) return std::nullopt;
  std::string_view route = rest.substr(second + 1);
  if (!route.starts_with("resolve/") && !route.starts_with("raw/")) return std::nullopt;
  auto id = two_segments(rest);
  // A model path must not be mistaken for a dataset's or a space's.
  if (id && prefix == "/" && (id->starts_with("datasets/") || id->starts_with("spaces/") || id->starts_with("api/")))
    return std::nullopt;
  return id;
}

std::optional<std::string> Resolver::note_redirect(const RepoRef& repo, const HttpResponse& resp) {
  if (resp.status < 300 || resp.status >= 400) return std::nullopt;
  const auto* loc = resp.header("location");
  if (!loc) return std::nullopt;
  auto to = repo_in_location(repo.type, *loc);
  if (!to || *to == repo.id) return std::nullopt;
  (void)meta_.put(std::string(kMovedKey) + repo.key(), *to + " " + std::to_string(opt_.clock()));
  // After the put; the generation keeps a lookup that read the store before it from re-adding.
  std::lock_guard lock(moved_mu_);
  not_moved_.erase(repo.key());
  ++moved_generation_;
  return to;
}

Result<Answer<std::string>> Resolver::canonical(const RepoRef& repo, const std::string& authorization) {
  using A = Answer<std::string>;
  const bool single = repo.id.find('/') == std::string::npos;
  std::uint64_t generation = 0;
  if (!single) {
    std::lock_guard lock(moved_mu_);
    if (not_moved_.count(repo.key())) return A{std::nullopt, std::nullopt, false};
    generation = moved_generation_;
  }
  std::optional<std::string> known;
  bool fresh = false;
  if (auto v = meta_.get(std::string(kMovedKey) + repo.key())) {
    auto sp = v->find(' ');
    auto at = sp == std::string::npos ? std::nullopt : parse_u64(std::string_view(*v).substr(sp + 1));
    if (at) {
      known = v->substr(0, sp);
      fresh = opt_.clock() - std::int64_t(*at) < opt_.ref_ttl.count();
    }
  }
  if (known && (fresh || !single)) return A{known, std::nullopt, false};
  if (!single) {  // renames are noticed in passing (note_redirect)
    std::lock_guard lock(moved_mu_);
    if (generation == moved_generation_) {
      if (not_moved_.size() >= kMaxNotMoved) not_moved_.clear();  // bounded; misses refill it
      not_moved_.insert(repo.key());
    }
    return A{std::nullopt, std::nullopt, false};
  }

  auto fallback = [&](Error why) -> Result<A> {
    if (known) {
      if (metrics_) metrics_->stale_answers.fetch_add(1, std::memory_order_relaxed);
      return A{known, std::nullopt, true};
    }
    return fail(std::move(why));
  };
  if (opt_.offline) return fallback(Error(Errc::unavailable, "offline: the current name of " + repo.key() + " is not known"));
  HttpRequest req = request("GET", opt_.base_url + "/api/" + repo.type + "/" + encode_segment(repo.id), authorization);
  req.follow_redirects = false;
  auto resp = client_.send(req);
  if (!resp) return fallback(resp.error());
  if (resp->status >= 500 || resp->status == 429) return fallback(Error(Errc::unavailable, "upstream answered " + std::to_string(resp->status)));
  if (auto to = note_redirect(repo, *resp)) return A{to, std::nullopt, false};
  if (auto refusal = judge(repo, authorization, *resp)) return A{std::nullopt, refusal, false};
  // A 200 for a bare name: the reply's own `id` says where the repository lives.
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_object() && j.contains("id") && j["id"].is_string()) {
    std::string id = j["id"].get<std::string>();
    if (two_segments(id) == id) {
      (void)meta_.put(std::string(kMovedKey) + repo.key(), id + " " + std::to_string(opt_.clock()));
      return A{id, std::nullopt, false};
    }
  }
  return A{std::nullopt,
           Refusal{404, "RepoNotFound", "Repository " + repo.id + " has no namespace upstream; hubgate serves ns/name ids", "", "", ""},
           false};
}

}  // namespace hubgate::upstream
