// Membership (member rows, leases, expiry and takeover) and ClusterByteSource (object store
// first, upstream under the lease, upload + release after a verified fill) against the
// PostgreSQL and SeaweedFS of the ctest fixture `services`. The peer path and kill -9 are in
// tests/e2e_cluster/test_cluster_fill.py.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "../db/pg_testing.hpp"
#include "../store/services_env.hpp"
#include "cluster/cluster.hpp"
#include "cluster/fill_source.hpp"
#include "crypto/sha.hpp"
#include "util/hex.hpp"

using namespace hubgate;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<cluster::Membership> join(const std::string& url, const std::string& advertise,
                                          std::chrono::milliseconds ttl = 60s) {
  auto m = cluster::Membership::join({url, advertise, ttl});
  EXPECT_TRUE(m) << m.error().message;
  return std::move(*m);
}

// Upstream in memory: counts the fetches that reached it.
class MemorySource final : public upstream::ByteSource {
 public:
  explicit MemorySource(std::string body) : body_(std::move(body)) {}
  Result<void> fetch(const upstream::FillSpec&, std::uint64_t offset, const upstream::DataSink& sink,
                     const std::atomic<bool>&) override {
    fetches++;
    sink(as_bytes(std::string_view(body_).substr(offset)));
    return {};
  }
  int fetches = 0;

 private:
  std::string body_;
};

upstream::FillSpec spec_of(const std::string& body) {
  upstream::FillSpec s;
  s.key = *upstream::ContentKey::make(upstream::ContentKey::Algo::sha256, to_hex(crypto::sha256(as_bytes(body))));
  s.size = body.size();
  return s;
}

std::string drain(upstream::ByteSource& src, const upstream::FillSpec& spec, std::uint64_t offset) {
  std::string got;
  std::atomic<bool> cancel{false};
  auto r = src.fetch(spec, offset, [&](ByteView b) {
    got.append(reinterpret_cast<const char*>(b.data()), b.size());
    return true;
  }, cancel);
  EXPECT_TRUE(r) << r.error().message;
  return got;
}

}  // namespace

TEST(Membership, RegistersAndHandsEachLeaseToOneNode) {
  std::string url = db::testing::fresh_database("lease");
  auto a = join(url, "http://a:1");
  auto b = join(url, "http://b:2");
  auto c = db::Connection::open(url);
  ASSERT_TRUE(c);
  auto members = cluster::list_members(**c, 30s);
  ASSERT_TRUE(members);
  ASSERT_EQ(members->size(), 2u);
  EXPECT_TRUE((*members)[0].live && (*members)[1].live);

  auto la = a->take_lease("s3://b/blobs/x");
  ASSERT_TRUE(la);
  EXPECT_TRUE(la->mine);
  auto lb = b->take_lease("s3://b/blobs/x");
  ASSERT_TRUE(lb);
  EXPECT_FALSE(lb->mine);
  EXPECT_EQ(lb->owner, a->id());
  EXPECT_EQ(lb->owner_url, "http://a:1");
  EXPECT_TRUE(a->take_lease("s3://b/blobs/x")->mine);  // the holder keeps it
  a->release_lease("s3://b/blobs/x");
  EXPECT_TRUE(b->take_lease("s3://b/blobs/x")->mine);  // released: the next node takes it

  // A lease whose owner stopped renewing it (expired) is taken over.
  EXPECT_TRUE(a->take_lease("s3://b/blobs/y")->mine);
  ASSERT_TRUE((*c)->exec("UPDATE fill_leases SET expires_at = now() - interval '1 second'"));
  auto over = b->take_lease("s3://b/blobs/y");
  ASSERT_TRUE(over);
  EXPECT_TRUE(over->mine);
  EXPECT_FALSE(a->take_lease("s3://b/blobs/y")->mine);

  // Leaving removes the member row and its leases.
  b.reset();
  members = cluster::list_members(**c, 30s);
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].id, a->id());
  auto leases = cluster::list_leases(**c);
  ASSERT_TRUE(leases);
  EXPECT_TRUE(leases->empty());
}

TEST(Membership, HeartbeatRenewsLeases) {
  std::string url = db::testing::fresh_database("heartbeat");
  auto a = join(url, "http://a:1", 900ms);  // heartbeat every 300 ms
  ASSERT_TRUE(a->take_lease("k")->mine);
  auto c = db::Connection::open(url);
  ASSERT_TRUE(c);
  auto first = (*c)->query("SELECT expires_at FROM fill_leases WHERE key = 'k'");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);
  // Waits for the event (a later expiry written by the heartbeat), not for a duration.
  bool renewed = false;
  for (int i = 0; i < 600 && !renewed; ++i) {
    std::this_thread::sleep_for(50ms);
    auto r = (*c)->query("SELECT expires_at > $1::timestamptz FROM fill_leases WHERE key = 'k'", {*(*first)[0][0]});
    renewed = r && r->size() == 1 && (*r)[0][0] == std::optional<std::string>("t");
  }
  EXPECT_TRUE(renewed);
  auto members = cluster::list_members(**c, 60s);
  ASSERT_TRUE(members);
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].leases, 1);
}

TEST(ClusterByteSource, StoreFirstThenUpstreamUnderTheLease) {
  std::string url = db::testing::fresh_database("source");
  auto s3 = std::make_shared<store::S3Client>(store::testing::services_s3("cluster-source"));
  auto a = join(url, "http://127.0.0.1:1");
  std::string body(3u << 20, 'x');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = char(i * 7919 % 251);
  auto spec = spec_of(body);
  MemorySource up(body);
  cluster::ClusterByteSource src(up, *a, s3, {"0123456789abcdef0123", 20ms, 2s});

  // Cold: the lease is free, so this node fetches from upstream; the verified body is stored.
  EXPECT_EQ(drain(src, spec, 0), body);
  EXPECT_EQ(up.fetches, 1);
  char tmpl[] = "/tmp/cluster-test-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, body.data(), body.size()), ssize_t(body.size()));
  src.finished(spec, true);
  src.stored(spec, fd);
  ::close(fd);
  ::unlink(tmpl);
  EXPECT_EQ(src.counters().uploads.load(), 1u);
  auto stored = s3->get_bytes(cluster::object_key(spec.key));
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, body);
  auto c = db::Connection::open(url);
  EXPECT_TRUE(cluster::list_leases(**c)->empty());  // released after the upload

  // Warm in the store: no upstream fetch, resumes at the offset.
  EXPECT_EQ(drain(src, spec, 1000), body.substr(1000));
  EXPECT_EQ(up.fetches, 1);
  EXPECT_EQ(src.counters().from_store.load(), body.size() - 1000);
  (void)s3->remove(cluster::object_key(spec.key));
}

TEST(ClusterByteSource, AFailedFillReleasesTheLease) {
  std::string url = db::testing::fresh_database("failed");
  auto s3 = std::make_shared<store::S3Client>(store::testing::services_s3("cluster-failed"));
  auto a = join(url, "http://127.0.0.1:1");
  auto b = join(url, "http://127.0.0.1:2");
  std::string body = "not what was declared";
  auto spec = spec_of("something else");
  spec.size = body.size();
  MemorySource up(body);
  cluster::ClusterByteSource src(up, *a, s3, {"0123456789abcdef0123", 20ms, 2s});
  drain(src, spec, 0);
  EXPECT_FALSE(b->take_lease("s3://" + s3->config().bucket + "/" + s3->config().prefix + "/" +
                             cluster::object_key(spec.key))
                   ->mine);
  src.finished(spec, false);  // hash mismatch: nothing stored, the lease goes
  EXPECT_TRUE(b->take_lease("s3://" + s3->config().bucket + "/" + s3->config().prefix + "/" +
                            cluster::object_key(spec.key))
                  ->mine);
  EXPECT_FALSE(s3->head(cluster::object_key(spec.key))->has_value());
}
