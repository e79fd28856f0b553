// ClusterByteSource (fill_source.hpp): object store, else lease + upstream, else the lease
// holder's stream; polls while the holder has nothing to give, until the lease can be taken.
#include "cluster/fill_source.hpp"

#include <cstdio>
#include <thread>

namespace hubgate::cluster {

using upstream::ByteSource;
using upstream::ContentKey;
using upstream::DataSink;
using upstream::FillSpec;

std::string object_key(const ContentKey& key) {
  // sha256 bodies share the hosted blobs' keys (S3Store): one object per content.
  return key.algo == ContentKey::Algo::sha256 ? "blobs/" + key.hex : "upstream/gitsha1/" + key.hex;
}

namespace {

upstream::ClientOptions peer_options(std::chrono::milliseconds stall) {
  upstream::ClientOptions o;
  o.stall_timeout = stall;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.max_redirects = 0;
  return o;
}

// A sink that counts the bytes it passes on.
DataSink counting(const DataSink& sink, std::uint64_t& n) {
  return [&sink, &n](ByteView b) {
    n += b.size();
    return sink(b);
  };
}

}  // namespace

ClusterByteSource::ClusterByteSource(ByteSource& inner, Membership& members, std::shared_ptr<store::S3Client> s3,
                                     ClusterSourceOptions options)
    : inner_(inner),
      members_(members),
      s3_(std::move(s3)),
      opt_(std::move(options)),
      peer_client_(peer_options(opt_.stall_timeout)),
      peers_(peer_client_) {}

std::string ClusterByteSource::lease_key(const ContentKey& key) const {
  const auto& c = s3_->config();
  return "s3://" + c.bucket + "/" + (c.prefix.empty() ? "" : c.prefix + "/") + object_key(key);
}

Result<void> ClusterByteSource::fetch(const FillSpec& spec, std::uint64_t offset, const DataSink& sink,
                                      const std::atomic<bool>& cancel) {
  if (spec.xet_hash) return inner_.fetch(spec, offset, sink, cancel);  // Xet fills stay per node
  bool waited = false;
  for (;;) {
    if (cancel.load()) return fail(Errc::unavailable, "cancelled");
    HG_TRY(Step s, attempt(spec, offset, sink, cancel, waited));
    if (s == Step::done) return {};
    auto until = std::chrono::steady_clock::now() + opt_.poll;
    while (std::chrono::steady_clock::now() < until && !cancel.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Result<ClusterByteSource::Step> ClusterByteSource::attempt(const FillSpec& spec, std::uint64_t offset,
                                                           const DataSink& sink, const std::atomic<bool>& cancel,
                                                           bool& waited) {
  const std::string key = lease_key(spec.key);
  // 1. Another node finished it: the object store has the body.
  if (auto size = s3_->head(object_key(spec.key)); size && *size && **size == spec.size) {
    std::uint64_t n = 0;
    auto r = s3_->get(
        object_key(spec.key),
        [&](std::string_view s) -> Result<void> {
          n += s.size();
          if (!sink(as_bytes(s))) return fail(Errc::io, "the fill refused the bytes");
          return {};
        },
        offset);
    counters_.from_store.fetch_add(n, std::memory_order_relaxed);
    if (!r) return fail(r.error().code == Errc::io ? r.error() : Error(Errc::unavailable, r.error().message));
    return Step::done;
  }
  // 2. This node holds the lease (or takes it now): fetch from upstream.
  auto lease = members_.take_lease(key);
  if (!lease)
    std::fprintf(stderr, "hubgate: cluster: lease of %s: %s (fetching from upstream)\n", key.c_str(),
                 lease.error().message.c_str());
  if (!lease || lease->mine) {
    if (lease) {
      std::lock_guard lock(mu_);
      if (owned_.insert(key).second && waited) counters_.takeovers.fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t n = 0;
    auto r = inner_.fetch(spec, offset, counting(sink, n), cancel);
    counters_.from_upstream.fetch_add(n, std::memory_order_relaxed);
    HG_TRY_VOID(r);
    return Step::done;
  }
  // 3. Another node fills it: stream its fill. Nothing from it (not reachable, no fill yet):
  // look again after a pause; its lease expires if it died.
  waited = true;
  if (lease->owner_url.empty()) return Step::again;
  FillSpec peer;
  peer.key = spec.key;
  peer.size = spec.size;
  peer.url = lease->owner_url + std::string(kPeerPrefix) + spec.key.algo_name() + "/" + spec.key.hex;
  peer.headers = {{kSecretHeader, opt_.secret}};
  std::uint64_t n = 0;
  auto r = peers_.fetch(peer, offset, counting(sink, n), cancel);
  counters_.from_peer.fetch_add(n, std::memory_order_relaxed);
  if (n == 0) return Step::again;
  // The stream broke after some bytes (the holder died, or its fill failed): the fill resumes
  // from where it is, through this source again.
  if (!r) return fail(Errc::unavailable, "peer " + lease->owner_url + ": " + r.error().message);
  return Step::done;
}

void ClusterByteSource::finished(const FillSpec& spec, bool verified) {
  inner_.finished(spec, verified);
  if (verified) return;
  const std::string key = lease_key(spec.key);
  {
    std::lock_guard lock(mu_);
    if (!owned_.erase(key)) return;
  }
  members_.release_lease(key);  // failed: let another node (or a later request) try
}

void ClusterByteSource::stored(const FillSpec& spec, int fd) {
  inner_.stored(spec, fd);
  const std::string key = lease_key(spec.key);
  {
    std::lock_guard lock(mu_);
    if (!owned_.erase(key)) return;
  }
  // The verified body (still open through the fill's descriptor) goes to the object store
  // before the lease is released, so a node that finds no lease finds the object.
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  auto up = s3_->put_file_if_absent(object_key(spec.key), path,
                                    spec.key.algo == ContentKey::Algo::sha256 ? spec.key.hex : std::string());
  if (up) counters_.uploads.fetch_add(1, std::memory_order_relaxed);
  else std::fprintf(stderr, "hubgate: cluster: storing %s: %s\n", key.c_str(), up.error().message.c_str());
  members_.release_lease(key);
}

}  // namespace hubgate::cluster
