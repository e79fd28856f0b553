// `hubgate cluster status [--database URL] [--format text|json]`: the members of the cluster
// (live when their heartbeat is recent) and the fill leases held now.
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cluster/cluster.hpp"
#include "util/parse.hpp"

namespace hubgate {

int cluster_main(int argc, char** argv) {
  constexpr const char* usage =
      "usage: hubgate cluster status [--database postgresql://…] [--live-within SECONDS] [--format text|json]\n"
      "  status   list the nodes registered by `hubgate serve --database … --advertise URL`\n"
      "           (live: a heartbeat within --live-within seconds, default 30) and the fill\n"
      "           leases held now (which node fetches which file from upstream)\n"
      "  --database defaults to $HUBGATE_DATABASE_URL\n";
  auto a = cli::parse_args(argc, argv, {"--database", "--format", "--live-within"}, {"--help"});
  if (a && a->flags.count("--help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  std::string url = a ? a->get("--database", std::getenv("HUBGATE_DATABASE_URL") ? std::getenv("HUBGATE_DATABASE_URL") : "")
                      : std::string();
  std::string format = a ? a->get("--format", "text") : std::string();
  auto live_s = a ? parse_u64(a->get("--live-within", "30")) : std::nullopt;
  if (!a || a->positional.size() != 1 || a->positional[0] != "status" || url.empty() ||
      (format != "text" && format != "json") || !live_s || *live_s == 0) {
    if (!a) std::fprintf(stderr, "hubgate cluster: %s\n", a.error().message.c_str());
    std::fputs(usage, stderr);
    return 2;
  }
  auto c = db::Connection::open(url);
  if (!c) {
    std::fprintf(stderr, "hubgate cluster: %s\n", c.error().message.c_str());
    return 1;
  }
  if (auto v = db::schema_version(**c); !v || *v < 2) {
    std::fprintf(stderr, "hubgate cluster: the database has no cluster schema yet (run hubgate db migrate)\n");
    return 1;
  }
  auto members = cluster::list_members(**c, std::chrono::seconds(*live_s));
  auto leases = members ? cluster::list_leases(**c) : Result<std::vector<cluster::LeaseRow>>(fail(members.error()));
  if (!leases) {
    std::fprintf(stderr, "hubgate cluster: %s\n", leases.error().message.c_str());
    return 1;
  }
  if (format == "json") {
    nlohmann::json out = {{"members", nlohmann::json::array()}, {"leases", nlohmann::json::array()}};
    for (auto& m : *members)
      out["members"].push_back({{"id", m.id}, {"advertise_url", m.advertise_url}, {"started_at", m.started_at},
                                {"heartbeat_age_s", m.heartbeat_age_s}, {"live", m.live}, {"leases", m.leases}});
    for (auto& l : *leases)
      out["leases"].push_back({{"key", l.key}, {"owner", l.owner}, {"expires_in_s", l.expires_in_s}});
    std::puts(out.dump(2).c_str());
    return 0;
  }
  std::printf("%-18s %-5s %-10s %-7s %-21s %s\n", "MEMBER", "STATE", "HEARTBEAT", "LEASES", "STARTED", "ADVERTISE");
  for (auto& m : *members)
    std::printf("%-18s %-5s %-10s %-7ld %-21s %s\n", m.id.c_str(), m.live ? "live" : "dead",
                (std::to_string(long(m.heartbeat_age_s)) + "s ago").c_str(), m.leases, m.started_at.c_str(),
                m.advertise_url.c_str());
  for (auto& l : *leases)
    std::printf("lease %s owner %s %s %.1fs\n", l.key.c_str(), l.owner.c_str(),
                l.expires_in_s >= 0 ? "expires in" : "expired", l.expires_in_s >= 0 ? l.expires_in_s : -l.expires_in_s);
  return 0;
}

}  // namespace hubgate
