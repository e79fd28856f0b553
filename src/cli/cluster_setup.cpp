#include "cli/cluster_setup.hpp"

#include <cstdlib>
#include <limits>

#include <toml++/toml.h>


namespace hubgate::cli {

const char* const kClusterUsage = R"(
cluster mode (several nodes on one object store and --database; README.md "Cluster mode"):
  --advertise URL       this node's base URL as the other nodes reach it; registers the node in
                        the database (hubgate cluster status) and makes one node of the cluster
                        fetch each upstream file while the others stream it from that node or
                        the object store (needs --database and --store s3://...)
  --cluster-secret S    shared by the nodes, authenticates the peer route (env
                        HUBGATE_CLUSTER_SECRET; TOML [cluster] secret)
  --lease-ttl SECONDS   a dead node's fills are taken over after this (default 10)
)";

const std::set<std::string>& cluster_flags() {
  static const std::set<std::string> flags = {"--advertise", "--cluster-secret", "--lease-ttl"};
  return flags;
}

Result<void> cluster_config_from_toml(const std::string& path, ClusterConfig& cfg) {
  try {
    toml::table t = toml::parse_file(path);
    if (auto* c = t["cluster"].as_table()) {
      if (auto v = (*c)["advertise"].value<std::string>()) cfg.advertise = *v;
      if (auto v = (*c)["secret"].value<std::string>()) cfg.secret = *v;
      if (auto v = (*c)["lease_ttl"].value<double>()) cfg.lease_ttl_s = *v;
    }
  } catch (const toml::parse_error& e) {
    return fail(Errc::invalid_argument, path + ": " + std::string(e.description()));
  }
  return {};
}

Result<void> cluster_config_from_args(const Args& a, ClusterConfig& cfg) {
  auto env = [](const char* k) { return std::getenv(k) ? std::string(std::getenv(k)) : std::string(); };
  if (!env("HUBGATE_CLUSTER_SECRET").empty()) cfg.secret = env("HUBGATE_CLUSTER_SECRET");
  if (a.has("--advertise")) cfg.advertise = a.get("--advertise");
  if (a.has("--cluster-secret")) cfg.secret = a.get("--cluster-secret");
  if (a.has("--lease-ttl")) {
    char* end = nullptr;
    std::string v = a.get("--lease-ttl");
    cfg.lease_ttl_s = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0') return fail(Errc::invalid_argument, "--lease-ttl wants seconds");
  }
  while (!cfg.advertise.empty() && cfg.advertise.back() == '/') cfg.advertise.pop_back();
  if (!cfg.enabled()) return {};
  if (!cfg.advertise.starts_with("http://") && !cfg.advertise.starts_with("https://"))
    return fail(Errc::invalid_argument, "--advertise must be an http(s) URL");
  if (cfg.secret.size() < 16)
    return fail(Errc::invalid_argument, "--advertise needs a cluster secret of at least 16 characters (--cluster-secret)");
  if (!(cfg.lease_ttl_s >= 0.3 && cfg.lease_ttl_s <= 3600)) return fail(Errc::invalid_argument, "--lease-ttl must be 0.3..3600");
  return {};
}

Result<std::unique_ptr<ClusterRuntime>> open_cluster(const ClusterConfig& cfg, std::shared_ptr<store::S3Client> s3,
                                                     upstream::EdgeOptions& edge) {
  if (cfg.database_url.empty()) return fail(Errc::invalid_argument, "--advertise needs --database (or HUBGATE_DATABASE_URL)");
  if (!s3) return fail(Errc::invalid_argument, "--advertise needs the shared object store (--store s3://...)");
  auto rt = std::make_unique<ClusterRuntime>();
  cluster::MemberOptions mo;
  mo.database_url = cfg.database_url;
  mo.advertise_url = cfg.advertise;
  mo.lease_ttl = std::chrono::milliseconds(std::int64_t(cfg.lease_ttl_s * 1000));
  HG_TRY(rt->members, cluster::Membership::join(mo));
  rt->secret = cfg.secret;
  cluster::ClusterSourceOptions so;
  so.secret = cfg.secret;
  so.stall_timeout = edge.stall_timeout;
  edge.wrap_source = [r = rt.get(), s3, so](upstream::ByteSource& inner) -> std::unique_ptr<upstream::ByteSource> {
    auto src = std::make_unique<cluster::ClusterByteSource>(inner, *r->members, s3, so);
    r->source = src.get();
    return src;
  };
  // A far Range would be its own upstream transfer on every node: wait for the fill instead.
  edge.far_range_bytes = std::numeric_limits<std::uint64_t>::max() / 2;
  return rt;
}

std::optional<http::Response> ClusterRuntime::route(upstream::Edge* edge, const http::Request& req) const {
  if (!edge) return std::nullopt;
  return cluster::handle_peer(*edge, req, secret);
}

std::string ClusterRuntime::metrics_text() const {
  if (!source) return {};
  const auto& c = source->counters();
  auto line = [](const char* name, const char* labels, std::uint64_t v) {
    return std::string(name) + labels + " " + std::to_string(v) + "\n";
  };
  return "# TYPE hubgate_cluster_fill_bytes counter\n" +
         line("hubgate_cluster_fill_bytes", "{source=\"store\"}", c.from_store.load()) +
         line("hubgate_cluster_fill_bytes", "{source=\"peer\"}", c.from_peer.load()) +
         line("hubgate_cluster_fill_bytes", "{source=\"upstream\"}", c.from_upstream.load()) +
         "# TYPE hubgate_cluster_uploads counter\n" + line("hubgate_cluster_uploads", "", c.uploads.load()) +
         "# TYPE hubgate_cluster_takeovers counter\n" + line("hubgate_cluster_takeovers", "", c.takeovers.load());
}

}  // namespace hubgate::cli
