// `hubgate audit`: lists the security gate's decision log (<data>/audit.db, src/audit/) —
// scan verdicts, blocks, exceptions, warnings, signature decisions — filtered by repository
// glob, time, kind and content; as text (one tab-separated line per record) or JSON (the same
// array GET /api/admin/audit returns).
#include <cstdio>
#include <sys/stat.h>

#include "audit/audit.hpp"
#include "cli/args.hpp"
#include "cli/metadata.hpp"
#include "util/parse.hpp"

namespace hubgate {

int audit_main(int argc, char** argv) {
  constexpr const char* usage =
      "usage: hubgate audit [--data-dir DIR | --database URL] [--repo GLOB] [--since TIME] [--until TIME] [--kind KIND]\n"
      "                     [--sha256 HEX] [--path PATH] [--limit N] [--format text|json]\n"
      "  lists the gate's decisions (<data>/audit.db), oldest first; the newest N (default 1000).\n"
      "  TIME: unix seconds, 2026-11-26[T08:00:00Z], or a duration back from now (30m, 2h, 7d).\n"
      "  KIND: scan | block | exception | warn | signature. GLOB: 'org/*' ('*' matches '/').\n"
      "  --database postgresql://…: a cluster's log (what `serve --database` writes).\n";
  auto a = cli::parse_args(argc, argv, {"--data-dir", "--database", "--repo", "--since", "--until", "--kind", "--sha256", "--path", "--limit", "--format"},
                           {"--help"});
  if (!a || !a->positional.empty()) {
    if (!a) std::fprintf(stderr, "hubgate audit: %s\n", a.error().message.c_str());
    std::fputs(usage, stderr);
    return 2;
  }
  if (a->flags.count("--help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  audit::Filter f;
  f.limit = 1000;
  f.repo = a->get("--repo");
  f.sha256 = a->get("--sha256");
  f.path = a->get("--path");
  std::int64_t now = audit::now_ms();
  for (auto [flag, out] : {std::pair{"--since", &f.since_ms}, std::pair{"--until", &f.until_ms}}) {
    if (!a->has(flag)) continue;
    auto t = audit::parse_time(a->get(flag), now);
    if (!t) {
      std::fprintf(stderr, "hubgate audit: %s: %s\n", flag, t.error().message.c_str());
      return 2;
    }
    *out = *t;
  }
  if (a->has("--kind")) {
    f.kind = audit::kind_from_name(a->get("--kind"));
    if (!f.kind) {
      std::fprintf(stderr, "hubgate audit: unknown --kind '%s'\n", a->get("--kind").c_str());
      return 2;
    }
  }
  if (a->has("--limit")) {
    auto n = parse_u64(a->get("--limit"));
    if (!n || *n == 0 || *n > 1000000) {
      std::fprintf(stderr, "hubgate audit: --limit must be 1..1000000\n");
      return 2;
    }
    f.limit = std::size_t(*n);
  }
  std::string format = a->get("--format", "text");
  if (format != "text" && format != "json") {
    std::fprintf(stderr, "hubgate audit: --format must be text or json\n");
    return 2;
  }
  auto open_log = [&]() -> Result<std::unique_ptr<audit::Log>> {
    if (a->has("--database")) {
      HG_TRY(auto pool, cli::open_database(a->get("--database"), 1));
      return audit::Log::open_pg(std::move(pool));
    }
    std::string path = a->get("--data-dir", "./data") + "/audit.db";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return fail(Errc::not_found, "no audit log at " + path);
    return audit::Log::open(path);
  };
  auto log = open_log();
  if (!log) {
    std::fprintf(stderr, "hubgate audit: %s\n", log.error().message.c_str());
    return 1;
  }
  auto recs = (*log)->query(f);
  if (!recs) {
    std::fprintf(stderr, "hubgate audit: %s\n", recs.error().message.c_str());
    return 1;
  }
  std::string out = format == "json" ? audit::to_json(*recs) + "\n" : audit::to_text(*recs);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace hubgate
