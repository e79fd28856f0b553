// BLAKE3 benchmark: keyed hashing of one large buffer, single thread, against `b3sum
// --num-threads 1 --keyed` on the same bytes, median of N runs each, interleaved in one process.
//
//   blake3_bench [--mib 1024] [--runs 5] [--dir /dev/shm] [--small]
//
// The bytes are random, written to a file in --dir (tmpfs by default, so no disk is timed).
// Measured per run: hubgate on the in-memory buffer; hubgate on the file mmapped (the same work
// b3sum does: map the file and hash it); the b3sum process (spawn to exit). The three digests
// must agree. Both wall-clock and CPU time (user + system, ours and the b3sum child's) are
// reported: on a shared machine the CPU-time ratio is the stable one. Then, with --small (default on), per-message throughput of one-shot keyed hashes
// of 8 KiB ... 1 MiB messages on every SIMD path (the Xet engine hashes 64 KiB chunks); b3sum
// cannot be timed per message (process start dominates), so those lines have no ratio.
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "crypto/blake3.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"
#include "util/parse.hpp"

extern char** environ;

using namespace hubgate;
using crypto::Blake3;
using Clock = std::chrono::steady_clock;

namespace {

volatile std::uint8_t g_sink;  // keeps the hashing loops observable

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// CPU seconds (user + system) of this process: on a shared machine the wall clock also counts
// time spent waiting for a core; CPU time does not.
double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs b3sum on `file` with the key on stdin; returns its hex output (first token) or "".
// `cpu` receives the child's user + system CPU seconds.
std::string run_b3sum(const std::string& file, const std::string& key_file, double& cpu) {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) return "";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, key_file.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
  const char* argv[] = {"b3sum", "--num-threads", "1", "--keyed", "--no-names", file.c_str(),
                        nullptr};
  pid_t pid;
  int rc = posix_spawnp(&pid, "b3sum", &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while (rc == 0 && (n = read(out_pipe[0], buf, sizeof buf)) > 0) out.append(buf, n);
  close(out_pipe[0]);
  if (rc != 0) return "";
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "";
  return out.substr(0, out.find_first_of(" \n"));
}

// Keyed hash of a file through mmap, as b3sum does.
std::string hash_file_mmap(const std::string& file, const Blake3::Key& key) {
  int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st;
  fstat(fd, &st);
  std::size_t size = static_cast<std::size_t>(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);  // as b3sum maps it
  close(fd);
  if (p == MAP_FAILED) return "";
  Blake3 h(key);
  h.update(ByteView(static_cast<const std::uint8_t*>(p), size));
  munmap(p, size);
  return to_hex(ByteView(h.finalize()));
}

int usage() {
  std::fprintf(stderr, "usage: blake3_bench [--mib N] [--runs N] [--dir DIR] [--no-small]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t mib = 1024, runs = 5;
  std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  bool small = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--mib") {
      auto v = parse_u64(next());
      if (!v || *v == 0 || *v > 65536) return usage();
      mib = *v;
    } else if (a == "--runs") {
      auto v = parse_u64(next());
      if (!v || *v == 0 || *v > 100) return usage();
      runs = *v;
    } else if (a == "--dir") {
      dir = next();
    } else if (a == "--no-small") {
      small = false;
    } else {
      return usage();
    }
  }

  const std::size_t size = mib << 20;
  std::vector<std::uint8_t> data(size);
  std::mt19937_64 rng(42);
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    std::uint64_t x = rng();
    std::memcpy(data.data() + i, &x, 8);
  }
  Blake3::Key key;
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(rng());

  const std::string file = dir + "/hubgate-blake3-bench-" + std::to_string(getpid());
  const std::string key_file = file + ".key";
  if (!write_file_atomic(file, as_chars(ByteView(data))) ||
      !write_file_atomic(key_file, as_chars(ByteView(key)))) {
    std::fprintf(stderr, "cannot write %s\n", file.c_str());
    return 1;
  }

  std::printf("BLAKE3 keyed, %llu MiB, single thread, path %s, median of %llu runs\n",
              static_cast<unsigned long long>(mib), Blake3::implementation(),
              static_cast<unsigned long long>(runs));
  std::vector<double> t_mem, t_file, t_b3, c_mem, c_file, c_b3;
  bool agree = true;
  for (std::uint64_t r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    double c0 = cpu_now();
    std::string mem_hex = to_hex(ByteView(Blake3::keyed(key, ByteView(data))));
    c_mem.push_back(cpu_now() - c0);
    t_mem.push_back(seconds_since(t0));

    t0 = Clock::now();
    c0 = cpu_now();
    std::string file_hex = hash_file_mmap(file, key);
    c_file.push_back(cpu_now() - c0);
    t_file.push_back(seconds_since(t0));

    t0 = Clock::now();
    double b3_cpu = 0;
    std::string b3_hex = run_b3sum(file, key_file, b3_cpu);
    t_b3.push_back(seconds_since(t0));
    c_b3.push_back(b3_cpu);
    if (b3_hex.empty() || mem_hex != b3_hex || file_hex != b3_hex) {
      std::fprintf(stderr, "digest mismatch or b3sum failure: hubgate %s / %s, b3sum '%s'\n",
                   mem_hex.c_str(), file_hex.c_str(), b3_hex.c_str());
      agree = false;
    }
  }
  unlink(file.c_str());
  unlink(key_file.c_str());
  if (!agree) return 1;

  const double mb = static_cast<double>(size) / 1e6;
  auto rate = [&](const std::vector<double>& t) { return mb / median(t); };
  std::printf("  %-22s %10s %10s\n", "MB/s", "wall", "cpu");
  std::printf("  %-22s %10.0f %10.0f\n", "hubgate (memory)", rate(t_mem), rate(c_mem));
  std::printf("  %-22s %10.0f %10.0f\n", "hubgate (mmap file)", rate(t_file), rate(c_file));
  std::printf("  %-22s %10.0f %10.0f  (process: start, mmap, hash, exit)\n",
              "b3sum --num-threads 1", rate(t_b3), rate(c_b3));
  std::printf("  ratio hubgate/b3sum, wall: memory %.2f, mmap file %.2f (goal >= 0.9)\n",
              rate(t_mem) / rate(t_b3), rate(t_file) / rate(t_b3));
  std::printf("  ratio hubgate/b3sum, cpu:  memory %.2f, mmap file %.2f\n",
              rate(c_mem) / rate(c_b3), rate(c_file) / rate(c_b3));

  if (small) {
    std::printf("one-shot keyed messages, MB/s of CPU time (median of %llu runs of ~256 MiB)\n",
                static_cast<unsigned long long>(runs));
    const std::size_t sizes[] = {8 << 10, 16 << 10, 64 << 10, 128 << 10, 1 << 20};
    std::printf("  %-9s", "path");
    for (std::size_t s : sizes) std::printf(" %8zuK", s >> 10);
    std::printf("\n");
    for (const char* path : {"portable", "sse41", "avx2", "avx512"}) {
      if (!Blake3::force_implementation(path)) continue;
      std::printf("  %-9s", path);
      for (std::size_t s : sizes) {
        const std::size_t total = std::min<std::size_t>(size, 256u << 20);
        const std::size_t count = total / s;
        std::vector<double> t;
        std::uint8_t sink = 0;
        for (std::uint64_t r = 0; r < runs; ++r) {
          const double c0 = cpu_now();
          for (std::size_t i = 0; i < count; ++i)
            sink ^= Blake3::keyed(key, ByteView(data).subspan(i * s, s))[0];
          t.push_back(cpu_now() - c0);
        }
        g_sink = sink;
        std::printf(" %9.0f", static_cast<double>(count * s) / 1e6 / median(t));
      }
      std::printf("\n");
    }
  }
  return 0;
}
