// `hubgate serve`'s cluster mode: membership, fill leases and the peer route (src/cluster/).
//
// Configuration (defaults < TOML < environment < flags where noted), documented in README.md
// "Cluster mode"; the database is serve's own `--database` (`[database] url`, HUBGATE_DATABASE_URL):
//   [cluster]
//   advertise = "http://10.0.0.5:8080"   # --advertise URL: turns the coordination on
//   secret = "…"                    # --cluster-secret S, env HUBGATE_CLUSTER_SECRET (peer route)
//   lease_ttl = 10                  # --lease-ttl SECONDS
// Coordination needs --advertise, a database and --store s3://… (the shared object store).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "cli/args.hpp"
#include "cluster/cluster.hpp"
#include "cluster/fill_source.hpp"
#include "http/message.hpp"
#include "store/s3_client.hpp"
#include "upstream/edge.hpp"

namespace hubgate::cli {

struct ClusterConfig {
  std::string database_url;  // serve's --database (README "Metadata in PostgreSQL"), set by serve
  std::string advertise;
  std::string secret;
  double lease_ttl_s = 10;
  bool enabled() const { return !advertise.empty(); }
};

Result<void> cluster_config_from_toml(const std::string& path, ClusterConfig& cfg);
// Environment, then the flags.
Result<void> cluster_config_from_args(const Args& a, ClusterConfig& cfg);
const std::set<std::string>& cluster_flags();
extern const char* const kClusterUsage;

struct ClusterRuntime {
  std::unique_ptr<cluster::Membership> members;
  cluster::ClusterByteSource* source = nullptr;  // owned by the edge (EdgeOptions::wrap_source)
  std::string secret;
  // The peer route, or nullopt for every other request.
  std::optional<http::Response> route(upstream::Edge* edge, const http::Request& req) const;
  // Prometheus lines: bytes filled from the store / peers / upstream, uploads, takeovers.
  std::string metrics_text() const;
};

// Joins the cluster (migrations, member row, heartbeat) and sets the edge's fill-source wrapper;
// Ranges far ahead of a fill are not fetched from upstream on their own in this mode.
Result<std::unique_ptr<ClusterRuntime>> open_cluster(const ClusterConfig& cfg, std::shared_ptr<store::S3Client> s3,
                                                     upstream::EdgeOptions& edge);

}  // namespace hubgate::cli
