// ClusterByteSource: the fill source of an edge node in cluster mode (ARCHITECTURE.md "Cluster
// mode: one upstream transfer per file"). It wraps the node's own source (upstream) and, for
// each attempt of a fill, takes the bytes from the first of:
//   1. the object store, when the file is there (`blobs/<sha256>`, `upstream/gitsha1/<hex>`):
//      a ranged GET from the fill's offset, no upstream traffic;
//   2. upstream, when this node holds (or now takes) the file's lease (Membership::take_lease);
//   3. the lease holder, over the peer route (`GET <advertise>/internal/cluster/fill/<algo>/<hex>`
//      with `X-Hubgate-Cluster-Secret`), which streams its own running fill as it lands.
// When the holder cannot be reached (or has no fill yet), the attempt polls 1–3 again until the
// lease expires and this node takes it over (resuming upstream at its own offset). Every path
// ends in the node's own Fill, which checks the size and hash: a peer or the store can delay a
// file, never corrupt it. The node that fetched from upstream uploads the verified body to the
// object store (`stored`, create-if-absent, SHA-256-checked by the store for sha256 keys), then
// releases the lease; a failed fill releases it at once.
//
// Xet-backed files (spec.xet_hash) are not coordinated: each node runs its own Xet fill.
// A database error makes the attempt fetch from upstream (availability over deduplication).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "cluster/cluster.hpp"
#include "http/message.hpp"
#include "store/s3_client.hpp"
#include "upstream/client.hpp"
#include "upstream/fill.hpp"

namespace hubgate::upstream {
class Edge;
}

namespace hubgate::cluster {

inline constexpr const char* kSecretHeader = "X-Hubgate-Cluster-Secret";
inline constexpr std::string_view kPeerPrefix = "/internal/cluster/fill/";

struct ClusterSourceOptions {
  std::string secret;                              // shared by the nodes (peer route)
  std::chrono::milliseconds poll{200};             // wait between looks while another node fills
  std::chrono::milliseconds stall_timeout{30000};  // a peer stream without a byte for this long breaks
};

// Bytes of a fill by where they came from (tests, metrics, bench).
struct SourceCounters {
  std::atomic<std::uint64_t> from_store{0}, from_peer{0}, from_upstream{0}, uploads{0}, takeovers{0};
};

class ClusterByteSource final : public upstream::ByteSource {
 public:
  ClusterByteSource(upstream::ByteSource& inner, Membership& members, std::shared_ptr<store::S3Client> s3,
                    ClusterSourceOptions options);

  Result<void> fetch(const upstream::FillSpec& spec, std::uint64_t offset, const upstream::DataSink& sink,
                     const std::atomic<bool>& cancel) override;
  void finished(const upstream::FillSpec& spec, bool verified) override;
  void stored(const upstream::FillSpec& spec, int fd) override;
  // The security gate's early look (a zip's directory and small members) reads upstream
  // directly: a few small ranges per node, not the file.
  Result<void> fetch_range(const upstream::FillSpec& spec, std::uint64_t first, std::uint64_t length,
                           const upstream::DataSink& sink, const std::atomic<bool>& cancel) override {
    return inner_.fetch_range(spec, first, length, sink, cancel);
  }

  const SourceCounters& counters() const { return counters_; }

 private:
  enum class Step { done, again };
  Result<Step> attempt(const upstream::FillSpec& spec, std::uint64_t offset, const upstream::DataSink& sink,
                       const std::atomic<bool>& cancel, bool& waited_on_owner);
  // Leases are per object (s3://bucket/prefix/<object_key>): clusters on other stores sharing
  // the database never wait on each other.
  std::string lease_key(const upstream::ContentKey& key) const;

  upstream::ByteSource& inner_;
  Membership& members_;
  std::shared_ptr<store::S3Client> s3_;
  ClusterSourceOptions opt_;
  upstream::Client peer_client_;
  upstream::HttpByteSource peers_;
  std::mutex mu_;
  std::set<std::string> owned_;  // keys this node fetched from upstream (lease held)
  SourceCounters counters_;
};

// The object-store key of a filled body, relative to the store's prefix.
std::string object_key(const upstream::ContentKey& key);

// The peer route: GET/HEAD <kPeerPrefix><algo>/<hex>, answered by `edge.serve_content` when
// the request carries the cluster secret (else 401). nullopt when the path is not the route.
std::optional<http::Response> handle_peer(upstream::Edge& edge, const http::Request& req, const std::string& secret);

}  // namespace hubgate::cluster
