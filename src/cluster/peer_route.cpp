// The peer route of cluster mode: another node streams this node's fill of a content key.
#include <openssl/crypto.h>

#include "cluster/fill_source.hpp"
#include "upstream/edge.hpp"

namespace hubgate::cluster {

std::optional<http::Response> handle_peer(upstream::Edge& edge, const http::Request& req, const std::string& secret) {
  if (!std::string_view(req.path).starts_with(kPeerPrefix)) return std::nullopt;
  auto given = req.headers.get(kSecretHeader).value_or("");
  if (secret.empty() || given.size() != secret.size() || CRYPTO_memcmp(given.data(), secret.data(), secret.size()) != 0)
    return upstream::error_response(401, "", "the peer route wants the cluster secret");
  if (req.method != "GET" && req.method != "HEAD") return upstream::error_response(405, "", "GET or HEAD");
  std::string_view rest = std::string_view(req.path).substr(kPeerPrefix.size());
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return upstream::error_response(404, "", "no such content key");
  std::string_view algo = rest.substr(0, slash);
  auto key = upstream::ContentKey::make(
      algo == "sha256" ? upstream::ContentKey::Algo::sha256 : upstream::ContentKey::Algo::git_sha1, rest.substr(slash + 1));
  if ((algo != "sha256" && algo != "gitsha1") || !key) return upstream::error_response(404, "", "no such content key");
  return edge.serve_content(*key, req);
}

}  // namespace hubgate::cluster
