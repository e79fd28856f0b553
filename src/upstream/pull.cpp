// `hubgate pull REPO[@REV] --endpoint URL [--include GLOB]... [--token T] [--type T] [--jobs N]`:
// asks a gateway to fill its cache with a snapshot. The revision is pinned to a commit first
// (`/api/{t}/{repo}/revision/{rev}`), the tree is walked (`tree/{commit}?recursive=true`,
// following `Link: rel="next"`), then every file matching an --include glob (all files when
// none is given) is downloaded through `resolve/{commit}/{path}` by `--jobs` workers; the bytes
// are hashed and discarded. Sizes (and sha256 for LFS files) are checked against the tree, so a
// pull also proves the gateway serves correct bytes. A progress line is drawn when stderr is a
// terminal. Exit status: 0 all files fetched and verified, 1 some failed, 2 usage.
#include <fnmatch.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/sha.hpp"
#include "upstream/client.hpp"
#include "upstream/resolver.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

namespace hubgate {

namespace {

using json = nlohmann::json;

constexpr const char* kUsage =
    "usage: hubgate pull REPO[@REV] --endpoint URL [--include GLOB]... [--token T]\n"
    "                    [--type models|datasets|spaces] [--jobs N]\n"
    "  Fills a gateway's cache with a snapshot: walks the tree at REV (default main) and\n"
    "  downloads every file (or those matching an --include glob) through the gateway,\n"
    "  verifying sizes and LFS sha256, discarding the bytes.\n";

struct Item {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;  // LFS files
};

}  // namespace

int pull_main(int argc, char** argv) {
  std::string spec, endpoint, token, type = "models";
  std::vector<std::string> includes;
  unsigned jobs = 4;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--endpoint") {
      if (!value(endpoint)) break;
    } else if (a == "--token") {
      if (!value(token)) break;
    } else if (a == "--type") {
      if (!value(type)) break;
    } else if (a == "--include") {
      if (!value(v)) break;
      includes.push_back(v);
    } else if (a == "--jobs") {
      if (!value(v)) break;
      auto n = parse_u64(v);
      if (!n || *n == 0 || *n > 64) {
        std::fputs("hubgate pull: --jobs wants 1..64\n", stderr);
        return 2;
      }
      jobs = static_cast<unsigned>(*n);
    } else if (!a.starts_with("--") && spec.empty()) {
      spec = a;
    } else {
      std::fprintf(stderr, "hubgate pull: unexpected argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (spec.empty() || endpoint.empty() || (type != "models" && type != "datasets" && type != "spaces")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  while (endpoint.ends_with("/")) endpoint.pop_back();
  std::string repo = spec, rev = "main";
  if (auto at = spec.find('@'); at != std::string::npos) {
    repo = spec.substr(0, at);
    rev = spec.substr(at + 1);
  }
  upstream::RepoRef ref{type, repo};
  upstream::Headers auth;
  if (!token.empty()) auth.emplace_back("Authorization", "Bearer " + token);
  upstream::ClientOptions co;
  co.max_retry_wait = std::chrono::milliseconds(10000);
  upstream::Client client(co);
  auto get_json = [&](const std::string& url, std::string* link_next) -> Result<json> {
    upstream::HttpRequest r;
    r.url = url;
    r.headers = auth;
    HG_TRY(auto resp, client.send(r));
    if (resp.status != 200) {
      std::string msg = resp.header("x-error-message") ? *resp.header("x-error-message") : resp.body.substr(0, 200);
      return fail(Errc::unavailable, "GET " + url + ": " + std::to_string(resp.status) + " " + msg);
    }
    if (link_next) {
      link_next->clear();
      if (const auto* l = resp.header("link"); l && l->find("rel=\"next\"") != std::string::npos) {
        auto lt = l->find('<'), gt = l->find('>');
        if (lt != std::string::npos && gt != std::string::npos && lt < gt) *link_next = l->substr(lt + 1, gt - lt - 1);
      }
    }
    auto j = json::parse(resp.body, nullptr, false);
    if (j.is_discarded()) return fail(Errc::corrupt, "GET " + url + ": not JSON");
    return j;
  };

  auto info = get_json(endpoint + "/api/" + type + "/" + repo + "/revision/" + upstream::encode_segment(rev), nullptr);
  if (!info || !info->contains("sha") || !(*info)["sha"].is_string()) {
    std::fprintf(stderr, "hubgate pull: %s\n", info ? "revision info without sha" : info.error().message.c_str());
    return 1;
  }
  std::string commit = (*info)["sha"].get<std::string>();
  std::vector<Item> items;
  std::string url = endpoint + "/api/" + type + "/" + repo + "/tree/" + commit + "?recursive=true";
  for (int page = 0; !url.empty() && page < 100000; ++page) {
    std::string next;
    auto arr = get_json(url, &next);
    if (!arr || !arr->is_array()) {
      std::fprintf(stderr, "hubgate pull: %s\n", arr ? "tree is not an array" : arr.error().message.c_str());
      return 1;
    }
    for (const auto& e : *arr) {
      if (!e.is_object() || e.value("type", "") != "file" || !e.contains("path") || !e["path"].is_string()) continue;
      Item it;
      it.path = e["path"].get<std::string>();
      it.size = e.value("size", std::uint64_t{0});
      if (e.contains("lfs") && e["lfs"].is_object()) it.sha256 = e["lfs"].value("oid", "");
      bool want = includes.empty();
      for (const auto& g : includes)
        if (::fnmatch(g.c_str(), it.path.c_str(), 0) == 0) want = true;
      if (want) items.push_back(std::move(it));
    }
    url = next;
  }

  std::uint64_t total = 0;
  for (const auto& it : items) total += it.size;
  std::atomic<std::size_t> next_item{0}, done_files{0}, failed{0};
  std::atomic<std::uint64_t> done_bytes{0};
  std::mutex out_mu;
  bool tty = ::isatty(2);
  auto t0 = std::chrono::steady_clock::now();
  auto progress = [&](bool final) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double mib = done_bytes.load() / 1048576.0;
    std::fprintf(stderr, "%s[%zu/%zu files] %.1f / %.1f MiB  %.1f MiB/s%s", tty ? "\r" : "", done_files.load(),
                 items.size(), mib, total / 1048576.0, s > 0 ? mib / s : 0.0, final || !tty ? "\n" : "");
  };
  auto worker = [&] {
    for (;;) {
      std::size_t i = next_item++;
      if (i >= items.size()) return;
      const Item& it = items[i];
      upstream::HttpRequest r;
      r.url = endpoint + "/" + ref.url_prefix() + repo + "/resolve/" + commit + "/" + upstream::encode_path(it.path);
      r.headers = auth;
      crypto::Sha256 sha;
      std::uint64_t got = 0;
      upstream::BodySink sink;
      sink.on_data = [&](ByteView b) {
        sha.update(b);
        got += b.size();
        done_bytes += b.size();
        return true;
      };
      auto resp = client.send(r, &sink);
      std::string err;
      if (!resp) err = resp.error().message;
      else if (resp->status != 200) err = "status " + std::to_string(resp->status);
      else if (got != it.size) err = "got " + std::to_string(got) + " bytes, tree says " + std::to_string(it.size);
      else if (!it.sha256.empty() && to_hex(sha.final()) != it.sha256) err = "sha256 mismatch";
      std::lock_guard lock(out_mu);
      if (!err.empty()) {
        failed++;
        std::fprintf(stderr, "%shubgate pull: %s: %s\n", tty ? "\n" : "", it.path.c_str(), err.c_str());
      }
      done_files++;
      if (tty) progress(false);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < std::min<std::size_t>(jobs, std::max<std::size_t>(items.size(), 1)); ++j) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  progress(true);
  std::printf("pulled %s@%s (%s): %zu files, %llu bytes, %zu failed\n", repo.c_str(), rev.c_str(), commit.c_str(),
              items.size() - failed.load(), static_cast<unsigned long long>(total), failed.load());
  return failed.load() == 0 ? 0 : 1;
}

}  // namespace hubgate
