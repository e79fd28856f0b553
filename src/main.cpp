// hubgate: one binary, many subcommands. This file is the table of contents: each entry names
// a subcommand and the module function that runs it (argv[0] is the subcommand's name).
#include <cstdio>
#include <cstring>
#include <span>
#include <string_view>

namespace hubgate {
// Subcommand entry points, defined by their modules.
int sign_main(int argc, char** argv);    // src/sign/cli.cpp
int verify_main(int argc, char** argv);  // src/sign/cli.cpp
int digest_main(int argc, char** argv);  // src/sign/cli.cpp
int xet_main(int argc, char** argv);  // src/xet/cli.cpp
int xet_cli_main(int argc, char** argv);  // src/cas/cli.cpp: `xet stats`, else xet_main
int scan_main(int argc, char** argv);  // src/scan/cli.cpp
int serve_main(int argc, char** argv);  // src/cli/serve.cpp
int token_main(int argc, char** argv);  // src/cli/serve.cpp
int db_main(int argc, char** argv);     // src/db/cli.cpp
int cluster_main(int argc, char** argv);  // src/cli/cluster_cmd.cpp
int push_main(int argc, char** argv);   // src/cli/push.cpp
int pull_main(int argc, char** argv);   // src/upstream/pull.cpp
int load_main(int argc, char** argv);   // src/loader/cli.cpp
int audit_main(int argc, char** argv);  // src/cli/audit_cmd.cpp
int store_main(int argc, char** argv);  // src/cli/store_migrate.cpp
}  // namespace hubgate

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);
};

int version(int argc, char** argv) {
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::puts("usage: hubgate version (also: hubgate --version)\nprints hubgate's version.");
    return 0;
  }
  if (argc > 1) {
    std::fprintf(stderr, "hubgate version: unexpected argument '%s'\n", argv[1]);
    return 2;
  }
  std::puts("hubgate " HUBGATE_VERSION);
  return 0;
}

constexpr Command kCommands[] = {
    {"version", "print the version", version},
    {"sign", "sign a model folder (OpenSSF model signing: key, certificate)", hubgate::sign_main},
    {"verify", "verify a model signature (key, certificate, sigstore)", hubgate::verify_main},
    {"digest", "print a model folder's OpenSSF model-signing digest", hubgate::digest_main},
    {"xet", "Xet chunking, hashing, dedup estimates; `xet stats` for a data dir", hubgate::xet_cli_main},
    {"scan", "scan model files for code execution and format abuse", hubgate::scan_main},
    {"serve", "run the hub server (Hub API, hosted repositories)", hubgate::serve_main},
    {"token", "create access tokens: token create --name N [--write] [--repos P]", hubgate::token_main},
    {"push", "upload a folder to a hub as one commit", hubgate::push_main},
    {"audit", "list the security gate's decisions: audit [--repo R] [--since T] [--format json]", hubgate::audit_main},
    {"db", "cluster metadata database: db migrate|status --database postgresql://…", hubgate::db_main},
    {"store", "move a data directory into a cluster: store migrate --from DIR --to-store s3://… --to-database URL",
     hubgate::store_main},
    {"cluster", "cluster mode's members and fill leases: cluster status --database postgresql://…", hubgate::cluster_main},
    {"pull", "fill a gateway's cache with a snapshot: pull REPO[@REV] --endpoint URL", hubgate::pull_main},
    {"load", "stream a safetensors checkpoint into memory: load REPO[@REV] --endpoint URL [--verify]", hubgate::load_main},
};

void usage(std::FILE* out) {
  std::fputs("usage: hubgate <command> [options]\n\ncommands:\n", out);
  for (const auto& c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
  std::fputs("\n'hubgate <command> --help' describes a command.\n", out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string_view name = argv[1];
  if (name == "--version" || name == "-V") return version(1, argv);
  if (name == "-h" || name == "--help" || name == "help") {
    usage(stdout);
    return 0;
  }
  for (const auto& c : kCommands) {
    if (name == c.name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "hubgate: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
