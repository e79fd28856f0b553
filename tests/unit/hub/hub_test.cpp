// Hub handlers called in-process (no sockets): a MemoryStore, an in-memory catalog and a token
// database in a temp folder. Each test drives one API behaviour and checks exact outcomes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/sha.hpp"
#include "hub/hub.hpp"
#include "util/base64.hpp"

using namespace hubgate;
using json = nlohmann::json;

namespace {

struct HubTest : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<repo::Catalog> catalog;
  store::MemoryStore store;
  std::unique_ptr<auth::TokenStore> tokens;
  std::unique_ptr<auth::Signer> signer;
  std::unique_ptr<hub::Hub> hub;
  std::string writer, reader, scoped;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() / ("hubgate-hub-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    catalog = std::move(*repo::open_sqlite_catalog(":memory:"));
    tokens = std::move(*auth::TokenStore::open(dir / "auth.db"));
    signer = std::make_unique<auth::Signer>("0123456789abcdef0123456789abcdef");
    hub::HubOptions o;
    o.public_url = "http://hub.test";
    o.tree_page_size = 2;
    hub = std::make_unique<hub::Hub>(o, *catalog, store, *tokens, *signer);
    writer = *tokens->create("alice", true, "");
    reader = *tokens->create("carol", false, "");
    scoped = *tokens->create("bob", true, "team/*");
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  http::Response call(std::string method, std::string target, std::string token = "", std::string body = "",
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request r;
    r.method = std::move(method);
    r.target = target;
    auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = target.substr(q + 1);
    if (!token.empty()) r.headers.add("Authorization", "Bearer " + token);
    for (auto& [k, v] : headers) r.headers.add(k, v);
    r.body.size = body.size();
    r.body.sha256 = crypto::sha256_hex(body);
    r.body.data = std::move(body);
    return hub->handle(r);
  }
  static std::string body(const http::Response& r) { return std::get<std::string>(r.body); }
  static json js(const http::Response& r) { return json::parse(body(r)); }
  static std::string hdr(const http::Response& r, const char* n) { return std::string(r.headers.get(n).value_or("")); }

  std::string commit(const std::string& repo, std::vector<json> lines, std::string rev = "main", int expect = 200) {
    std::string nd = json({{"key", "header"}, {"value", {{"summary", "test commit"}}}}).dump() + "\n";
    for (auto& l : lines) nd += l.dump() + "\n";
    auto r = call("POST", "/api/models/" + repo + "/commit/" + rev, writer, nd);
    EXPECT_EQ(r.status, expect) << body(r);
    return r.status == 200 ? js(r)["commitOid"].get<std::string>() : "";
  }
  static json file_line(std::string path, std::string content) {
    return {{"key", "file"}, {"value", {{"path", path}, {"content", base64_encode(content)}, {"encoding", "base64"}}}};
  }
  void create(const std::string& ns, const std::string& name, bool priv = false) {
    auto r = call("POST", "/api/repos/create", writer,
                  json({{"name", name}, {"organization", ns}, {"private", priv}}).dump());
    ASSERT_EQ(r.status, 200) << body(r);
  }
};

}  // namespace

TEST_F(HubTest, CreateInfoAndConflict) {
  create("org", "m");
  auto again = call("POST", "/api/repos/create", writer, R"({"name":"m","organization":"org"})");
  EXPECT_EQ(again.status, 409);
  auto info = call("GET", "/api/models/org/m");
  ASSERT_EQ(info.status, 200);
  json j = js(info);
  EXPECT_EQ(j["id"], "org/m");
  EXPECT_EQ(j["sha"].get<std::string>().size(), 40u);
  EXPECT_EQ(j["siblings"].size(), 1u);  // .gitattributes
  EXPECT_EQ(hdr(info, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(call("POST", "/api/repos/create", "", R"({"name":"x","organization":"org"})").status, 401);
  EXPECT_EQ(call("POST", "/api/repos/create", reader, R"({"name":"x","organization":"org"})").status, 403);
  EXPECT_EQ(call("POST", "/api/repos/create", scoped, R"({"name":"x","organization":"org"})").status, 403);
  EXPECT_EQ(call("POST", "/api/repos/create", scoped, R"({"name":"x","organization":"team"})").status, 200);
  EXPECT_EQ(call("POST", "/api/repos/create", writer, R"({"name":"../x","organization":"org"})").status, 400);
}

TEST_F(HubTest, ResolveHeadersRangesAndErrors) {
  create("org", "m");
  std::string c = commit("org/m", {file_line("a.txt", "hello world"), file_line("empty", "")});
  auto r = call("GET", "/org/m/resolve/main/a.txt");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(body(r), "hello world");
  EXPECT_EQ(hdr(r, "X-Repo-Commit"), c);
  EXPECT_EQ(hdr(r, "ETag"), "\"" + crypto::git_blob_sha1_hex("hello world") + "\"");
  EXPECT_EQ(hdr(r, "Accept-Ranges"), "bytes");

  r = call("GET", "/org/m/resolve/main/a.txt", "", "", {{"Range", "bytes=6-"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(body(r), "world");
  EXPECT_EQ(hdr(r, "Content-Range"), "bytes 6-10/11");
  r = call("GET", "/org/m/resolve/main/a.txt", "", "", {{"Range", "bytes=11-"}});
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(hdr(r, "Content-Range"), "bytes */11");
  r = call("GET", "/org/m/resolve/main/a.txt", "", "", {{"Range", "bytes=x"}});  // invalid: ignored
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body(r), "hello world");
  EXPECT_EQ(hdr(r, "Content-Range"), "");
  r = call("GET", "/org/m/resolve/main/empty", "", "", {{"Range", "bytes=0-0"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(hdr(r, "Content-Range"), "bytes */0");

  r = call("GET", "/org/m/resolve/main/nope.txt");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(hdr(r, "X-Error-Code"), "EntryNotFound");
  EXPECT_EQ(hdr(r, "X-Repo-Commit"), c);
  r = call("GET", "/org/m/resolve/nobranch/a.txt");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(hdr(r, "X-Error-Code"), "RevisionNotFound");
  r = call("GET", "/org/other/resolve/main/a.txt");
  EXPECT_EQ(r.status, 401);  // anonymous
  EXPECT_EQ(hdr(r, "X-Error-Code"), "RepoNotFound");
  EXPECT_EQ(call("GET", "/org/other/resolve/main/a.txt", reader).status, 404);
  EXPECT_EQ(call("GET", "/org/m/resolve/main/..%2Fx").status, 400);
  EXPECT_EQ(call("GET", "/org/m/resolve/main/a%2").status, 400);
  EXPECT_EQ(call("GET", "/org/m/resolve/main/a%00b").status, 400);
  EXPECT_EQ(call("GET", "/org/m/resolve/main/a.txt", "hf_bogus").status, 401);
  // Short sha and percent-encoded revision.
  EXPECT_EQ(call("GET", "/org/m/resolve/" + c.substr(0, 7) + "/a.txt").status, 200);
  EXPECT_EQ(call("GET", "/org/m/resolve/" + c + "/a.txt").status, 200);
}

TEST_F(HubTest, LfsUploadFlowAndCommitChecks) {
  create("org", "m");
  std::string data(5000, 'z');
  std::string oid = crypto::sha256_hex(data);
  // A commit naming an object never uploaded is refused.
  commit("org/m", {{{"key", "lfsFile"}, {"value", {{"path", "w.bin"}, {"algo", "sha256"}, {"oid", oid}, {"size", 5000}}}}},
         "main", 400);
  json batch = {{"operation", "upload"}, {"transfers", {"basic"}}, {"objects", {{{"oid", oid}, {"size", 5000}}}}};
  auto b = call("POST", "/org/m.git/info/lfs/objects/batch", writer, batch.dump());
  ASSERT_EQ(b.status, 200) << body(b);
  EXPECT_EQ(hdr(b, "Content-Type"), "application/vnd.git-lfs+json");
  std::string href = js(b)["objects"][0]["actions"]["upload"]["href"];
  ASSERT_TRUE(href.starts_with("http://hub.test/api/lfs/upload/" + oid + "/5000?exp="));
  std::string target = href.substr(std::string("http://hub.test").size());
  // Wrong bytes: refused, nothing stored.
  auto bad = call("PUT", target, "", std::string(5000, 'y'));
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(*store.stat(oid));
  // Another repository than the one signed (its gate policy would apply): refused.
  std::string other = target;
  other.replace(other.find("repo=org%2Fm") + 11, 1, "n");
  EXPECT_EQ(call("PUT", other, "", data).status, 403);
  // Tampered signature.
  EXPECT_EQ(call("PUT", target.substr(0, target.size() - 1) + (target.back() == '0' ? "1" : "0"), "", data).status, 403);
  auto ok = call("PUT", target, "", data);
  EXPECT_EQ(ok.status, 200) << body(ok);
  EXPECT_TRUE(*store.stat(oid));
  // Already stored: no actions.
  b = call("POST", "/org/m.git/info/lfs/objects/batch", writer, batch.dump());
  EXPECT_FALSE(js(b)["objects"][0].contains("actions"));
  // Size mismatch in the commit is refused; the right one lands.
  commit("org/m", {{{"key", "lfsFile"}, {"value", {{"path", "w.bin"}, {"algo", "sha256"}, {"oid", oid}, {"size", 1}}}}},
         "main", 400);
  std::string c = commit(
      "org/m", {{{"key", "lfsFile"}, {"value", {{"path", "w.bin"}, {"algo", "sha256"}, {"oid", oid}, {"size", 5000}}}}});
  auto r = call("HEAD", "/org/m/resolve/main/w.bin");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(hdr(r, "X-Linked-Etag"), "\"" + oid + "\"");
  EXPECT_EQ(hdr(r, "X-Linked-Size"), "5000");
  EXPECT_EQ(hdr(r, "ETag"), "\"" + oid + "\"");
  auto tree = js(call("GET", "/api/models/org/m/tree/main?recursive=true&expand=true"));
  bool found = false;
  for (auto& e : tree) {
    if (e["path"] == "w.bin") {
      found = true;
      EXPECT_EQ(e["lfs"]["oid"], oid);
      EXPECT_EQ(e["lastCommit"]["id"], c);
    }
  }
  EXPECT_TRUE(found);
  // Batch needs a write token.
  EXPECT_EQ(call("POST", "/org/m.git/info/lfs/objects/batch", reader, batch.dump()).status, 403);
}

TEST_F(HubTest, CommitParentConflictCopyAndDelete) {
  create("org", "m");
  std::string c1 = commit("org/m", {file_line("a.txt", "1"), file_line("d/b.txt", "2")});
  std::string c2 = commit("org/m", {{{"key", "file"}, {"value", {{"path", "copy.txt"}, {"oldPath", "a.txt"}}}}});
  auto r = call("GET", "/org/m/resolve/main/copy.txt");
  EXPECT_EQ(body(r), "1");
  std::string nd = json({{"key", "header"}, {"value", {{"summary", "s"}, {"parentCommit", c1}}}}).dump() + "\n" +
                   file_line("x", "x").dump() + "\n";
  auto stale = call("POST", "/api/models/org/m/commit/main", writer, nd);
  EXPECT_EQ(stale.status, 412);
  commit("org/m", {{{"key", "deletedFolder"}, {"value", {{"path", "d/"}}}}, {{"key", "deletedFile"}, {"value", {{"path", "a.txt"}}}}});
  auto info = js(call("GET", "/api/models/org/m"));
  std::vector<std::string> names;
  for (auto& s : info["siblings"]) names.push_back(s["rfilename"]);
  EXPECT_EQ(names, (std::vector<std::string>{".gitattributes", "copy.txt"}));
  // Old revision still served.
  EXPECT_EQ(body(call("GET", "/org/m/resolve/" + c2 + "/a.txt")), "1");
  // Malformed NDJSON.
  EXPECT_EQ(call("POST", "/api/models/org/m/commit/main", writer, "{not json\n").status, 400);
  EXPECT_EQ(call("POST", "/api/models/org/m/commit/main", writer, nd).status, 412);
  EXPECT_EQ(call("POST", "/api/models/org/m/commit/main", reader, nd).status, 403);
}

TEST_F(HubTest, PullRequestRevisionForms) {
  create("org", "m");
  commit("org/m", {file_line("a.txt", "main")});
  std::string nd = json({{"key", "header"}, {"value", {{"summary", "pr"}}}}).dump() + "\n" + file_line("a.txt", "pr").dump() + "\n";
  auto pr = call("POST", "/api/models/org/m/commit/main?create_pr=1", writer, nd);
  ASSERT_EQ(pr.status, 200);
  EXPECT_TRUE(js(pr)["pullRequestUrl"].get<std::string>().ends_with("/discussions/1"));
  EXPECT_EQ(body(call("GET", "/org/m/resolve/refs%2Fpr%2F1/a.txt")), "pr");
  EXPECT_EQ(body(call("GET", "/org/m/resolve/refs/pr/1/a.txt")), "pr");
  EXPECT_EQ(body(call("GET", "/org/m/resolve/main/a.txt")), "main");
  EXPECT_EQ(js(call("GET", "/api/models/org/m/revision/refs%2Fpr%2F1"))["sha"], js(pr)["commitOid"]);
}

TEST_F(HubTest, TreePaginationAndPathsInfo) {
  create("org", "m");
  commit("org/m", {file_line("a", "1"), file_line("b", "2"), file_line("c/d", "3")});
  auto p1 = call("GET", "/api/models/org/m/tree/main?recursive=true");
  ASSERT_EQ(p1.status, 200);
  EXPECT_EQ(js(p1).size(), 2u);
  std::string link = hdr(p1, "Link");
  ASSERT_TRUE(link.starts_with("<http://hub.test/api/models/org/m/tree/")) << link;
  EXPECT_TRUE(link.ends_with(">; rel=\"next\""));
  std::string next = link.substr(16, link.find('>') - 16);
  std::vector<std::string> all;
  for (auto& e : js(p1)) all.push_back(e["path"]);
  for (int i = 0; i < 10 && !next.empty(); ++i) {
    auto p = call("GET", next);
    ASSERT_EQ(p.status, 200) << body(p);
    for (auto& e : js(p)) all.push_back(e["path"]);
    std::string l = hdr(p, "Link");
    next = l.empty() ? "" : l.substr(16, l.find('>') - 16);
  }
  EXPECT_EQ(all, (std::vector<std::string>{".gitattributes", "a", "b", "c", "c/d"}));
  EXPECT_EQ(call("GET", "/api/models/org/m/tree/main/nope").status, 404);
  auto pi = call("POST", "/api/models/org/m/paths-info/main", "", "paths=a&paths=c&paths=zz&expand=True",
                 {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(pi.status, 200);
  auto j = js(pi);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["type"], "file");
  EXPECT_EQ(j[1]["type"], "directory");
  auto pj = call("POST", "/api/models/org/m/paths-info/main", "", R"({"paths":["c/d"],"expand":true})",
                 {{"Content-Type", "application/json"}});
  EXPECT_EQ(js(pj).size(), 1u);
  EXPECT_EQ(js(pj)[0]["oid"], crypto::git_blob_sha1_hex("3"));
}

TEST_F(HubTest, PrivateRepos) {
  create("org", "secret", true);
  commit("org/secret", {file_line("a", "s")});
  EXPECT_EQ(call("GET", "/api/models/org/secret").status, 401);
  EXPECT_EQ(call("GET", "/api/models/org/secret", reader).status, 200);
  EXPECT_EQ(call("GET", "/api/models/org/secret", scoped).status, 404);
  EXPECT_EQ(call("GET", "/org/secret/resolve/main/a", scoped).status, 404);
  EXPECT_EQ(body(call("GET", "/org/secret/resolve/main/a", writer)), "s");
  auto who = call("GET", "/api/whoami-v2", reader);
  EXPECT_EQ(js(who)["name"], "carol");
  EXPECT_EQ(js(who)["auth"]["accessToken"]["role"], "read");
  EXPECT_EQ(call("GET", "/api/whoami-v2").status, 401);
}

TEST_F(HubTest, PreuploadModes) {
  create("org", "m");
  json req = {{"files",
               {{{"path", "config.json"}, {"size", 10}, {"sample", base64_encode("{\"a\": 1}")}},
                {{"path", "w.safetensors"}, {"size", 10}, {"sample", base64_encode("abc")}},
                {{"path", "bin"}, {"size", 3}, {"sample", base64_encode(std::string("a\0b", 3))}},
                {{"path", "big.txt"}, {"size", 20 << 20}, {"sample", base64_encode("text")}},
                {{"path", "empty.bin"}, {"size", 0}, {"sample", ""}}}}};
  auto r = call("POST", "/api/models/org/m/preupload/main", writer, req.dump());
  ASSERT_EQ(r.status, 200) << body(r);
  std::vector<std::string> modes;
  json reply = js(r);
  ASSERT_EQ(reply["files"].size(), 5u) << body(r);
  for (auto& f : reply["files"]) {
    modes.push_back(f["uploadMode"]);
    EXPECT_EQ(f["shouldIgnore"], false);
  }
  EXPECT_EQ(modes, (std::vector<std::string>{"regular", "lfs", "lfs", "lfs", "regular"}));
}

TEST_F(HubTest, HealthMetricsAndPreflight) {
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  http::AccessRecord rec;
  rec.route = "resolve";
  rec.status = 200;
  rec.bytes_sent = 42;
  hub->record(rec);
  std::string m = body(call("GET", "/metrics"));
  EXPECT_NE(m.find("hubgate_http_requests_total{route=\"resolve\",status=\"200\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("hubgate_http_sent_bytes_total 42\n"), std::string::npos);
  auto o = call("OPTIONS", "/org/m/resolve/main/a");
  EXPECT_EQ(o.status, 204);
  EXPECT_NE(hdr(o, "Access-Control-Allow-Headers").find("Range"), std::string::npos);
}

TEST_F(HubTest, MovedRepositoryRedirectsKeepingRouteAndQuery) {
  create("org", "a");
  auto mv = call("POST", "/api/repos/move", writer, R"({"fromRepo":"org/a","toRepo":"org/b","type":"model"})");
  ASSERT_EQ(mv.status, 200) << body(mv);
  auto r = call("POST", "/api/models/org/a/branch/dev?x=1", writer, "{}");
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(hdr(r, "Location"), "/api/models/org/b/branch/dev?x=1");
  r = call("HEAD", "/org/a/resolve/main/.gitattributes", reader);
  EXPECT_EQ(r.status, 307);
  EXPECT_EQ(hdr(r, "Location"), "/org/b/resolve/main/.gitattributes");
  EXPECT_EQ(js(call("GET", "/api/models/org/b", reader))["id"], "org/b");
  // The read-only token may not move; a taken name is a conflict.
  create("org", "c");
  EXPECT_EQ(call("POST", "/api/repos/move", reader, R"({"fromRepo":"org/b","toRepo":"org/d"})").status, 403);
  EXPECT_EQ(call("POST", "/api/repos/move", writer, R"({"fromRepo":"org/b","toRepo":"org/c"})").status, 409);
  // Deleted: neither name answers, and the old one no longer redirects.
  auto del = call("DELETE", "/api/repos/delete", writer, R"({"name":"b","organization":"org","type":"model"})");
  ASSERT_EQ(del.status, 200) << body(del);
  r = call("GET", "/api/models/org/a", writer);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(hdr(r, "X-Error-Code"), "RepoNotFound");
  r = call("DELETE", "/api/repos/delete", writer, R"({"name":"b","organization":"org"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(hdr(r, "X-Error-Code"), "RepoNotFound");
}

TEST_F(HubTest, ListingShowsOnlyReadableRepositoriesWithCursorLinks) {
  create("team", "hidden", true);
  create("pub", "a");
  create("pub", "b");
  create("pub", "c");
  auto names = [&](const http::Response& r) {
    std::vector<std::string> out;
    for (const auto& m : js(r)) out.push_back(m["id"]);
    return out;
  };
  EXPECT_EQ(names(call("GET", "/api/models")), (std::vector<std::string>{"pub/a", "pub/b", "pub/c"}));
  EXPECT_EQ(names(call("GET", "/api/models?author=team", scoped)), (std::vector<std::string>{"team/hidden"}));
  EXPECT_EQ(names(call("GET", "/api/models?search=C", reader)), (std::vector<std::string>{"pub/c"}));
  auto page = call("GET", "/api/models?author=pub&limit=2&expand=private", reader);
  EXPECT_EQ(names(page), (std::vector<std::string>{"pub/a", "pub/b"}));
  EXPECT_EQ(js(page)[0].size(), 3u);  // _id, id, private
  EXPECT_EQ(hdr(page, "Link"), "<http://hub.test/api/models?author=pub&limit=2&expand=private&cursor=2>; rel=\"next\"");
  auto last = call("GET", "/api/models?author=pub&limit=2&expand=private&cursor=2", reader);
  EXPECT_EQ(names(last), (std::vector<std::string>{"pub/c"}));
  EXPECT_EQ(hdr(last, "Link"), "");
  EXPECT_EQ(js(call("GET", "/api/datasets")).size(), 0u);
}

TEST_F(HubTest, CommitHistoryPagesWithTotal) {
  create("org", "h");
  commit("org/h", {file_line("a.txt", "1")});
  commit("org/h", {file_line("b.txt", "2")});
  auto r = call("GET", "/api/models/org/h/commits/main?limit=2", reader);
  ASSERT_EQ(r.status, 200) << body(r);
  EXPECT_EQ(hdr(r, "X-Total-Count"), "3");
  EXPECT_EQ(hdr(r, "Link"), "<http://hub.test/api/models/org/h/commits/main?limit=2&p=1>; rel=\"next\"");
  auto j = js(r);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["authors"][0]["user"], "alice");
  EXPECT_TRUE(j[0]["date"].get<std::string>().ends_with("Z"));
  auto last = js(call("GET", "/api/models/org/h/commits/main?limit=2&p=1", reader));
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0]["title"], "initial commit");
  EXPECT_EQ(hdr(call("GET", "/api/models/org/h/commits/nope", reader), "X-Error-Code"), "RevisionNotFound");
}

TEST_F(HubTest, GatedRepositoryServesAcceptedUsersOnly) {
  create("org", "g");
  commit("org/g", {file_line("w.txt", "weights")});
  ASSERT_EQ(call("PUT", "/api/models/org/g/settings", writer, R"({"gated":"manual"})").status, 200);
  auto r = call("GET", "/org/g/resolve/main/w.txt", reader);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(hdr(r, "X-Error-Code"), "GatedRepo");
  EXPECT_EQ(call("GET", "/org/g/resolve/main/w.txt", writer).status, 200);
  EXPECT_EQ(js(call("POST", "/api/models/org/g/ask-access", reader, "{}"))["status"], "pending");
  EXPECT_EQ(call("GET", "/org/g/resolve/main/w.txt", reader).status, 403);
  ASSERT_EQ(call("POST", "/api/models/org/g/user-access-request/handle", writer,
                 R"({"user":"carol","status":"accepted"})").status, 200);
  EXPECT_EQ(call("GET", "/org/g/resolve/main/w.txt", reader).status, 200);
  auto acc = js(call("GET", "/api/models/org/g/user-access-request/accepted", writer));
  ASSERT_EQ(acc.size(), 1u);
  EXPECT_EQ(acc[0]["user"]["user"], "carol");
  EXPECT_EQ(call("GET", "/api/models/org/g/user-access-request/accepted", reader).status, 403);
}
