// Stream::open: the revision pinned to a commit, the files picked, each HEADed for size and
// digest, each header read and validated (loader.hpp).
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "loader/stream_impl.hpp"
#include "scan/formats.hpp"
#include "scan/json_strict.hpp"
#include "util/byte_reader.hpp"
#include "util/parse.hpp"

namespace hubgate::loader {
namespace {

using json = nlohmann::json;
using detail::Conn;

constexpr std::uint64_t kFirstRead = 64 * 1024;

std::string unquote_etag(std::string v) {
  if (v.starts_with("W/")) v = v.substr(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

bool is_hex(std::string_view s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string http_error(const std::string& what, const detail::HttpReply& r) {
  std::string msg = what + ": HTTP " + std::to_string(r.status);
  if (auto e = r.header("x-error-message")) msg += " " + *e;
  return msg;
}

Errc status_errc(long status) {
  if (status == 401) return Errc::unauthenticated;
  if (status == 403) return Errc::permission_denied;
  if (status == 404) return Errc::not_found;
  return Errc::unavailable;
}

// Bytes [from, from + len) of a file, exactly.
Result<std::string> read_range(Conn& conn, const std::string& url, const std::vector<std::string>& auth,
                               std::uint64_t from, std::uint64_t len, long stall_s) {
  auto hdrs = auth;
  hdrs.push_back("Range: bytes=" + std::to_string(from) + "-" + std::to_string(from + len - 1));
  HG_TRY(auto r, conn.request("GET", url, hdrs, {}, stall_s));
  if (r.status != 206 && !(r.status == 200 && from == 0)) return fail(status_errc(r.status), http_error("GET " + url, r));
  if (r.body.size() < len) {
    return fail(Errc::corrupt, "GET " + url + ": " + std::to_string(r.body.size()) + " bytes for a range of " +
                                   std::to_string(len));
  }
  r.body.resize(len);
  return std::move(r.body);
}

}  // namespace

Result<std::vector<std::string>> pick_safetensors(const std::vector<std::string>& siblings,
                                                  const std::string* index_json) {
  std::set<std::string> listed(siblings.begin(), siblings.end());
  std::vector<std::string> out;
  if (index_json) {
    auto j = scan::parse_json_strict(*index_json);
    if (!j) return fail(j.error().context("model.safetensors.index.json"));
    auto wm = j->is_object() ? j->find("weight_map") : j->end();
    if (!j->is_object() || wm == j->end() || !wm->is_object()) {
      return fail(Errc::corrupt, "model.safetensors.index.json: no weight_map object");
    }
    std::set<std::string> shards;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it->is_string()) return fail(Errc::corrupt, "model.safetensors.index.json: weight_map." + it.key() + " is not a string");
      shards.insert(it->get<std::string>());
    }
    for (const auto& s : shards) {
      // Only files of this revision: the listing is the allowlist (no '..', no URL, no absolute path).
      if (!listed.count(s)) return fail(Errc::corrupt, "model.safetensors.index.json names '" + s + "', which the revision lacks");
      out.push_back(s);
    }
    return out;
  }
  for (const auto& s : siblings)
    if (s.ends_with(".safetensors")) out.push_back(s);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<Stream>> Stream::open(const Options& opts) {
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  Options& o = impl->opts;
  while (o.endpoint.ends_with("/")) o.endpoint.pop_back();
  if (o.endpoint.empty() || o.repo_id.empty()) return fail(Errc::invalid_argument, "an endpoint and a repository are needed");
  if (o.repo_type != "models" && o.repo_type != "datasets" && o.repo_type != "spaces") {
    return fail(Errc::invalid_argument, "repository type must be models, datasets or spaces");
  }
  if (o.connections == 0 || o.connections > 256) return fail(Errc::invalid_argument, "connections must be 1..256");
  if (o.request_bytes < 4096) o.request_bytes = 4096;
  if (!o.token.empty()) impl->auth.push_back("Authorization: Bearer " + o.token);
  Conn conn;

  // The revision, pinned.
  std::string info_url = o.endpoint + "/api/" + o.repo_type + "/" + o.repo_id + "/revision/" + detail::encode_segment(o.revision);
  HG_TRY(auto info, conn.request("GET", info_url, impl->auth, {}, o.stall_timeout_s));
  if (info.status != 200) return fail(status_errc(info.status), http_error("GET " + info_url, info));
  auto ij = json::parse(info.body, nullptr, false);
  if (ij.is_discarded() || !ij.is_object() || !ij.contains("sha") || !ij["sha"].is_string()) {
    return fail(Errc::corrupt, "GET " + info_url + ": no commit sha in the answer");
  }
  impl->commit = ij["sha"].get<std::string>();
  std::vector<std::string> siblings;
  if (ij.contains("siblings") && ij["siblings"].is_array()) {
    for (const auto& s : ij["siblings"])
      if (s.is_object() && s.contains("rfilename") && s["rfilename"].is_string()) siblings.push_back(s["rfilename"].get<std::string>());
  }
  std::vector<std::string> names = o.filenames;
  if (names.empty()) {
    std::optional<std::string> index;
    if (std::find(siblings.begin(), siblings.end(), "model.safetensors.index.json") != siblings.end()) {
      std::string url = detail::resolve_url(o.endpoint, o.repo_type, o.repo_id, impl->commit, "model.safetensors.index.json");
      HG_TRY(auto r, conn.request("GET", url, impl->auth, {}, o.stall_timeout_s));
      if (r.status != 200) return fail(status_errc(r.status), http_error("GET " + url, r));
      index = std::move(r.body);
    }
    HG_TRY(names, pick_safetensors(siblings, index ? &*index : nullptr));
    if (names.empty()) return fail(Errc::not_found, o.repo_id + "@" + o.revision + " has no safetensors file");
  }

  // Each file: size and digest, then its header.
  for (const auto& name : names) {
    FileInfo f;
    f.path = name;
    std::string url = detail::resolve_url(o.endpoint, o.repo_type, o.repo_id, impl->commit, name);
    HG_TRY(auto head, conn.request("HEAD", url, impl->auth, {}, o.stall_timeout_s));
    if (head.status != 200) return fail(status_errc(head.status), http_error("HEAD " + url, head));
    auto size_text = head.header("x-linked-size");
    // Content-Length of the final answer (after redirects) is the size of the bytes served.
    std::optional<std::string> length;
    for (const auto& [k, v] : head.headers)
      if (k == "content-length") length = v;
    if (!size_text) size_text = length;
    auto size = size_text ? parse_u64(*size_text) : std::nullopt;
    if (!size) return fail(Errc::corrupt, "HEAD " + url + ": no file size");
    f.size = *size;
    if (auto le = head.header("x-linked-etag"); le && is_hex(unquote_etag(*le), 64)) f.sha256 = unquote_etag(*le);
    else if (auto e = head.header("etag")) {
      std::string v = unquote_etag(*e);
      if (is_hex(v, 64)) f.sha256 = v;
      else if (is_hex(v, 40)) f.git_sha1 = v;
    }
    if (o.verify && f.sha256.empty() && f.git_sha1.empty()) {
      return fail(Errc::unsupported, name + ": the server gives no sha256 (X-Linked-Etag) or git blob id (ETag) to verify against");
    }
    std::string file_url = head.effective_url.empty() ? url : head.effective_url;
    if (f.size < 8) return fail(Errc::corrupt, name + ": safetensors: file is " + std::to_string(f.size) + " bytes, shorter than the 8-byte header length");
    HG_TRY(auto first, read_range(conn, file_url, impl->auth, 0, std::min(f.size, kFirstRead), o.stall_timeout_s));
    ByteReader br(as_bytes(first), "safetensors");
    std::uint64_t n = *br.u64le();
    if (n <= scan::kSafetensorsMaxHeader && n <= f.size - 8 && 8 + n > first.size()) {
      HG_TRY(auto more, read_range(conn, file_url, impl->auth, first.size(), 8 + n - first.size(), o.stall_timeout_s));
      first += more;
    }
    std::vector<scan::LayoutFinding> findings;
    f.layout = scan::check_safetensors_layout(as_bytes(first), f.size, findings);
    if (!findings.empty()) {
      const auto& x = findings.front();
      std::string more = findings.size() > 1 ? " (and " + std::to_string(findings.size() - 1) + " more findings)" : "";
      return fail(Errc::corrupt, name + ": safetensors: " + x.message + " [" + x.rule + "]" + more);
    }
    f.header = first.substr(0, 8 + f.layout.header_len);
    impl->file_urls.push_back(file_url);
    impl->files.push_back(std::move(f));
  }

  // The tensors, in file order then data order.
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < impl->files.size(); ++i) {
    const FileInfo& f = impl->files[i];
    for (const auto& t : f.layout.tensors) {
      if (!seen.emplace(t.name, i).second) {
        return fail(Errc::corrupt, "tensor '" + t.name + "' is in both " + impl->files[seen[t.name]].path + " and " + f.path);
      }
      TensorInfo ti;
      ti.name = t.name;
      ti.file = i;
      ti.dtype = t.dtype;
      ti.shape = t.shape;
      ti.offset = 8 + f.layout.header_len + t.begin;
      ti.nbytes = t.end - t.begin;
      impl->tensors.push_back(std::move(ti));
    }
    impl->file_last.push_back(impl->tensors.size());
  }
  impl->stats.resize(impl->files.size());
  for (std::size_t i = 0; i < impl->files.size(); ++i) impl->stats[i].bytes = impl->files[i].size;
  return std::unique_ptr<Stream>(new Stream(std::move(impl)));
}

}  // namespace hubgate::loader
