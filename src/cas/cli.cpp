// `hubgate xet ...`: `xet stats --data-dir DIR [--json]` prints the Xet accounting of a server's
// data directory (overall and per repository: logical bytes, stored bytes, dedup ratio); every
// other `xet` subcommand is the storage engine's own CLI (src/xet/cli.cpp).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cas/cas.hpp"

namespace hubgate {

int xet_main(int argc, char** argv);  // src/xet/cli.cpp

namespace {

double ratio(std::uint64_t logical, std::uint64_t stored) { return stored ? double(logical) / double(stored) : 0.0; }

int stats_main(int argc, char** argv) {
  std::string dir = "./data";
  bool as_json = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--data-dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--json") {
      as_json = true;
    } else {
      const bool asked = a == "--help" || a == "-h";
      if (!asked) std::fprintf(stderr, "hubgate xet stats: unknown option '%s'\n", a.c_str());
      std::fputs("usage: hubgate xet stats [--data-dir DIR] [--json]\n"
                 "Xet accounting of a server's data directory: logical vs stored bytes, dedup ratio.\n",
                 asked ? stdout : stderr);
      return asked ? 0 : 2;
    }
  }
  if (!std::filesystem::is_directory(dir + "/xet/objects")) {
    std::fprintf(stderr, "hubgate xet stats: no Xet data in %s (expected %s/xet from `hubgate serve`)\n", dir.c_str(), dir.c_str());
    return 1;
  }
  auto s = cas::read_stats(dir + "/xet");
  if (!s) {
    std::fprintf(stderr, "hubgate xet stats: %s\n", s.error().message.c_str());
    return 1;
  }
  if (as_json) {
    nlohmann::json repos = nlohmann::json::array();
    for (const auto& r : s->repos)
      repos.push_back({{"repo", r.repo},
                       {"files", r.files},
                       {"logical_bytes", r.logical_bytes},
                       {"stored_bytes", r.stored_bytes},
                       {"xorb_bytes_received", r.xorb_bytes_received},
                       {"dedup_ratio", ratio(r.logical_bytes, r.stored_bytes)}});
    nlohmann::json j = {{"files", s->files},
                        {"logical_bytes", s->logical_bytes},
                        {"stored_bytes", s->stored_bytes},
                        {"dedup_ratio", ratio(s->logical_bytes, s->stored_bytes)},
                        {"repos", repos}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%-40s %8s %16s %16s %16s %8s\n", "repository", "files", "logical_bytes", "stored_bytes", "xorb_bytes_rx", "ratio");
  for (const auto& r : s->repos)
    std::printf("%-40s %8llu %16llu %16llu %16llu %8.3f\n", r.repo.c_str(), (unsigned long long)r.files,
                (unsigned long long)r.logical_bytes, (unsigned long long)r.stored_bytes, (unsigned long long)r.xorb_bytes_received,
                ratio(r.logical_bytes, r.stored_bytes));
  std::printf("%-40s %8llu %16llu %16llu %16s %8.3f\n", "(all, distinct files)", (unsigned long long)s->files,
              (unsigned long long)s->logical_bytes, (unsigned long long)s->stored_bytes, "", ratio(s->logical_bytes, s->stored_bytes));
  return 0;
}

}  // namespace

int xet_cli_main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "stats") == 0) return stats_main(argc, argv);
  return xet_main(argc, argv);
}

}  // namespace hubgate
