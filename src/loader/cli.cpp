// `hubgate load REPO[@REV] --endpoint URL [--verify] ...`: streams a revision's safetensors
// checkpoint into memory through the loader core (the same path as the Python package),
// discarding each tensor as it arrives, and prints per-file throughput. Exit status: 0 every
// tensor arrived (and, with --verify, every file's digest matched), 1 a failure, 2 usage.
#include <cstdio>

#include "cli/args.hpp"
#include "loader/loader.hpp"
#include "util/parse.hpp"

namespace hubgate {

namespace {

constexpr const char* kUsage =
    "usage: hubgate load REPO[@REV] --endpoint URL [--verify] [--token T] [--file NAME]\n"
    "                    [--type models|datasets|spaces] [--connections N] [--ring-mib N]\n"
    "  Streams the revision's safetensors files (the index's shards, else every *.safetensors,\n"
    "  or the --file) into host memory with parallel range requests, validating each\n"
    "  header, and prints per-file throughput. --verify also checks each file's sha256 (git\n"
    "  blob id for non-LFS files) as the bytes pass. Nothing is written to disk.\n";

}  // namespace

int load_main(int argc, char** argv) {
  auto args = cli::parse_args(argc, argv, {"--endpoint", "--token", "--file", "--type", "--connections", "--ring-mib"},
                              {"--verify", "--help"});
  if (!args) {
    std::fprintf(stderr, "hubgate load: %s\n%s", args.error().message.c_str(), kUsage);
    return 2;
  }
  if (args->flags.count("--help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (args->positional.size() != 1 || !args->has("--endpoint")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  loader::Options o;
  o.endpoint = args->get("--endpoint");
  o.token = args->get("--token");
  o.repo_type = args->get("--type", "models");
  o.verify = args->flags.count("--verify") > 0;
  std::string spec = args->positional[0];
  o.repo_id = spec;
  if (auto at = spec.find('@'); at != std::string::npos) {
    o.repo_id = spec.substr(0, at);
    o.revision = spec.substr(at + 1);
  }
  if (args->has("--file")) o.filenames.push_back(args->get("--file"));
  if (args->has("--connections")) {
    auto n = parse_u64(args->get("--connections"));
    if (!n || *n == 0 || *n > 256) {
      std::fputs("hubgate load: --connections wants 1..256\n", stderr);
      return 2;
    }
    o.connections = static_cast<unsigned>(*n);
  }
  if (args->has("--ring-mib")) {
    auto n = parse_u64(args->get("--ring-mib"));
    if (!n || *n == 0 || *n > (1u << 20)) {
      std::fputs("hubgate load: --ring-mib wants 1..1048576\n", stderr);
      return 2;
    }
    o.ring_bytes = *n << 20;
  }
  auto stream = loader::Stream::open(o);
  if (!stream) {
    std::fprintf(stderr, "hubgate load: %s\n", stream.error().message.c_str());
    return 1;
  }
  loader::Stream& s = **stream;
  std::size_t count = 0;
  for (;;) {
    auto t = s.next();
    if (!t) {
      std::fprintf(stderr, "hubgate load: %s\n", t.error().message.c_str());
      return 1;
    }
    if (!*t) break;
    ++count;
  }
  auto stats = s.stats();
  double total_s = 0;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < stats.size(); ++i) {
    const auto& st = stats[i];
    double secs = st.done_s - std::max(0.0, st.first_request_s);
    total_s = std::max(total_s, st.done_s);
    total += st.bytes;
    std::printf("%-40s %10.1f MiB %8.3f s %9.1f MiB/s  %s\n", s.files()[i].path.c_str(), st.bytes / 1048576.0, secs,
                secs > 0 ? st.bytes / 1048576.0 / secs : 0.0, st.verified ? "verified" : "not verified");
  }
  std::printf("loaded %s@%s (%s): %zu files, %zu tensors, %llu bytes in %.3f s, %.1f MiB/s, peak in flight %.1f MiB\n",
              o.repo_id.c_str(), o.revision.c_str(), s.commit().c_str(), stats.size(), count,
              static_cast<unsigned long long>(total), total_s, total_s > 0 ? total / 1048576.0 / total_s : 0.0,
              s.peak_inflight_bytes() / 1048576.0);
  return 0;
}

}  // namespace hubgate
