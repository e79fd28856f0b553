// `hubgate push DIR REPO`: uploads a folder as one commit through the Hub HTTP protocol, exactly
// like the official clients: create the repo (409 = exists), preupload to learn each file's
// mode, LFS batch + signed PUT for large/binary files (streamed from disk), then one NDJSON
// commit with small files inline (base64) and LFS files by sha256.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/cli.hpp"
#include "crypto/sha.hpp"
#include "http/client.hpp"
#include "http/url.hpp"
#include "store/store.hpp"
#include "util/atomic_file.hpp"
#include "util/base64.hpp"

namespace hubgate {

namespace {

using json = nlohmann::json;

constexpr const char* kPushUsage = R"(usage: hubgate push DIR REPO --endpoint URL --token TOKEN [options]

  DIR                    folder to upload (every regular file below it, .git excluded)
  REPO                   namespace/name
  --endpoint URL         hub to push to (e.g. http://localhost:8080)
  --token TOKEN          write token (hf_hg_...)
  --revision BRANCH      branch to commit to (default main)
  --message M            commit message (default "Upload with hubgate push")
  --repo-type TYPE       model (default) or dataset
  --private              create the repository as private when it does not exist
)";

struct LocalFile {
  std::string rel, abs;
  std::uint64_t size = 0;
  std::string sha256;
  std::string sample;  // first 512 bytes
  bool lfs = false;
};

Result<std::vector<LocalFile>> scan(const std::string& dir) {
  std::vector<LocalFile> out;
  std::error_code ec;
  auto it = std::filesystem::recursive_directory_iterator(dir, ec);
  if (ec) return fail(Errc::io, "cannot read " + dir + ": " + ec.message());
  for (auto end = std::filesystem::recursive_directory_iterator(); it != end; it.increment(ec)) {
    if (ec) return fail(Errc::io, "cannot read " + dir + ": " + ec.message());
    if (it->is_directory() && it->path().filename() == ".git") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    LocalFile f;
    f.abs = it->path().string();
    f.rel = std::filesystem::relative(it->path(), dir).generic_string();
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const LocalFile& a, const LocalFile& b) { return a.rel < b.rel; });
  return out;
}

struct Client {
  std::string endpoint, token;
  Result<http::ClientResponse> call(const std::string& method, const std::string& path, std::string body,
                                    const std::string& ctype) {
    http::ClientRequest r;
    r.method = method;
    r.url = endpoint + path;
    r.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", ctype}};
    r.body = std::move(body);
    r.timeout_s = 600;
    return http::fetch(r);
  }
};

std::string describe(const http::ClientResponse& r) {
  std::string msg(r.headers.get("X-Error-Message").value_or(""));
  if (msg.empty()) msg = r.body.substr(0, 300);
  return "HTTP " + std::to_string(r.status) + ": " + msg;
}

class ProgressBar {
 public:
  explicit ProgressBar(std::uint64_t total) : total_(total), tty_(isatty(2)), t0_(std::chrono::steady_clock::now()) {}
  void update(std::uint64_t done_before, std::uint64_t now_in_file, const std::string& name) {
    if (!tty_ || total_ == 0) return;
    auto t = std::chrono::steady_clock::now();
    if (t - last_ < std::chrono::milliseconds(100) && done_before + now_in_file < total_) return;
    last_ = t;
    double frac = double(done_before + now_in_file) / double(total_);
    double secs = std::chrono::duration<double>(t - t0_).count();
    double mbps = secs > 0 ? double(done_before + now_in_file) / secs / 1e6 : 0;
    int filled = int(frac * 30);
    std::string bar(std::size_t(filled), '#');
    bar.resize(30, '.');
    std::fprintf(stderr, "\r[%s] %5.1f%% %7.1f MB/s %-30.30s", bar.c_str(), frac * 100, mbps, name.c_str());
  }
  void done() {
    if (tty_ && total_ > 0) std::fputs("\n", stderr);
  }

 private:
  std::uint64_t total_;
  bool tty_;
  std::chrono::steady_clock::time_point t0_, last_{};
};

}  // namespace

int push_main(int argc, char** argv) {
  auto args = cli::parse_args(argc, argv, {"--endpoint", "--token", "--revision", "--message", "--repo-type"},
                              {"--private", "--help"});
  if (args && args->flags.count("--help")) {
    std::fputs(kPushUsage, stdout);
    return 0;
  }
  if (!args || args->positional.size() != 2 || !args->has("--endpoint") || !args->has("--token")) {
    if (!args) std::fprintf(stderr, "hubgate push: %s\n", args.error().message.c_str());
    std::fputs(kPushUsage, stderr);
    return 2;
  }
  auto die = [](const std::string& msg) {
    std::fprintf(stderr, "hubgate push: %s\n", msg.c_str());
    return 1;
  };
  std::string dir = args->positional[0], repo_id = args->positional[1];
  auto slash = repo_id.find('/');
  if (slash == std::string::npos || repo_id.find('/', slash + 1) != std::string::npos) {
    return die("REPO must be namespace/name, got '" + repo_id + "'");
  }
  std::string type = args->get("--repo-type", "model");
  if (type != "model" && type != "dataset") return die("--repo-type must be model or dataset");
  std::string prefix = type == "dataset" ? "datasets/" : "";
  std::string plural = type == "dataset" ? "datasets" : "models";
  std::string revision = args->get("--revision", "main");
  std::string message = args->get("--message", "Upload with hubgate push");
  Client cl{args->get("--endpoint"), args->get("--token")};
  while (!cl.endpoint.empty() && cl.endpoint.back() == '/') cl.endpoint.pop_back();
  http::global_init();

  auto files = scan(dir);
  if (!files) return die(files.error().message);
  if (files->empty()) return die("no files under " + dir);
  std::uint64_t total = 0;
  for (auto& f : *files) {
    auto sha = store::sha256_file(f.abs, &f.size);
    if (!sha) return die(sha.error().message);
    f.sha256 = *sha;
    total += f.size;
    std::FILE* fp = std::fopen(f.abs.c_str(), "rb");
    if (!fp) return die("cannot open " + f.abs);
    char buf[512];
    std::size_t n = std::fread(buf, 1, sizeof buf, fp);
    std::fclose(fp);
    f.sample.assign(buf, n);
  }

  // 1. Create the repository (409: it exists).
  json create = {{"name", repo_id.substr(slash + 1)},
                 {"organization", repo_id.substr(0, slash)},
                 {"type", type},
                 {"private", args->flags.count("--private") > 0}};
  auto cr = cl.call("POST", "/api/repos/create", create.dump(), "application/json");
  if (!cr) return die(cr.error().message);
  if (cr->status != 200 && cr->status != 409) return die("create repository: " + describe(*cr));

  std::string rev_enc = http::percent_encode(revision, false);
  std::string api = "/api/" + plural + "/" + repo_id;
  // 2. Preupload, 100 files per call.
  for (std::size_t i = 0; i < files->size(); i += 100) {
    json req = {{"files", json::array()}};
    for (std::size_t k = i; k < std::min(files->size(), i + 100); ++k) {
      const auto& f = (*files)[k];
      req["files"].push_back({{"path", f.rel}, {"size", f.size}, {"sample", base64_encode(f.sample)}});
    }
    auto pr = cl.call("POST", api + "/preupload/" + rev_enc, req.dump(), "application/json");
    if (!pr) return die(pr.error().message);
    if (pr->status != 200) return die("preupload: " + describe(*pr));
    json out = json::parse(pr->body, nullptr, false);
    if (out.is_discarded() || !out.contains("files")) return die("preupload: malformed reply");
    for (const auto& e : out["files"]) {
      for (std::size_t k = i; k < std::min(files->size(), i + 100); ++k) {
        if ((*files)[k].rel == e.value("path", "")) (*files)[k].lfs = e.value("uploadMode", "") == "lfs";
      }
    }
  }

  // 3. LFS batch + uploads.
  json batch = {{"operation", "upload"}, {"transfers", {"basic"}}, {"hash_algo", "sha256"}, {"objects", json::array()}};
  for (const auto& f : *files)
    if (f.lfs) batch["objects"].push_back({{"oid", f.sha256}, {"size", f.size}});
  ProgressBar bar(total);
  std::uint64_t done = 0;
  if (!batch["objects"].empty()) {
    auto br = cl.call("POST", "/" + prefix + repo_id + ".git/info/lfs/objects/batch", batch.dump(),
                      "application/vnd.git-lfs+json");
    if (!br) return die(br.error().message);
    if (br->status != 200) return die("LFS batch: " + describe(*br));
    json out = json::parse(br->body, nullptr, false);
    if (out.is_discarded() || !out.contains("objects")) return die("LFS batch: malformed reply");
    for (const auto& o : out["objects"]) {
      if (o.contains("error")) return die("LFS batch: " + o["error"].value("message", std::string("error")));
      if (!o.contains("actions") || !o["actions"].contains("upload")) continue;
      std::string oid = o.value("oid", "");
      auto f = std::find_if(files->begin(), files->end(), [&](const LocalFile& lf) { return lf.sha256 == oid; });
      if (f == files->end()) continue;
      http::ClientRequest put;
      put.method = "PUT";
      put.url = o["actions"]["upload"].value("href", "");
      put.upload_file = f->abs;
      put.headers = {{"Content-Type", "application/octet-stream"}};
      std::string name = f->rel;
      put.progress = [&bar, &done, name](std::uint64_t now, std::uint64_t) { bar.update(done, now, name); };
      auto ur = http::fetch(put);
      if (!ur) return die("upload " + f->rel + ": " + ur.error().message);
      if (ur->status / 100 != 2) return die("upload " + f->rel + ": " + describe(*ur));
      done += f->size;
    }
  }
  bar.done();

  // 4. Commit.
  std::string nd = json({{"key", "header"}, {"value", {{"summary", message}, {"description", ""}}}}).dump() + "\n";
  for (const auto& f : *files) {
    if (f.lfs) {
      nd += json({{"key", "lfsFile"}, {"value", {{"path", f.rel}, {"algo", "sha256"}, {"oid", f.sha256}, {"size", f.size}}}})
                .dump() +
            "\n";
    } else {
      auto content = read_file(f.abs);
      if (!content) return die(content.error().message);
      nd += json({{"key", "file"}, {"value", {{"path", f.rel}, {"content", base64_encode(*content)}, {"encoding", "base64"}}}})
                .dump() +
            "\n";
    }
  }
  auto cm = cl.call("POST", api + "/commit/" + rev_enc, std::move(nd), "application/x-ndjson");
  if (!cm) return die(cm.error().message);
  if (cm->status != 200) return die("commit: " + describe(*cm));
  json out = json::parse(cm->body, nullptr, false);
  std::string url = out.is_discarded() ? cm->body : out.value("commitUrl", cm->body);
  if (!url.starts_with("http")) url = cl.endpoint + "/" + url;
  std::printf("%s\n", url.c_str());
  return 0;
}

}  // namespace hubgate
