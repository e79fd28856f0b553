#include "upstream/ref_cache.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;

namespace {
struct FakeClock {
  std::int64_t now = 1'700'000'000'000;
  Clock fn() {
    return [this] { return now; };
  }
};
const std::string kC1(40, 'a'), kC2(40, 'b');
}  // namespace

TEST(RefCache, FreshUntilTtlThenStaleButKnown) {
  auto store = MetaStore::open_dir("");
  ASSERT_TRUE(store);
  FakeClock clock;
  RefCache refs(**store, std::chrono::milliseconds(60000), clock.fn());
  EXPECT_FALSE(refs.get("models/org/m", "main"));
  refs.put("models/org/m", "main", kC1);
  auto e = refs.get("models/org/m", "main");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->commit, kC1);
  EXPECT_TRUE(e->fresh);
  clock.now += 59999;
  EXPECT_TRUE(refs.get("models/org/m", "main")->fresh);
  clock.now += 1;
  e = refs.get("models/org/m", "main");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->fresh);  // must be revalidated, still usable as a stale fallback
  EXPECT_EQ(e->commit, kC1);
  refs.put("models/org/m", "main", kC2);  // revalidated: branch moved
  EXPECT_EQ(refs.get("models/org/m", "main")->commit, kC2);
  EXPECT_TRUE(refs.get("models/org/m", "main")->fresh);
  EXPECT_FALSE(refs.get("models/org/m", "dev"));
  EXPECT_FALSE(refs.get("models/org/other", "main"));
}

TEST(RefCache, LastMappingSurvivesRestart) {
  TempDir dir;
  FakeClock clock;
  {
    auto store = MetaStore::open_dir(dir.str());
    ASSERT_TRUE(store);
    RefCache refs(**store, std::chrono::milliseconds(1000), clock.fn());
    refs.put("models/org/m", "refs/pr/1", kC1);
  }
  clock.now += 3600'000;
  auto store = MetaStore::open_dir(dir.str());
  ASSERT_TRUE(store);
  RefCache refs(**store, std::chrono::milliseconds(1000), clock.fn());
  auto e = refs.get("models/org/m", "refs/pr/1");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->commit, kC1);
  EXPECT_FALSE(e->fresh);
}

TEST(MetaStore, RejectsNewlineKeysAndPersists) {
  TempDir dir;
  {
    auto store = MetaStore::open_dir(dir.str());
    ASSERT_TRUE(store);
    EXPECT_FALSE((*store)->put("a\nb", "x"));
    ASSERT_TRUE((*store)->put("k", "multi\nline\nvalue"));
  }
  auto store = MetaStore::open_dir(dir.str());
  EXPECT_EQ((*store)->get("k"), std::optional<std::string>("multi\nline\nvalue"));
  EXPECT_EQ((*store)->get("other"), std::nullopt);
}

TEST(AccessCache, DecisionsArePerTokenAndExpire) {
  auto store = MetaStore::open_dir("");
  FakeClock clock;
  AccessCache acc(**store, std::chrono::milliseconds(30000), clock.fn());
  EXPECT_EQ(acc.lookup("Bearer good", "models/org/p"), Access::unknown);
  acc.record("Bearer good", "models/org/p", true);
  acc.record("Bearer bad", "models/org/p", false);
  EXPECT_EQ(acc.lookup("Bearer good", "models/org/p"), Access::allowed);
  EXPECT_EQ(acc.lookup("Bearer bad", "models/org/p"), Access::denied);
  EXPECT_EQ(acc.lookup("", "models/org/p"), Access::unknown);           // anonymous is its own token
  EXPECT_EQ(acc.lookup("Bearer good", "models/org/q"), Access::unknown);  // and decisions are per repo
  clock.now += 30000;
  EXPECT_EQ(acc.lookup("Bearer good", "models/org/p"), Access::unknown);
  EXPECT_EQ(acc.lookup("Bearer bad", "models/org/p"), Access::unknown);
}

TEST(AccessCache, PublicVisibilityFreshAndLastKnown) {
  auto store = MetaStore::open_dir("");
  FakeClock clock;
  AccessCache acc(**store, std::chrono::milliseconds(1000), clock.fn());
  EXPECT_FALSE(acc.known_public("models/org/m", false));
  acc.record_public("models/org/m", true);
  EXPECT_TRUE(acc.known_public("models/org/m", true));
  clock.now += 5000;
  EXPECT_FALSE(acc.known_public("models/org/m", true));
  EXPECT_TRUE(acc.known_public("models/org/m", false));
  acc.record_public("models/org/m", false);  // went private
  EXPECT_FALSE(acc.known_public("models/org/m", false));
}

TEST(RepoFilter, DenyWinsAllowListRestricts) {
  RepoFilter f;
  EXPECT_TRUE(f.permits("models", "org/m"));
  f.deny = {"evil/*", "datasets/*"};
  EXPECT_FALSE(f.permits("models", "evil/m"));
  EXPECT_FALSE(f.permits("datasets", "org/d"));
  EXPECT_TRUE(f.permits("models", "org/m"));
  f.allow = {"org/*", "models/meta-llama/*"};
  EXPECT_TRUE(f.permits("models", "org/m"));
  EXPECT_TRUE(f.permits("models", "meta-llama/Llama-3"));
  EXPECT_FALSE(f.permits("models", "other/m"));
  EXPECT_FALSE(f.permits("spaces", "meta-llama/x"));
}
