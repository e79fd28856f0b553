// Edge: Hub API answers for remote repositories.
//
// resolve: metadata from the Resolver (HEAD upstream, or cache) -> headers exactly like a local
// repository's (ETag, X-Linked-*, X-Repo-Commit) -> body from the blob cache (sendfile, pinned
// through a shared FileHandle whose deleter releases the pin) or from a Fill (FillProducer,
// fill_producer.cpp: each pull() delivers the next bytes as soon as the fill has them, waiting
// through a fill subscription, never by blocking a server thread). A Range request that starts
// more than `far_range_bytes` beyond what the fill has reached is answered by its own upstream
// range request (RangeFetch, streamed through a queue from a transfer thread) while the fill
// goes on.
// HEAD never starts a fill.
#include "upstream/edge.hpp"

#include <unistd.h>

#include <deque>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/sha.hpp"
#include "http/range.hpp"
#include "http/url.hpp"
#include "repo/git.hpp"
#include "sign/gate.hpp"
#include "upstream/body_chunks.hpp"

namespace hubgate::upstream {

using json = nlohmann::json;

http::Response error_response(int status, std::string_view code, const std::string& msg) {
  auto res = http::json_response(status, json{{"error", msg}}.dump(-1, ' ', false, json::error_handler_t::replace));
  std::string m;
  for (char ch : msg) m += (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ? ' ' : ch;
  res.headers.set("X-Error-Message", m.substr(0, 1000));
  if (!code.empty()) res.headers.set("X-Error-Code", std::string(code));
  return res;
}

namespace {

http::Response from_error(const Error& e) {
  switch (e.code) {
    case Errc::unavailable:
      return error_response(503, "UpstreamUnavailable", "upstream unavailable and not cached: " + e.message);
    case Errc::invalid_argument:
      return error_response(400, "", e.message);
    case Errc::limit_exceeded:
      return error_response(413, "", e.message);
    default:
      return error_response(502, "UpstreamError", e.message);
  }
}

// Waits for a cold fill to end (download, hash check, scan) — or, when `whole` is false, only
// for the gate's early phase (FillStatus::early: the file streams, or its early verdict found
// nothing) — then asks the gate again when the fill ended: the response to send instead (the
// gate's 403, or the fill's own error), or nullopt to serve it, with the gate's headers (a
// warning) added to `res`. Stops waiting, and lets the response stream as before, when the fill
// makes no progress for `stall`.
std::optional<http::Response> await_verdict(Fill& fill, bool whole,
                                            const std::function<ServeCheck(const ServeQuery&)>& check,
                                            const ServeQuery& q, http::Response& res, const std::string& commit,
                                            std::chrono::milliseconds stall) {
  FillStatus st = fill.status();
  auto last_progress = std::chrono::steady_clock::now();
  std::uint64_t seen = st.available;
  while (st.state == FillState::running && (whole || !st.early)) {
    st = whole ? fill.wait_beyond(fill.size(), std::chrono::milliseconds(500))
               : fill.wait_early(std::chrono::milliseconds(500));
    auto now = std::chrono::steady_clock::now();
    if (st.available != seen) {
      seen = st.available;
      last_progress = now;
    } else if (now - last_progress > stall) {
      return std::nullopt;
    }
  }
  if (st.state == FillState::running) return std::nullopt;  // early phase over: stream under the hold
  ServeCheck after = check(q);
  if (after.refusal) {
    after.refusal->headers.set("X-Repo-Commit", commit);
    return std::move(after.refusal);
  }
  if (st.state == FillState::failed) {
    const Error e = st.error.value_or(Error(Errc::io, "fill failed"));
    http::Response r = e.code == Errc::permission_denied
                           ? error_response(403, "BlockedBySecurityPolicy", e.message)
                           : from_error(e);
    r.headers.set("X-Repo-Commit", commit);
    return r;
  }
  for (auto& [k, v] : after.headers) res.headers.set(k, v);
  return std::nullopt;
}

http::Response from_refusal(const Refusal& r) {
  auto res = error_response(r.status, r.error_code, r.message);
  if (!r.repo_commit.empty()) res.headers.set("X-Repo-Commit", r.repo_commit);
  if (!r.retry_after.empty()) res.headers.set("Retry-After", r.retry_after);
  return res;
}

// "http://up/api/models/x/tree/<c>?cursor=…" -> "<base>/api/models/x/tree/<c>?cursor=…"
std::string rebase_link(const std::string& url, const std::string& base) {
  auto p = url.find("/api/");
  if (p == std::string::npos) return "";
  return base + url.substr(p);
}

Result<void> check_path(std::string_view path) {
  if (path.empty()) return fail(Errc::not_found, "no file path given");
  if (path.front() == '/' || path.find('\\') != std::string_view::npos || path.find('\0') != std::string_view::npos)
    return fail(Errc::invalid_argument, "invalid file path");
  std::size_t start = 0;
  for (;;) {
    auto slash = path.find('/', start);
    auto seg = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return fail(Errc::invalid_argument, "invalid file path segment");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

}  // namespace

// ------------------------------------------------------------------ RangeFetch

// One upstream range request streamed to one client, for a range far ahead of a running fill.
// The transfer runs on its own thread (the client is blocking) and queues what it receives,
// at most kMaxQueued bytes (then it waits: the client's pace throttles the transfer). The
// producer hands queued bytes out; a pull that finds nothing waits as the fill producer does.
struct RangeFetch {
  static constexpr std::size_t kMaxQueued = 4u << 20;
  std::mutex mu;
  std::condition_variable space;
  std::deque<std::string> queue;
  std::size_t queued = 0;
  bool done = false;
  std::optional<Error> error;
  std::function<void(http::Chunk)> waiting;  // a pull that found nothing
  std::atomic<bool> cancel{false};

  // Transfer side: queue bytes (blocks while the queue is full); false once cancelled.
  bool push(ByteView b) {
    std::function<void(http::Chunk)> deliver;
    http::Chunk c;
    {
      std::unique_lock lock(mu);
      space.wait(lock, [&] { return queued < kMaxQueued || cancel.load(); });
      if (cancel.load()) return false;
      if (waiting) {
        deliver = std::move(waiting);
        waiting = nullptr;
        c.data.assign(reinterpret_cast<const char*>(b.data()), b.size());
      } else {
        queue.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
        queued += b.size();
      }
    }
    if (deliver) deliver(std::move(c));
    return true;
  }
  void finish(std::optional<Error> e) {
    std::function<void(http::Chunk)> deliver;
    {
      std::lock_guard lock(mu);
      done = true;
      error = std::move(e);
      deliver = std::move(waiting);
      waiting = nullptr;
    }
    if (deliver) deliver(error ? error_chunk(*error) : end_chunk());
  }
  // Producer side.
  void pull(std::function<void(http::Chunk)> deliver) {
    http::Chunk c;
    {
      std::lock_guard lock(mu);
      if (queue.empty()) {
        if (!done) {
          waiting = std::move(deliver);
          return;
        }
        c = error ? error_chunk(*error) : end_chunk();
      } else {
        while (!queue.empty() && c.data.size() < (1u << 20)) {
          c.data += queue.front();
          queued -= queue.front().size();
          queue.pop_front();
        }
      }
    }
    space.notify_all();
    deliver(std::move(c));
  }
};

namespace {

class RangeProducer final : public http::BodyProducer {
 public:
  explicit RangeProducer(std::shared_ptr<RangeFetch> f) : f_(std::move(f)) {}
  ~RangeProducer() override {
    f_->cancel.store(true);
    f_->space.notify_all();
  }
  void pull(std::function<void(http::Chunk)> deliver) override { f_->pull(std::move(deliver)); }

 private:
  std::shared_ptr<RangeFetch> f_;
};

}  // namespace

std::shared_ptr<http::BodyProducer> Edge::start_range_fetch(const FillSpec& spec, std::uint64_t first,
                                                            std::uint64_t length) {
  auto f = std::make_shared<RangeFetch>();
  {
    std::lock_guard lock(range_mu_);
    range_threads_++;
  }
  metrics_.range_fetches.fetch_add(1, std::memory_order_relaxed);
  std::thread([this, f, spec, first, length] {
    std::uint64_t got = 0;
    auto r = source_->fetch_range(
        spec, first, length,
        [&](ByteView b) {
          if (b.empty()) return true;
          b = b.subspan(0, static_cast<std::size_t>(std::min<std::uint64_t>(b.size(), length - got)));
          got += b.size();
          if (!b.empty() && !f->push(b)) return false;
          return got < length;  // stop an upstream that ignored the end of the range
        },
        f->cancel);
    if (got == length) f->finish(std::nullopt);
    else f->finish(r ? Error(Errc::unavailable, "upstream range ended early") : r.error());
    std::lock_guard lock(range_mu_);
    range_threads_--;
    range_cv_.notify_all();
  }).detach();
  {
    // Let the destructor cancel it (it waits for range_threads_ to reach 0).
    std::lock_guard lock(range_mu_);
    std::erase_if(ranges_, [](const std::weak_ptr<RangeFetch>& w) { return w.expired(); });
    ranges_.push_back(f);
  }
  return std::make_shared<RangeProducer>(f);
}

Result<std::pair<std::string, std::string>> split_remote_rev(std::string_view raw_rest) {
  std::vector<std::string_view> segs;
  std::size_t start = 0;
  for (;;) {
    auto slash = raw_rest.find('/', start);
    segs.push_back(raw_rest.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::size_t take = 1;
  if (segs.size() >= 3 && segs[0] == "refs" && (segs[1] == "pr" || segs[1] == "heads" || segs[1] == "tags")) take = 3;
  std::string rev_raw, path_raw;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    std::string& out = i < take ? rev_raw : path_raw;
    if (!out.empty() || (i != 0 && i != take)) out += '/';
    out += segs[i];
  }
  HG_TRY(std::string rev, http::percent_decode(rev_raw));
  HG_TRY(std::string path, http::percent_decode(path_raw));
  if (rev.empty()) return fail(Errc::invalid_argument, "empty revision");
  return std::pair{rev, path};
}

Result<std::unique_ptr<Edge>> Edge::create(EdgeOptions o) {
  if (o.upstream.empty()) return fail(Errc::invalid_argument, "edge: no upstream URL");
  if (o.cache_dir.empty()) return fail(Errc::invalid_argument, "edge: no cache folder");
  std::unique_ptr<Edge> e(new Edge(o));
  ClientOptions co;
  co.stall_timeout = o.stall_timeout;
  e->client_ = std::make_unique<Client>(co, &e->metrics_);
  HG_TRY(e->meta_, MetaStore::open_dir(o.cache_dir + "/meta"));
  HG_TRY(e->cache_, DiskBlobCache::open_dir({o.cache_dir + "/blobs", o.cache_max_bytes}, &e->metrics_));
  e->source_ = std::make_unique<HttpByteSource>(*e->client_);
  ResolverOptions ro;
  ro.base_url = o.upstream;
  ro.gateway_token = o.upstream_token;
  ro.ref_ttl = o.ref_ttl;
  ro.auth_ttl = o.auth_ttl;
  ro.offline = o.offline;
  ro.filter = o.filter;
  e->resolver_ = std::make_unique<Resolver>(ro, *e->client_, *e->meta_, &e->metrics_);
  FillOptions fo;
  fo.gate = o.fill_gate;  // security gate hooks
  ByteSource* fill_source = e->source_.get();
  if (o.xet_fill) {  // Xet pull-through (xet_fill.hpp)
    xet::ChunkStore* chunks = o.xet_chunks;
    if (!chunks) {
      HG_TRY(auto objs, xet::LocalObjectStore::open(o.cache_dir + "/xet/objects"));
      std::shared_ptr<xet::LocalObjectStore> objects(std::move(objs));
      HG_TRY(e->own_chunks_, xet::ChunkStore::open(objects));
      chunks = e->own_chunks_.get();
    }
    HG_TRY(e->xet_index_, XetIndex::open(o.cache_dir + "/xet_index.db"));
    XetFillOptions xo;
    xo.on_committed = o.xet_committed;
    e->xet_source_ = std::make_unique<XetByteSource>(*e->client_, *e->source_, *chunks, *e->xet_index_, &e->metrics_, xo);
    fill_source = e->xet_source_.get();
  }
  if (o.wrap_source) {
    e->cluster_source_ = o.wrap_source(*fill_source);
    fill_source = e->cluster_source_.get();
  }
  e->fills_ = std::make_unique<FillRegistry>(*e->cache_, *fill_source, &e->metrics_, fo);
  return e;
}

Edge::~Edge() {
  {
    std::unique_lock lock(range_mu_);
    for (auto& w : ranges_) {
      if (auto f = w.lock()) {
        f->cancel.store(true);
        f->space.notify_all();
      }
    }
    range_cv_.wait(lock, [&] { return range_threads_ == 0; });
  }
  fills_.reset();
}

http::Response Edge::json_passthrough(Result<Answer<JsonReply>> r, const std::string& base_url, bool strip_xet) {
  if (!r) return from_error(r.error());
  if (r->refusal) return from_refusal(*r->refusal);
  std::string body = std::move(r->value->body);
  if (strip_xet || opt_.security_status) {
    auto j = json::parse(body, nullptr, false);
    if (j.is_array()) {
      for (auto& e : j)
        if (strip_xet && e.is_object()) e.erase("xetHash");
      // Security gate: in expanded entries (they carry lastCommit), the edge's own verdict wins.
      for (auto& e : j) {
        if (!opt_.security_status || !e.is_object() || e.value("type", "") != "file" || !e.contains("lastCommit")) continue;
        std::string key = e.contains("lfs") && e["lfs"].is_object() && e["lfs"].contains("oid") && e["lfs"]["oid"].is_string()
                              ? e["lfs"]["oid"].get<std::string>()
                              : e.contains("oid") && e["oid"].is_string() ? "gitsha1:" + e["oid"].get<std::string>() : "";
        if (key.empty()) continue;
        if (auto st = opt_.security_status(key)) {
          auto parsed = json::parse(*st, nullptr, false);
          if (parsed.is_object()) e["securityFileStatus"] = std::move(parsed);
        }
      }
      body = j.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  auto res = http::json_response(200, std::move(body));
  res.headers.set("X-Repo-Commit", r->value->commit);
  if (r->stale) res.headers.set("X-Hubgate-Stale", "1");
  if (!r->value->link_next.empty()) {
    if (auto link = rebase_link(r->value->link_next, base_url); !link.empty())
      res.headers.set("Link", "<" + link + ">; rel=\"next\"");
  }
  return res;
}

http::Response Edge::list(const http::Request& req, const std::string& plural, std::string_view query) {
  if (opt_.offline) return error_response(503, "UpstreamUnavailable", "offline: no upstream listing");
  HttpRequest hr;
  hr.url = opt_.upstream + "/api/" + plural + (query.empty() ? "" : "?" + std::string(query));
  if (auto a = req.headers.get("Authorization")) hr.headers.emplace_back("Authorization", std::string(*a));
  hr.headers.emplace_back("Accept-Encoding", "identity");
  auto resp = client_->send(hr);
  if (!resp) return error_response(503, "UpstreamUnavailable", "upstream listing: " + resp.error().message);
  if (resp->status == 401 || resp->status == 403)
    return error_response(int(resp->status), "", "upstream refused the listing (" + std::to_string(resp->status) + ")");
  if (resp->status != 200)
    return error_response(503, "UpstreamUnavailable", "upstream listing answered " + std::to_string(resp->status));
  auto j = json::parse(resp->body, nullptr, false);
  if (!j.is_array()) return error_response(503, "UpstreamUnavailable", "upstream listing is not a JSON array");
  json out = json::array();
  for (auto& item : j) {
    if (!item.is_object() || !item.contains("id") || !item["id"].is_string()) continue;
    RepoRef ref{plural, item["id"].get<std::string>()};
    if (!resolver_->permits(ref)) continue;
    item["cached"] = resolver_->knows(ref);
    out.push_back(std::move(item));
  }
  auto res = http::json_response(200, out.dump(-1, ' ', false, json::error_handler_t::replace));
  if (const auto* link = resp->header("link"); link && link->find("rel=\"next\"") != std::string::npos) {
    auto lt = link->find('<'), gt = link->find('>');
    std::string url = lt != std::string::npos && gt != std::string::npos && lt < gt ? link->substr(lt + 1, gt - lt - 1) : "";
    auto q = url.find('?');
    std::string_view rest = q == std::string::npos ? std::string_view{} : std::string_view(url).substr(q + 1);
    while (!rest.empty()) {
      auto amp = rest.find('&');
      std::string_view kv = rest.substr(0, amp);
      if (kv.starts_with("cursor=")) res.headers.set("X-Hubgate-Upstream-Cursor", std::string(kv.substr(7)));
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  return res;
}

http::Response Edge::handle(std::string_view route, http::Request& req, const std::string& type_plural,
                            const std::string& repo_id, std::string_view raw_rest, const std::string& base_url) {
  if (route == "list") return list(req, type_plural, raw_rest);  // repository listings (hub/listing.cpp)
  RepoRef repo{type_plural, repo_id};
  // Canonical names and renames first (edge_moved.cpp): the client is sent to the current id.
  if (auto moved = redirect_if_moved(route, req, repo, raw_rest)) return std::move(*moved);
  auto res = handle_repo(route, req, repo, raw_rest, base_url);
  // An upstream answer revealed a rename (Refusal::moved_to): the mapping is known now.
  if (res.status == 307) {
    if (auto moved = redirect_if_moved(route, req, repo, raw_rest)) return std::move(*moved);
  }
  return res;
}

http::Response Edge::handle_repo(std::string_view route, http::Request& req, const RepoRef& repo,
                                 std::string_view raw_rest, const std::string& base_url) {
  std::string auth(req.headers.get("Authorization").value_or(""));
  if (route == "resolve" || route == "raw") return resolve(req, repo, raw_rest, route == "raw", base_url);
  if (route == "xet_read_token") return xet_read_token(req, repo, raw_rest, base_url);
  if (route == "info") {
    auto rev = http::percent_decode(raw_rest);
    if (!rev) return error_response(400, "", rev.error().message);
    auto r = resolver_->info(repo, *rev, auth);
    std::shared_ptr<const sign::GateVerdict> sig;  // signature policy (edge_signature.cpp)
    if (r && r->value) {
      if (auto refused = check_signature(repo, r->value->commit, auth, &sig)) return std::move(*refused);
      if (sig) {
        auto j = json::parse(r->value->body, nullptr, false);
        if (j.is_object()) {
          j["hubgateSignature"] = sign::verdict_json(*sig);
          r->value->body = j.dump(-1, ' ', false, json::error_handler_t::replace);
        }
      }
    }
    return json_passthrough(std::move(r), base_url, false);
  }
  if (route == "tree") {
    auto rp = split_remote_rev(raw_rest);
    if (!rp) return error_response(400, "", rp.error().message);
    std::string path = rp->second;
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (!path.empty()) {
      if (auto v = check_path(path); !v) return error_response(400, "", v.error().message);
    }
    auto r = resolver_->tree(repo, rp->first, path, req.query, auth);
    if (r && r->value) {
      if (auto refused = check_signature(repo, r->value->commit, auth, nullptr)) return std::move(*refused);
      if (serves_xet()) remember_xet_listing(repo, r->value->commit, r->value->body);
    }
    return json_passthrough(std::move(r), base_url, !serves_xet());
  }
  if (route == "paths_info") {
    auto rev = http::percent_decode(raw_rest);
    if (!rev) return error_response(400, "", rev.error().message);
    auto body = req.body.read_all(64ull << 20);
    if (!body) return error_response(413, "", body.error().message);
    std::string ctype(req.headers.get("Content-Type").value_or(""));
    auto r = resolver_->paths_info(repo, *rev, *body, ctype, auth);
    if (r && r->value) {
      if (auto refused = check_signature(repo, r->value->commit, auth, nullptr)) return std::move(*refused);
      if (serves_xet()) remember_xet_listing(repo, r->value->commit, r->value->body);
    }
    return json_passthrough(std::move(r), base_url, !serves_xet());
  }
  return error_response(404, "", "no such route for a remote repository");
}

http::Response Edge::resolve(http::Request& req, const RepoRef& repo, std::string_view raw_rest, bool raw,
                             const std::string& base_url) {
  std::string auth(req.headers.get("Authorization").value_or(""));
  auto rp = split_remote_rev(raw_rest);
  if (!rp) return error_response(400, "", rp.error().message);
  const auto& [rev, path] = *rp;
  if (auto v = check_path(path); !v) {
    return v.error().code == Errc::not_found ? error_response(404, "EntryNotFound", v.error().message)
                                             : error_response(400, "", v.error().message);
  }
  if (path == sign::kCountersignaturePath && opt_.signatures && opt_.signatures->countersigns())
    return countersignature(repo, rev, auth);  // this gateway's own (edge_signature.cpp)
  auto ans = resolver_->file(repo, rev, path, auth);
  if (!ans) return from_error(ans.error());
  if (ans->refusal) return from_refusal(*ans->refusal);
  const FileMeta& meta = *ans->value;
  std::shared_ptr<const sign::GateVerdict> sig;  // signature policy (edge_signature.cpp)
  if (auto refused = check_signature(repo, meta.commit, auth, &sig)) return std::move(*refused);
  if (sig) {
    if (auto refused = check_signed_file(*sig, meta)) return std::move(*refused);
  }

  http::Response res;
  res.headers.set("X-Repo-Commit", meta.commit);
  res.headers.set("Accept-Ranges", "bytes");
  res.headers.set("Content-Type", "application/octet-stream");
  if (ans->stale) res.headers.set("X-Hubgate-Stale", "1");
  std::uint64_t size = meta.size;
  std::string pointer;
  std::string blob_sha1 = meta.git_oid;
  if (raw && meta.sha256) {
    pointer = repo::lfs_pointer(*meta.sha256, meta.size);
    size = pointer.size();
    blob_sha1 = crypto::git_blob_sha1_hex(pointer);
  }
  for (auto& [k, v] : repo::version_headers(raw, meta.sha256.value_or(""), meta.size, blob_sha1))
    res.headers.set(k, std::move(v));
  // Xet for the edge's clients (edge_xet.cpp): advertise this edge's own token route and CAS.
  const bool xet_file = serves_xet() && !raw && meta.xet_hash && meta.size > 0 && add_xet_headers(res, repo, meta, base_url);

  // Security gate (ServeQuery/ServeCheck in edge.hpp): a known verdict decides before any byte.
  ServeQuery gq;
  ServeCheck gate_check;
  if (opt_.serve_check && pointer.empty()) {
    gq.repo = repo.type == "models" ? repo.id : repo.type + "/" + repo.id;
    gq.commit = meta.commit;
    gq.path = path;
    gq.key = meta.sha256 ? *meta.sha256 : "gitsha1:" + meta.git_oid;
    gq.request = &req;
    gate_check = opt_.serve_check(gq);
    if (gate_check.refusal) {
      gate_check.refusal->headers.set("X-Repo-Commit", meta.commit);
      return std::move(*gate_check.refusal);
    }
    for (auto& [k, v] : gate_check.headers) res.headers.set(k, v);
  }
  if (xet_file && req.headers.get("Accept").value_or("").find("application/vnd.xet-fileinfo+json") != std::string_view::npos) {
    res.status = 200;  // xet-fileinfo mode (spec/hub-api.md §1): no body bytes, no redirect
    res.headers.set("Content-Type", "application/vnd.xet-fileinfo+json");
    res.body = json{{"hash", *meta.xet_hash}, {"size", meta.size}, {"etag", meta.etag()},
                    {"refreshUrl", base_url + "/api/" + repo.type + "/" + repo.id + "/xet-read-token/" + meta.commit},
                    {"reconstructionUrl", base_url + "/cas/v1/reconstructions/" + *meta.xet_hash}}
                   .dump();
    return res;
  }

  auto sel = http::select_range(req.headers.get("Range"), size);
  if (!sel) return error_response(400, "", sel.error().message);
  if (sel->status == 416) {
    auto e = error_response(416, "", "range not satisfiable for a file of " + std::to_string(size) + " bytes");
    e.headers.set("Content-Range", *sel->content_range);
    e.headers.set("X-Repo-Commit", meta.commit);
    return e;
  }
  res.status = sel->status;
  if (sel->content_range) res.headers.set("Content-Range", *sel->content_range);
  const std::uint64_t first = sel->first, length = sel->length;
  if (size == 0) {
    res.body = std::string();
    return res;
  }
  if (!pointer.empty()) {
    res.body = pointer.substr(static_cast<std::size_t>(first), static_cast<std::size_t>(length));
    return res;
  }
  if (req.method == "HEAD") {
    res.body = make_fill_producer(nullptr, 0, 0, &metrics_);  // never pulled: no fill for HEAD
    res.producer_length = length;
    return res;
  }

  FillSpec spec = resolver_->fill_spec(repo, meta, auth);
  if (opt_.serve_check) spec.origin = FillOrigin{gq.repo, meta.commit, path, "anonymous", req.client};
  auto acquired = fills_->acquire(spec);
  if (!acquired) return from_error(acquired.error());
  if (acquired->cached && opt_.serve_check && pointer.empty() && !gate_check.known) {
    // Cached before the gate knew it: scan the cached body once, then decide.
    gq.cached_fd = acquired->cached->fd();
    gate_check = opt_.serve_check(gq);
    if (gate_check.refusal) {
      gate_check.refusal->headers.set("X-Repo-Commit", meta.commit);
      return std::move(*gate_check.refusal);
    }
    for (auto& [k, v] : gate_check.headers) res.headers.set(k, v);
  }
  if (acquired->cached) {
    metrics_.cache_hits.fetch_add(1, std::memory_order_relaxed);
    metrics_.bytes_served_from_cache.fetch_add(length, std::memory_order_relaxed);
    int fd = ::dup(acquired->cached->fd());
    if (fd < 0) return error_response(500, "", "dup of a cached file failed");
    // The pin lives as long as the server holds the file: no eviction while it is served.
    auto pin = std::make_shared<BlobHandle>(std::move(*acquired->cached));
    std::shared_ptr<http::FileHandle> fh(new http::FileHandle(fd), [pin](http::FileHandle* p) { delete p; });
    res.body = http::FileBody{fh, first, length};
    return res;
  }
  metrics_.cache_misses.fetch_add(1, std::memory_order_relaxed);
  bool verdict_pending = false;
  if (opt_.serve_check && !gate_check.known) {
    // Hold the response head until the verdict (EdgeOptions::hold_head_bytes), or for larger
    // files until the gate's early phase is over (an early verdict refuses with the same 403).
    const bool whole = meta.size <= opt_.hold_head_bytes;
    if (auto held = await_verdict(*acquired->fill, whole, opt_.serve_check, gq, res, meta.commit, opt_.stall_timeout))
      return std::move(*held);
    verdict_pending = acquired->fill->status().state != FillState::complete;
  }
  // A range far ahead of what the fill has reached gets its own upstream request (the fill goes
  // on); a near one waits for the fill. Not when those unverified, unscanned bytes could matter:
  // under a signature policy, or a security gate without a known verdict for this file.
  const bool gate_off = !opt_.fill_gate.early && !opt_.fill_gate.before_publish && !opt_.serve_check;
  const bool far_ok = !opt_.signatures && (gate_off || gate_check.known);
  if (far_ok && sel->status == 206 && first > acquired->fill->status().available + opt_.far_range_bytes) {
    res.body = start_range_fetch(resolver_->fill_spec(repo, meta, auth), first, length);
    res.producer_length = length;
    return res;
  }
  res.body = make_fill_producer(acquired->fill, first, length, &metrics_);
  // Sent before its verdict, the body is chunked: a late block ends it with a line naming the
  // block (blocked_line), which clients that quote the broken framing show.
  if (!verdict_pending) res.producer_length = length;
  return res;
}

}  // namespace hubgate::upstream
