// Resolver against tests/upstream/fake_upstream.py: metadata parsing, commit pinning, the ref
// TTL, stale fallback, offline mode, and authorization without leaks.
#include "upstream/resolver.hpp"

#include <gtest/gtest.h>

#include "fake_upstream.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;
using nlohmann::json;

namespace {

FakeUpstream* g_up = nullptr;
const std::string kC0 = std::string(39, 'a') + "0";
const std::string kC1 = std::string(39, 'b') + "1";
const RepoRef kRepo{"models", "org/model"};
const RepoRef kPrivate{"models", "org/private"};
const RepoRef kGated{"models", "org/gated"};

class ResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { g_up = new FakeUpstream(100000); }
  static void TearDownTestSuite() {
    delete g_up;
    g_up = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(g_up->ok());
    g_up->reset();
    meta = std::move(*MetaStore::open_dir(dir.str() + "/meta"));
  }
  std::unique_ptr<Resolver> make(std::string base, bool offline = false, std::string gateway_token = "") {
    ResolverOptions o;
    o.base_url = std::move(base);
    o.offline = offline;
    o.gateway_token = std::move(gateway_token);
    o.ref_ttl = std::chrono::milliseconds(60000);
    o.auth_ttl = std::chrono::milliseconds(30000);
    o.clock = [this] { return now; };
    return std::make_unique<Resolver>(o, client, *meta, &metrics);
  }
  std::string dead() { return "http://127.0.0.1:" + std::to_string(dead_port()); }

  TempDir dir;
  Metrics metrics;
  Client client{ClientOptions{}, nullptr};
  std::unique_ptr<MetaStore> meta;
  std::int64_t now = 1'700'000'000'000;
};

}  // namespace

TEST_F(ResolverTest, LfsAndRegularFileMetadata) {
  auto r = make(g_up->url());
  auto lfs = r->file(kRepo, "main", "model.bin", "");
  ASSERT_TRUE(lfs) << lfs.error().message;
  ASSERT_TRUE(lfs->value);
  EXPECT_EQ(lfs->value->commit, kC0);
  EXPECT_EQ(lfs->value->size, 100000u);
  ASSERT_TRUE(lfs->value->sha256);
  EXPECT_EQ(lfs->value->key().algo, ContentKey::Algo::sha256);
  EXPECT_FALSE(lfs->stale);
  auto reg = r->file(kRepo, "main", "config.json", "");
  ASSERT_TRUE(reg && reg->value);
  EXPECT_FALSE(reg->value->sha256);
  std::string cfg = "{\"model_type\": \"bert\", \"hidden_size\": 8}\n";
  EXPECT_EQ(reg->value->git_oid, crypto::git_blob_sha1_hex(cfg));
  EXPECT_EQ(reg->value->size, cfg.size());
  EXPECT_EQ(reg->value->key().algo, ContentKey::Algo::git_sha1);
  auto missing = r->file(kRepo, "main", "nope.txt", "");
  ASSERT_TRUE(missing);
  ASSERT_TRUE(missing->refusal);
  EXPECT_EQ(missing->refusal->status, 404);
  EXPECT_EQ(missing->refusal->error_code, "EntryNotFound");
  EXPECT_EQ(missing->refusal->repo_commit, kC0);
}

TEST_F(ResolverTest, CommitAddressedMetadataIsCachedForever) {
  auto r = make(g_up->url());
  ASSERT_TRUE(r->file(kRepo, kC0, "model.bin", ""));
  EXPECT_EQ(g_up->head_requests("model.bin"), 1);
  now += 10LL * 24 * 3600 * 1000;  // ten days later, the visibility must be re-learned once
  ASSERT_TRUE(r->file(kRepo, kC0, "model.bin", ""));
  ASSERT_TRUE(r->file(kRepo, kC0, "model.bin", ""));
  ASSERT_TRUE(r->file(kRepo, kC0, "model.bin", ""));
  EXPECT_EQ(g_up->head_requests("model.bin"), 2);
}

TEST_F(ResolverTest, BranchMappingHonoursTtl) {
  auto r = make(g_up->url());
  auto a = r->file(kRepo, "main", "config.json", "");
  ASSERT_TRUE(a && a->value);
  EXPECT_EQ(a->value->commit, kC0);
  g_up->control({{"main", 1}});  // upstream moves the branch
  now += 20000;                   // within both the ref TTL (60 s) and the auth TTL (30 s)
  auto b = r->file(kRepo, "main", "config.json", "");
  ASSERT_TRUE(b && b->value);
  EXPECT_EQ(b->value->commit, kC0);  // still within the TTL: no upstream request
  EXPECT_EQ(g_up->head_requests("config.json"), 1);
  now += 40001;
  auto c = r->file(kRepo, "main", "config.json", "");
  ASSERT_TRUE(c && c->value);
  EXPECT_EQ(c->value->commit, kC1);  // revalidated
  EXPECT_NE(c->value->git_oid, a->value->git_oid);
  auto info = r->commit_of(kRepo, "main", "");
  ASSERT_TRUE(info && info->value);
  EXPECT_EQ(*info->value, kC1);
}

TEST_F(ResolverTest, UnreachableUpstreamFallsBackToStaleMapping) {
  {
    auto r = make(g_up->url());
    ASSERT_TRUE(r->file(kRepo, "main", "model.bin", ""));
    ASSERT_TRUE(r->tree(kRepo, "main", "", "recursive=true", ""));
  }
  now += 120000;  // mapping expired
  auto down = make(dead());
  auto f = down->file(kRepo, "main", "model.bin", "");
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(f->value);
  EXPECT_TRUE(f->stale);
  EXPECT_EQ(f->value->commit, kC0);
  auto t = down->tree(kRepo, "main", "", "recursive=true", "");
  ASSERT_TRUE(t && t->value);
  EXPECT_TRUE(t->stale);
  EXPECT_NE(t->value->body.find("model.bin"), std::string::npos);
  EXPECT_EQ(metrics.stale_answers.load(), 2u);
  // Never seen: a plain failure.
  auto unknown = down->file(kRepo, "main", "README.md", "");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::unavailable);
}

TEST_F(ResolverTest, ServerErrorsFallBackToStale) {
  auto r = make(g_up->url());
  ASSERT_TRUE(r->commit_of(kRepo, "main", ""));
  now += 120000;
  g_up->control({{"faults", {{"api", {{"status", 503}}}}}});
  auto c = r->commit_of(kRepo, "main", "");
  ASSERT_TRUE(c && c->value);
  EXPECT_TRUE(c->stale);
  EXPECT_EQ(*c->value, kC0);
}

TEST_F(ResolverTest, OfflineServesOnlyCachedData) {
  {
    auto r = make(g_up->url());
    ASSERT_TRUE(r->file(kRepo, "main", "model.bin", ""));
  }
  // A restart (new MetaStore on the same folder), offline.
  meta = std::move(*MetaStore::open_dir(dir.str() + "/meta"));
  g_up->reset();
  auto off = make(g_up->url(), /*offline=*/true);
  auto by_commit = off->file(kRepo, kC0, "model.bin", "");
  ASSERT_TRUE(by_commit && by_commit->value) << (by_commit ? "" : by_commit.error().message);
  auto by_branch = off->file(kRepo, "main", "model.bin", "");
  ASSERT_TRUE(by_branch && by_branch->value);
  EXPECT_EQ(by_branch->value->commit, kC0);
  auto uncached = off->file(kRepo, "main", "README.md", "");
  ASSERT_FALSE(uncached);
  EXPECT_EQ(uncached.error().code, Errc::unavailable);
  EXPECT_EQ(g_up->head_requests("model.bin"), 0);  // never contacted
  EXPECT_EQ(g_up->stats()["api_requests"].get<int>(), 0);
}

TEST_F(ResolverTest, PrivateRepoNeedsTheClientsOwnToken) {
  auto r = make(g_up->url(), false, /*gateway_token=*/"good");  // the gateway itself could read it
  auto anon = r->file(kPrivate, "main", "secret.bin", "");
  ASSERT_TRUE(anon && anon->refusal);
  EXPECT_EQ(anon->refusal->status, 401);
  EXPECT_EQ(anon->refusal->error_code, "RepoNotFound");
  auto good = r->file(kPrivate, "main", "secret.bin", "Bearer good");
  ASSERT_TRUE(good && good->value);
  // Now cached; another token is not served from cache: upstream is asked and refuses.
  int heads = g_up->head_requests("secret.bin");
  auto bad = r->file(kPrivate, good->value->commit, "secret.bin", "Bearer bad");
  ASSERT_TRUE(bad && bad->refusal);
  EXPECT_EQ(bad->refusal->status, 404);
  auto anon2 = r->file(kPrivate, good->value->commit, "secret.bin", "");
  ASSERT_TRUE(anon2 && anon2->refusal);
  EXPECT_EQ(g_up->head_requests("secret.bin"), heads);  // refused by upstream before counting
  // The good token is answered from its cached decision.
  auto again = r->file(kPrivate, good->value->commit, "secret.bin", "Bearer good");
  ASSERT_TRUE(again && again->value);
  EXPECT_EQ(g_up->head_requests("secret.bin"), heads);
  // Bytes are fetched with the gateway token; metadata never was.
  auto spec = r->fill_spec(kPrivate, *again->value, "Bearer good");
  ASSERT_EQ(spec.headers.size(), 1u);
  EXPECT_EQ(spec.headers[0].second, "Bearer good");
  EXPECT_NE(spec.url.find("/resolve/" + good->value->commit + "/secret.bin"), std::string::npos);
}

TEST_F(ResolverTest, PrivateRepoFailsClosedWhenUpstreamCannotBeAsked) {
  {
    auto r = make(g_up->url());
    ASSERT_TRUE(r->file(kPrivate, "main", "secret.bin", "Bearer good"));
  }
  auto down = make(dead());
  // A different token than the one upstream accepted: refused although the data is cached.
  auto other = down->file(kPrivate, "main", "secret.bin", "Bearer other");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Errc::unavailable);
  auto anon = down->file(kPrivate, "main", "secret.bin", "");
  ASSERT_FALSE(anon);
}

TEST_F(ResolverTest, GatedRepoFilesOnlyForAcceptedTokensMetadataForAll) {
  auto r = make(g_up->url());
  // Metadata of a gated repo is public (anonymous info succeeds and is cached).
  auto info = r->info(kGated, "main", "");
  ASSERT_TRUE(info && info->value) << (info ? info->refusal->message : info.error().message);
  // Its files: the accepted token gets them, and they are cached.
  auto ok = r->file(kGated, "main", "weights.bin", "Bearer accepted");
  ASSERT_TRUE(ok && ok->value);
  const std::string commit = ok->value->commit;
  int heads = g_up->head_requests("weights.bin");
  // Anonymous: not served from cache although the repo's metadata is public; upstream's
  // refusal is relayed with its shape (401 + GatedRepo).
  auto anon = r->file(kGated, commit, "weights.bin", "");
  ASSERT_TRUE(anon && anon->refusal);
  EXPECT_EQ(anon->refusal->status, 401);
  EXPECT_EQ(anon->refusal->error_code, "GatedRepo");
  // A token that did not accept the terms: 403 + GatedRepo (not RepoNotFound).
  auto other = r->file(kGated, commit, "weights.bin", "Bearer other");
  ASSERT_TRUE(other && other->refusal);
  EXPECT_EQ(other->refusal->status, 403);
  EXPECT_EQ(other->refusal->error_code, "GatedRepo");
  EXPECT_NE(other->refusal->message.find("restricted"), std::string::npos);
  // The accepted token is answered from its cached decision, without asking upstream.
  auto again = r->file(kGated, commit, "weights.bin", "Bearer accepted");
  ASSERT_TRUE(again && again->value);
  EXPECT_EQ(g_up->head_requests("weights.bin"), heads);
  // A restarted edge with upstream gone knows no token decision (they are not persisted) and
  // the repo's files were never public: it fails closed for everyone, metadata being public.
  auto down = make(dead());
  EXPECT_FALSE(down->file(kGated, commit, "weights.bin", "Bearer accepted"));
  EXPECT_FALSE(down->file(kGated, commit, "weights.bin", "Bearer other"));
  EXPECT_FALSE(down->file(kGated, commit, "weights.bin", ""));
}

TEST_F(ResolverTest, AllowDenyPatterns) {
  ResolverOptions o;
  o.base_url = g_up->url();
  o.filter.deny = {"org/private"};
  Resolver r(o, client, *meta, &metrics);
  auto d = r.file(kPrivate, "main", "secret.bin", "Bearer good");
  ASSERT_TRUE(d && d->refusal);
  EXPECT_EQ(d->refusal->error_code, "RepoNotFound");
  EXPECT_EQ(g_up->stats()["api_requests"].get<int>(), 0);
  EXPECT_EQ(g_up->head_requests("secret.bin"), 0);
  EXPECT_TRUE(r.file(kRepo, "main", "config.json", ""));
}

TEST_F(ResolverTest, TreeAndPathsInfoArePinnedAndCached) {
  auto r = make(g_up->url());
  auto t = r->tree(kRepo, "main", "", "recursive=true", "");
  ASSERT_TRUE(t && t->value);
  EXPECT_EQ(t->value->commit, kC0);
  auto arr = json::parse(t->value->body);
  ASSERT_TRUE(arr.is_array());
  EXPECT_EQ(arr.size(), 5u);  // 4 files + 1 directory
  int api = g_up->stats()["api_requests"].get<int>();
  ASSERT_TRUE(r->tree(kRepo, "main", "", "recursive=true", ""));
  EXPECT_EQ(g_up->stats()["api_requests"].get<int>(), api);
  auto p = r->paths_info(kRepo, "main", R"({"paths":["model.bin","nope"],"expand":true})", "application/json", "");
  ASSERT_TRUE(p && p->value);
  auto pa = json::parse(p->value->body);
  ASSERT_EQ(pa.size(), 1u);
  EXPECT_EQ(pa[0]["path"], "model.bin");
  auto info = r->info(kRepo, "", "");
  ASSERT_TRUE(info && info->value);
  EXPECT_EQ(json::parse(info->value->body)["sha"], kC0);
  auto norev = r->tree(kRepo, "nosuchbranch", "", "", "");
  ASSERT_TRUE(norev && norev->refusal);
  EXPECT_EQ(norev->refusal->error_code, "RevisionNotFound");
}

TEST_F(ResolverTest, RateLimitedWithoutCacheIsRelayed) {
  g_up->control({{"faults", {{"api", {{"status", 429}, {"retry_after", 30}}}}}});
  auto r = make(g_up->url());
  auto c = r->commit_of(kRepo, "main", "");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->refusal);
  EXPECT_EQ(c->refusal->status, 429);
  EXPECT_EQ(c->refusal->retry_after, "30");
}

// Canonical (single-segment) and renamed ids: the fake upstream redirects `model-canonical` and
// `old-org/model` to `org/model` with relative 307s, as the Hub does.
TEST(RepoInLocation, NamesOnlyRepositoryRoutes) {
  EXPECT_EQ(repo_in_location("models", "/api/models/org/model"), "org/model");
  EXPECT_EQ(repo_in_location("models", "/api/models/org/model/revision/main?x=1"), "org/model");
  EXPECT_EQ(repo_in_location("models", "/org/model/resolve/main/config.json"), "org/model");
  EXPECT_EQ(repo_in_location("datasets", "/datasets/org/data/resolve/main/a.csv"), "org/data");
  EXPECT_EQ(repo_in_location("datasets", "/api/datasets/org/data"), "org/data");
  EXPECT_EQ(repo_in_location("models", "/org%2Dx/model/raw/main/a"), "org-x/model");
  // Not a repository: CDN (absolute), the Hub's resolve cache, CAS paths, other types.
  EXPECT_FALSE(repo_in_location("models", "https://cdn.example/org/model/resolve/main/x"));
  EXPECT_FALSE(repo_in_location("models", "//cdn.example/org/model/resolve/main/x"));
  EXPECT_FALSE(repo_in_location("models", "/api/resolve-cache/models/org/model/abc/config.json"));
  EXPECT_FALSE(repo_in_location("models", "/cas/v1/reconstructions/abc"));
  EXPECT_FALSE(repo_in_location("models", "/datasets/org/data/resolve/main/a.csv"));
  EXPECT_FALSE(repo_in_location("models", "/api/datasets/org/data"));
  EXPECT_FALSE(repo_in_location("models", "/org/model"));
  EXPECT_FALSE(repo_in_location("models", "/api/models/org"));
  EXPECT_FALSE(repo_in_location("models", "/api/models/org/../x"));
}

TEST_F(ResolverTest, SingleSegmentIdIsAskedOnceAndCachedLikeARef) {
  auto r = make(g_up->url());
  const RepoRef bare{"models", "model-canonical"};
  auto a = r->canonical(bare, "");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(a->value);
  EXPECT_EQ(*a->value, "org/model");
  EXPECT_FALSE(a->stale);
  const auto asked = g_up->stats()["redirects"].get<int>();
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(*r->canonical(bare, "")->value, "org/model");  // fresh: not asked again
  EXPECT_EQ(g_up->stats()["redirects"].get<int>(), 1);
  // Past the TTL with upstream gone: the last known mapping, marked stale.
  now += 120000;
  auto gone = make(dead());
  auto s = gone->canonical(bare, "");
  ASSERT_TRUE(s && s->value);
  EXPECT_EQ(*s->value, "org/model");
  EXPECT_TRUE(s->stale);
  // Offline and never learned: an error, not a guess.
  auto off = make(dead(), /*offline=*/true);
  EXPECT_FALSE(off->canonical(RepoRef{"models", "other-canonical"}, ""));
  // Unknown upstream: upstream's refusal.
  auto unknown = r->canonical(RepoRef{"models", "no-such-model"}, "");
  ASSERT_TRUE(unknown);
  ASSERT_TRUE(unknown->refusal);
  EXPECT_EQ(unknown->refusal->status, 404);
  // Two-segment ids are not asked about: renames are learned in passing.
  auto plain = r->canonical(kRepo, "");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->value);
  EXPECT_FALSE(plain->refusal);
}

TEST_F(ResolverTest, RenamedRepoIsLearnedFromUpstreamsRedirect) {
  auto r = make(g_up->url());
  const RepoRef old{"models", "old-org/model"};
  auto f = r->file(old, "main", "config.json", "");
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_TRUE(f->refusal);
  EXPECT_EQ(f->refusal->status, 307);
  EXPECT_EQ(f->refusal->moved_to, "org/model");
  auto c = r->canonical(old, "");
  ASSERT_TRUE(c && c->value);
  EXPECT_EQ(*c->value, "org/model");
  // The info route learns it the same way (a fresh store that knows nothing yet).
  auto fresh = std::move(*MetaStore::open_dir(dir.str() + "/meta2"));
  ResolverOptions o;
  o.base_url = g_up->url();
  o.clock = [this] { return now; };
  Resolver r3(o, client, *fresh, &metrics);
  auto info = r3.commit_of(old, "main", "");
  ASSERT_TRUE(info);
  ASSERT_TRUE(info->refusal);
  EXPECT_EQ(info->refusal->moved_to, "org/model");
}
