// `hubgate db migrate|status --database URL`: applies the schema migrations by hand (serve
// applies them at start) or prints the schema version.
#include <cstdio>
#include <cstdlib>

#include "db/db.hpp"

namespace hubgate {

int db_main(int argc, char** argv) {
  constexpr const char* usage =
      "usage: hubgate db migrate|status [--database postgresql://…]\n"
      "  migrate  apply the schema migrations not yet applied (each once, in a transaction)\n"
      "  status   print the applied schema version and the latest one\n"
      "  --database defaults to $HUBGATE_DATABASE_URL\n";
  std::string cmd, url;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--database" && i + 1 < argc) url = argv[++i];
    else if (a.starts_with("--database=")) url = a.substr(11);
    else if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      return 0;
    } else if (cmd.empty() && !a.starts_with("-")) cmd = a;
    else {
      std::fprintf(stderr, "hubgate db: %s '%s'\n%s", a.starts_with("-") ? "unknown option" : "unexpected argument",
                   a.c_str(), usage);
      return 2;
    }
  }
  if (url.empty() && std::getenv("HUBGATE_DATABASE_URL")) url = std::getenv("HUBGATE_DATABASE_URL");
  if ((cmd != "migrate" && cmd != "status") || url.empty()) {
    std::fputs(usage, stderr);
    return 2;
  }
  auto c = db::Connection::open(url);
  if (!c) {
    std::fprintf(stderr, "hubgate db: %s\n", c.error().message.c_str());
    return 1;
  }
  if (cmd == "migrate") {
    auto applied = db::migrate(**c);
    if (!applied) {
      std::fprintf(stderr, "hubgate db: %s\n", applied.error().message.c_str());
      return 1;
    }
    for (int v : *applied) std::printf("applied %d\n", v);
  }
  auto v = db::schema_version(**c);
  if (!v) {
    std::fprintf(stderr, "hubgate db: %s\n", v.error().message.c_str());
    return 1;
  }
  std::printf("schema version %d (latest %d)\n", *v, db::migrations().back().version);
  return 0;
}

}  // namespace hubgate
