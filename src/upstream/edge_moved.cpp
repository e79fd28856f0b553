// Edge side of canonical names and renames (resolver_moved.cpp has the mapping): a request that
// names a repository by an old or single-segment id gets the Hub's answer, a `307` whose
// relative Location is the same route under the current id (query kept). A relative Location
// is what `huggingface_hub` follows on its metadata HEAD (`follow_relative_redirects`), and a
// 307 keeps the method and body (paths-info is a POST).
#include "http/url.hpp"
#include "upstream/edge.hpp"

namespace hubgate::upstream {

namespace {

// The still-encoded path of `route` for repository `id`, as the hub module routes it.
std::string route_path(std::string_view route, const RepoRef& repo, const std::string& id, std::string_view raw_rest) {
  const std::string api = "/api/" + repo.type + "/" + id;
  if (route == "info") return raw_rest.empty() ? api : api + "/revision/" + std::string(raw_rest);
  if (route == "tree") return api + "/tree/" + std::string(raw_rest);
  if (route == "paths_info") return api + "/paths-info/" + std::string(raw_rest);
  if (route == "xet_read_token") return api + "/xet-read-token/" + std::string(raw_rest);
  // resolve | raw
  return "/" + repo.url_prefix() + id + "/" + std::string(route) + "/" + std::string(raw_rest);
}

}  // namespace

std::optional<http::Response> Edge::redirect_if_moved(std::string_view route, const http::Request& req,
                                                      const RepoRef& repo, std::string_view raw_rest) {
  std::string auth(req.headers.get("Authorization").value_or(""));
  auto to = resolver_->canonical(repo, auth);
  if (!to) {
    // Upstream could not be asked and no mapping is known: only a bare name needs one.
    if (repo.id.find('/') == std::string::npos)
      return error_response(503, "UpstreamUnavailable", "cannot learn the current name of " + repo.id + ": " + to.error().message);
    return std::nullopt;
  }
  if (to->refusal) {
    auto res = error_response(to->refusal->status, to->refusal->error_code, to->refusal->message);
    if (!to->refusal->retry_after.empty()) res.headers.set("Retry-After", to->refusal->retry_after);
    return res;
  }
  if (!to->value) return std::nullopt;
  std::string location = route_path(route, repo, http::percent_encode(*to->value, true), raw_rest);
  if (!req.query.empty()) location += "?" + req.query;
  http::Response res;
  res.status = 307;
  res.headers.set("Location", location);
  res.headers.set("Content-Type", "application/json");
  res.body = std::string(R"({"message":"Temporary Redirect"})");
  if (to->stale) res.headers.set("X-Hubgate-Stale", "1");
  return res;
}

}  // namespace hubgate::upstream
