// A Range far ahead of a running fill is answered by its own upstream request while the fill
// is held back by a stalled upstream (fake_upstream.py `stall_at`); near ranges wait for the fill.
#include <gtest/gtest.h>

#include "fake_upstream.hpp"
#include "upstream/edge.hpp"

using namespace hubgate;
using namespace hubgate::upstream;
using namespace hubgate::upstream::testing;

namespace {

http::Response get_range(Edge& edge, const std::string& range) {
  http::Request req;
  req.method = "GET";
  req.headers.add("Range", range);
  return edge.handle("resolve", req, "models", "org/model", "main/model.bin", "http://edge.invalid");
}

Result<std::string> body_of(http::Response& res) {
  auto* p = std::get_if<std::shared_ptr<http::BodyProducer>>(&res.body);
  if (!p) return fail(Errc::internal, "expected a produced body");
  return drain(**p);
}

}  // namespace

TEST(EdgeRange, FarRangeIsFetchedOnItsOwnWhileTheFillIsStalled) {
  constexpr std::size_t kSize = 4u << 20;
  FakeUpstream up(kSize);
  ASSERT_TRUE(up.ok());
  std::string body;
  {
    Client c;
    HttpRequest r;
    r.url = up.url() + "/org/model/resolve/main/model.bin";
    auto resp = c.send(r);
    ASSERT_TRUE(resp && resp->status == 200);
    body = resp->body;
  }
  ASSERT_EQ(body.size(), kSize);
  up.reset();
  // The fill's transfer (the first body request) sends 64 KiB, then stalls for 60 s.
  up.control({{"faults", {{"model.bin", {{"stall_at", 65536}, {"stall_s", 60}, {"times", 1}}}}}});

  TempDir dir;
  EdgeOptions o;
  o.upstream = up.url();
  o.cache_dir = dir.str();
  o.far_range_bytes = 256u << 10;
  o.stall_timeout = std::chrono::seconds(60);
  auto edge = Edge::create(o);
  ASSERT_TRUE(edge) << edge.error().message;

  // Near range: starts the fill and is served from it.
  auto near = get_range(**edge, "bytes=0-999");
  ASSERT_EQ(near.status, 206);
  auto near_body = body_of(near);
  ASSERT_TRUE(near_body) << near_body.error().message;
  EXPECT_EQ(*near_body, body.substr(0, 1000));
  EXPECT_EQ((*edge)->metrics().range_fetches.load(), 0u);

  // Far range: its own upstream request; complete and correct while the fill is still stalled.
  auto far = get_range(**edge, "bytes=3000000-3099999");
  ASSERT_EQ(far.status, 206);
  EXPECT_EQ(*far.headers.get("Content-Range"), "bytes 3000000-3099999/" + std::to_string(kSize));
  auto far_body = body_of(far);
  ASSERT_TRUE(far_body) << far_body.error().message;
  EXPECT_EQ(*far_body, body.substr(3000000, 100000));
  EXPECT_EQ((*edge)->metrics().range_fetches.load(), 1u);
  EXPECT_EQ((*edge)->metrics().fills_in_flight.load(), 1);
  EXPECT_EQ((*edge)->metrics().fills_completed.load(), 0u);
  EXPECT_LT((*edge)->metrics().bytes_from_upstream.load(), 3000000u);

  // A range within reach of the fill position still waits for the fill (no new request).
  auto near2 = get_range(**edge, "bytes=10000-10999");
  auto near2_body = body_of(near2);
  ASSERT_TRUE(near2_body) << near2_body.error().message;
  EXPECT_EQ(*near2_body, body.substr(10000, 1000));
  EXPECT_EQ((*edge)->metrics().range_fetches.load(), 1u);
  EXPECT_EQ(up.body_requests("model.bin"), 2);  // the fill + the far range
  EXPECT_EQ((*edge)->metrics().fills_completed.load(), 0u);
}
