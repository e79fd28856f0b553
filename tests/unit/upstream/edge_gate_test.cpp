// The first client of a cold file under the security gate: with the response head held until the
// verdict (EdgeOptions::hold_head_bytes), a blocked file gets the same 403 as every later
// request, a passing one its whole body (with the gate's headers); above the threshold the head
// waits for the early phase: an early verdict's block is the same 403, otherwise the response
// streams chunked under the fill's hold and a late block ends it with a line naming the block.
#include <gtest/gtest.h>

#include <atomic>

#include "fake_upstream.hpp"
#include "upstream/edge.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;

namespace {

constexpr std::size_t kSize = 256u << 10;

struct GateStub {
  std::atomic<bool> block{false};      // before_publish refuses
  std::atomic<bool> decided{false};    // a verdict exists (set by before_publish)
  std::atomic<int> publishes{0};
};

EdgeOptions gated_options(const FakeUpstream& up, const TempDir& dir, GateStub& g) {
  EdgeOptions o;
  o.upstream = up.url();
  o.cache_dir = dir.str();
  o.fill_gate.early = [](ByteView, std::uint64_t) { return EarlyRelease::hold; };
  o.fill_gate.before_publish = [&g](const FillSpec&, const std::string&) -> Result<void> {
    g.publishes.fetch_add(1);
    g.decided.store(true);
    if (g.block.load()) return fail(Errc::permission_denied, "blocked: pickle.dangerous-global os.system");
    return {};
  };
  o.serve_check = [&g](const ServeQuery&) {
    ServeCheck c;
    if (!g.decided.load()) return c;
    c.known = true;
    if (g.block.load()) {
      http::Response r = http::json_response(403, R"({"error": "blocked by security policy"})");
      r.headers.set("X-Error-Code", "BlockedBySecurityPolicy");
      r.headers.set("X-Error-Message", "pickle.dangerous-global os.system");
      c.refusal = std::move(r);
    } else {
      c.headers.emplace_back("X-Hubgate-Security", "suspicious; pickle.unknown-global");
    }
    return c;
  };
  return o;
}

http::Response get(Edge& edge) {
  http::Request req;
  req.method = "GET";
  return edge.handle("resolve", req, "models", "org/model", "main/model.bin", "http://edge.invalid");
}

// The gate's 403, naming the rule.
void expect_refused(const http::Response& r) {
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.headers.get("X-Error-Code").value_or(""), "BlockedBySecurityPolicy");
  EXPECT_NE(r.headers.get("X-Error-Message").value_or("").find("os.system"), std::string::npos);
}

Result<std::string> body_of(http::Response& res) {
  if (auto* s = std::get_if<std::string>(&res.body)) return *s;
  auto* p = std::get_if<std::shared_ptr<http::BodyProducer>>(&res.body);
  if (!p) return fail(Errc::internal, "expected a produced body");
  return drain(**p);
}

}  // namespace

TEST(EdgeGate, FirstClientOfABlockedFileGetsTheRefusal) {
  FakeUpstream up(kSize);
  ASSERT_TRUE(up.ok());
  TempDir dir;
  GateStub g;
  g.block = true;
  auto edge = Edge::create(gated_options(up, dir, g));
  ASSERT_TRUE(edge) << edge.error().message;
  auto first = get(**edge);
  expect_refused(first);
  EXPECT_TRUE(first.headers.get("X-Repo-Commit").has_value());
  EXPECT_EQ(g.publishes.load(), 1);
  // The second client: the same refusal, from the stored verdict, without a second fill.
  auto second = get(**edge);
  EXPECT_EQ(second.status, 403);
  EXPECT_EQ(second.headers.get("X-Error-Code").value_or(""), "BlockedBySecurityPolicy");
  EXPECT_EQ(g.publishes.load(), 1);
}

TEST(EdgeGate, WithoutAStoredVerdictTheFillsRefusalIsSent) {
  // The gate's check cannot find the verdict (another key): the fill's own error still makes a 403.
  FakeUpstream up(kSize);
  ASSERT_TRUE(up.ok());
  TempDir dir;
  GateStub g;
  g.block = true;
  EdgeOptions o = gated_options(up, dir, g);
  o.serve_check = [](const ServeQuery&) { return ServeCheck{}; };
  auto edge = Edge::create(o);
  ASSERT_TRUE(edge) << edge.error().message;
  auto first = get(**edge);
  expect_refused(first);
}

TEST(EdgeGate, FirstClientOfAPassingFileGetsItWithTheGatesHeaders) {
  FakeUpstream up(kSize);
  ASSERT_TRUE(up.ok());
  TempDir dir;
  GateStub g;
  auto edge = Edge::create(gated_options(up, dir, g));
  ASSERT_TRUE(edge) << edge.error().message;
  auto first = get(**edge);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.headers.get("X-Hubgate-Security").value_or(""), "suspicious; pickle.unknown-global");
  auto body = body_of(first);
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ(body->size(), kSize);
}

TEST(EdgeGate, AboveTheThresholdTheResponseStreamsAndEndsShort) {
  FakeUpstream up(kSize);
  ASSERT_TRUE(up.ok());
  TempDir dir;
  GateStub g;
  g.block = true;
  EdgeOptions o = gated_options(up, dir, g);
  o.hold_head_bytes = kSize - 1;
  auto edge = Edge::create(o);
  ASSERT_TRUE(edge) << edge.error().message;
  auto first = get(**edge);
  EXPECT_EQ(first.status, 200);
  EXPECT_FALSE(first.producer_length.has_value()) << "sent before its verdict: chunked";
  auto body = body_of(first);
  ASSERT_FALSE(body) << "a blocked file's body must not complete";
  EXPECT_TRUE(body.error().message.starts_with("hubgate: BlockedBySecurityPolicy: ")) << body.error().message;
  EXPECT_NE(body.error().message.find("os.system"), std::string::npos);
}

TEST(EdgeGate, AboveTheThresholdAnEarlyVerdictRefusesTheFirstClient) {
  FakeUpstream up(kSize);
  ASSERT_TRUE(up.ok());
  TempDir dir;
  GateStub g;
  EdgeOptions o = gated_options(up, dir, g);
  o.hold_head_bytes = kSize - 1;
  o.fill_gate.verdict_min_size = kSize - 1;
  std::atomic<int> calls{0};
  o.fill_gate.verdict_early = [&](const FillSpec&, ByteView, bool, const RangeRead&) {
    calls++;
    return EarlyVerdict{EarlyVerdict::State::block, "blocked by security policy: pickle.dangerous-global os.system"};
  };
  auto edge = Edge::create(o);
  ASSERT_TRUE(edge) << edge.error().message;
  auto first = get(**edge);
  expect_refused(first);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(g.publishes.load(), 0);  // stopped before its end: never scanned whole, never published
}
