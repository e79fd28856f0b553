// Xet engine benchmarks (single core: the process pins itself, and the npm peer it runs, to one
// CPU; throughput is bytes per CPU-second of the process, for both). Prints medians of several runs and ratios against @huggingface/xetchunk-wasm measured in
// the same run.
//   chunk        boundary finding (MB/s) vs the npm chunker (gearhash-jit nextMatch)
//   chunk+hash   boundaries + BLAKE3 chunk hashes vs npm getChunks()
//   ingest       full ChunkStore ingest to local disk: chunk + hash + sha256 + compress + write + fsync,
//                with 1 ingest thread on 1 CPU and 2 threads on 2 CPUs, into one long-lived store
//                (after a warm-up ingest; each timed ingest has new content); "engine" is the same
//                with xorb bytes dropped instead of written (no file system). Peers on the same bytes:
//                openssl dgst -sha256 (the sha256 every ingest computes), sha256sum and b3sum (CPU
//                time, 1 CPU) and a dd copy with fsync (wall time, the disk's floor)
//   dedup        synthetic fine-tune (10% of tensors changed) and new revision (1 MB inserted in the
//                middle): stored vs logical bytes, vs whole-file storage
// Usage: xet_bench [--mb N (default 1024)] [--runs N (default 5)] [--no-npm] [--only chunk|ingest|dedup]
//                  [--max-threads N (default 2): ingest with 1, 2, 4, ... threads up to N]
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "crypto/blake3.hpp"
#include "xet/chunk_store.hpp"
#include "xet/chunker.hpp"
#include "xet/hash.hpp"

using namespace hubgate;
using namespace hubgate::xet;

namespace {

double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Median CPU seconds (process CPU time: robust on a shared, loaded machine; the npm peer is
// measured the same way) and, through `wall`, the median wall-clock seconds.
double median_seconds(int runs, const std::function<void()>& fn, double* wall = nullptr) {
  std::vector<double> t, w;
  for (int i = 0; i < runs; ++i) {
    auto a = std::chrono::steady_clock::now();
    double c = cpu_now();
    fn();
    t.push_back(cpu_now() - c);
    w.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  std::sort(w.begin(), w.end());
  if (wall) *wall = w[w.size() / 2];
  return t[t.size() / 2];
}

std::string make_random(std::size_t n, std::uint64_t seed) {
  std::string s(n, '\0');
  std::mt19937_64 rng(seed);
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    std::uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  return s;
}

// bf16-like weights: random mantissa byte, exponent byte from a narrow range.
void fill_bf16(char* p, std::size_t n, std::mt19937_64& rng) {
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    std::uint64_t v = rng();
    std::uint64_t expo = 0x3c3c3c3c3c3c3c3cULL ^ (v & 0x8181818181818181ULL);
    v = (v & 0x00ff00ff00ff00ffULL) | (expo & 0xff00ff00ff00ff00ULL);
    std::memcpy(p + i, &v, 8);
  }
}

std::string safetensors_like(std::size_t tensors, std::size_t tensor_bytes, std::uint64_t seed) {
  std::string header = "{";
  for (std::size_t t = 0; t < tensors; ++t) {
    header += (t ? "," : "") + std::string("\"layers.") + std::to_string(t) + ".weight\":{\"dtype\":\"BF16\",\"shape\":[" +
              std::to_string(tensor_bytes / 2) + "],\"data_offsets\":[" + std::to_string(t * tensor_bytes) + "," +
              std::to_string((t + 1) * tensor_bytes) + "]}";
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::string out;
  put_le<std::uint64_t>(out, header.size());
  out += header;
  std::size_t base = out.size();
  out.resize(base + tensors * tensor_bytes);
  std::mt19937_64 rng(seed);
  fill_bf16(out.data() + base, tensors * tensor_bytes, rng);
  return out;
}

double mbps(std::size_t bytes, double s) { return static_cast<double>(bytes) / 1e6 / s; }

struct StoreDir {
  std::string path;
  explicit StoreDir(const std::string& name) : path((std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()))).string()) {
    std::filesystem::remove_all(path);
  }
  ~StoreDir() { std::filesystem::remove_all(path); }
  std::unique_ptr<ChunkStore> open(unsigned threads = 1) {
    auto objs = LocalObjectStore::open(path);
    ChunkStoreOptions o;
    o.ingest_threads = threads;
    auto s = ChunkStore::open(std::shared_ptr<ObjectStore>(std::move(*objs)), o);
    if (!s) {
      std::fprintf(stderr, "open store: %s\n", s.error().message.c_str());
      std::exit(1);
    }
    return std::move(*s);
  }
};

// Keeps shards (the store re-reads nothing during ingest) and drops xorb bytes: measures the
// engine (chunk, hashes, sha256, compression, xorb records handed to a writer) without the file
// system.
class DiscardObjectStore final : public ObjectStore {
 public:
  Result<std::unique_ptr<ObjectWriter>> writer(ObjectKind kind) override {
    if (kind == ObjectKind::shard) return ObjectStore::writer(kind);
    struct Discard final : ObjectWriter {
      Result<void> write(ByteView) override { return {}; }
      Result<bool> commit(const MerkleHash&) override { return true; }
    };
    return std::unique_ptr<ObjectWriter>(new Discard);
  }
  Result<bool> put(ObjectKind kind, const MerkleHash& key, ByteView data) override {
    if (kind == ObjectKind::shard) return mem_.put(kind, key, data);
    return true;
  }
  Result<std::string> get(ObjectKind kind, const MerkleHash& key) override { return mem_.get(kind, key); }
  Result<std::string> get_range(ObjectKind kind, const MerkleHash& key, std::uint64_t offset, std::uint64_t length) override {
    return mem_.get_range(kind, key, offset, length);
  }
  Result<std::optional<std::uint64_t>> size(ObjectKind kind, const MerkleHash& key) override { return mem_.size(kind, key); }
  Result<void> remove(ObjectKind kind, const MerkleHash& key) override { return mem_.remove(kind, key); }
  Result<std::vector<MerkleHash>> list(ObjectKind kind) override { return mem_.list(kind); }

 private:
  MemoryObjectStore mem_;
};

Result<FileRecord> ingest(ChunkStore& s, const std::string& data, IngestStats* st) {
  FileWriter w = s.ingest();
  for (std::size_t off = 0; off < data.size(); off += 8 << 20) HG_TRY_VOID(w.write(as_bytes(data).subspan(off, std::min<std::size_t>(8 << 20, data.size() - off))));
  return w.finish(st);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mb = 1024;
  int runs = 5;
  bool npm = true;
  std::string only;
  int max_threads = 2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mb" && i + 1 < argc) mb = std::stoul(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = std::stoi(argv[++i]);
    else if (a == "--no-npm") npm = false;
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else if (a == "--max-threads" && i + 1 < argc) max_threads = std::max(1, std::stoi(argv[++i]));
    else {
      std::fprintf(stderr, "usage: xet_bench [--mb N] [--runs N] [--no-npm] [--only chunk|ingest|dedup] [--max-threads N]\n");
      return 2;
    }
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
  std::printf("xet_bench: %zu MiB inputs, median of %d runs, pinned to CPU 0, blake3=%s\n", mb, runs, crypto::Blake3::implementation());
  const std::size_t n = mb << 20;

  if (only.empty() || only == "chunk") {
    std::string data = make_random(n, 1);
    std::size_t chunks = 0;
    double t = median_seconds(runs, [&] { chunks = chunk_lengths(as_bytes(data)).size(); });
    double ours = mbps(n, t);
    double t2 = median_seconds(runs, [&] {
      std::size_t off = 0;
      for (auto l : chunk_lengths(as_bytes(data))) {
        (void)chunk_hash(as_bytes(data).subspan(off, l));
        off += l;
      }
    });
    double ours_h = mbps(n, t2);
    std::printf("chunk        hubgate %8.1f MB/s  (%zu chunks)\n", ours, chunks);
    std::printf("chunk+hash   hubgate %8.1f MB/s\n", ours_h);
    if (npm) {
      std::string file = (std::filesystem::temp_directory_path() / ("xet_bench_" + std::to_string(::getpid()))).string();
      { std::ofstream(file, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size())); }
      std::string dir = std::string(HUBGATE_SOURCE_DIR) + "/tests/interop/xet";
      std::string cmd = "cd '" + dir + "' && node --max-old-space-size=8192 bench_chunk.mjs '" + file + "' " + std::to_string(runs);
      FILE* p = ::popen(cmd.c_str(), "r");
      double npm_c = 0, npm_h = 0;
      char line[256];
      while (p && std::fgets(line, sizeof line, p)) {
        std::sscanf(line, "npm_chunk_MBps %lf", &npm_c);
        std::sscanf(line, "npm_chunk_hash_MBps %lf", &npm_h);
      }
      if (p) ::pclose(p);
      std::filesystem::remove(file);
      if (npm_c > 0) std::printf("chunk        npm     %8.1f MB/s  (@huggingface/xetchunk-wasm 0.2.0 / gearhash-jit 1.0.2)  ratio %.2fx\n", npm_c, ours / npm_c);
      if (npm_h > 0) std::printf("chunk+hash   npm     %8.1f MB/s  (getChunks)  ratio %.2fx\n", npm_h, ours_h / npm_h);
      if (npm_c == 0) std::printf("npm peer not available (run scripts/setup.sh)\n");
    }
  }

  if (only.empty() || only == "ingest") {
    for (int kind = 0; kind < 2; ++kind) {
      std::string data;
      if (kind == 0) {
        data = make_random(n, 2);
      } else {
        data.resize(n);
        std::mt19937_64 rng(3);
        fill_bf16(data.data(), n, rng);
      }
      const char* name = kind ? "bf16" : "random";
      // Peers on the same bytes (a file in the page cache), one CPU: child CPU time, or wall time
      // for the durable copy (dd with fsync into the same file system as the store).
      std::string file = (std::filesystem::temp_directory_path() / ("xet_bench_in_" + std::to_string(::getpid()))).string();
      { std::ofstream(file, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size())); }
      auto peer = [&](const std::string& cmd, bool wall_clock) {
        std::vector<double> t;
        for (int i = 0; i < std::max(3, runs / 2 + 1); ++i) {
          rusage a, b;
          getrusage(RUSAGE_CHILDREN, &a);
          auto w0 = std::chrono::steady_clock::now();
          if (std::system(cmd.c_str()) != 0) return 0.0;
          double w = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
          getrusage(RUSAGE_CHILDREN, &b);
          auto sec = [](const timeval& v) { return static_cast<double>(v.tv_sec) + static_cast<double>(v.tv_usec) * 1e-6; };
          double cpu = sec(b.ru_utime) - sec(a.ru_utime) + sec(b.ru_stime) - sec(a.ru_stime);
          t.push_back(wall_clock ? w : cpu);
        }
        std::sort(t.begin(), t.end());
        return mbps(n, t[t.size() / 2]);
      };
      std::string copy = file + ".copy";
      double sha = peer("taskset -c 0 sha256sum '" + file + "' > /dev/null", false);
      double ossl = peer("taskset -c 0 openssl dgst -sha256 '" + file + "' > /dev/null", false);
      double b3 = peer("taskset -c 0 b3sum --num-threads 1 '" + file + "' > /dev/null", false);
      double dd = peer("dd if='" + file + "' of='" + copy + "' bs=8M conv=fsync status=none", true);
      std::filesystem::remove(copy);
      std::filesystem::remove(file);
      std::vector<unsigned> thread_counts;
      for (unsigned t = 1; t <= static_cast<unsigned>(max_threads); t *= 2) thread_counts.push_back(t);
      for (unsigned threads : thread_counts) {
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        for (unsigned c = 0; c < threads; ++c) CPU_SET(c, &cpus);
        sched_setaffinity(0, sizeof cpus, &cpus);
        // Steady state of a long-lived store: one store, a warm-up ingest (not counted), then
        // timed ingests of new content each (one byte per 4 KiB changes: nothing dedups).
        for (bool disk : {true, false}) {
        StoreDir dir("xet_bench_ingest_" + std::to_string(kind) + "_" + std::to_string(threads) + "_");
        std::unique_ptr<ChunkStore> s;
        if (disk) {
          s = dir.open(threads);
        } else {
          ChunkStoreOptions o;
          o.ingest_threads = threads;
          s = std::move(*ChunkStore::open(std::make_shared<DiscardObjectStore>(), o));
        }
        IngestStats st;
        std::vector<double> cpu_t, wall_t;
        for (int r = 0; r <= std::max(2, runs); ++r) {
          for (std::size_t i = 0; i < n; i += 4096) data[i] = static_cast<char>(r * 37 + 1);
          auto w0 = std::chrono::steady_clock::now();
          double c0 = cpu_now();
          auto rec = ingest(*s, data, &st);
          double c = cpu_now() - c0;
          double w = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
          if (!rec) std::fprintf(stderr, "ingest: %s\n", rec.error().message.c_str());
          if (r > 0) {
            cpu_t.push_back(c);
            wall_t.push_back(w);
          }
        }
        std::sort(cpu_t.begin(), cpu_t.end());
        std::sort(wall_t.begin(), wall_t.end());
        std::printf("ingest %-5s %-7s %u thread%s on %u CPU%s: %7.1f MB/s per CPU-second, %7.1f MB/s wall  (%s)\n", disk ? "disk" : "engine",
                    name, threads, threads > 1 ? "s" : " ", threads, threads > 1 ? "s" : " ", mbps(n, cpu_t[cpu_t.size() / 2]),
                    mbps(n, wall_t[wall_t.size() / 2]),
                    disk ? ("stored " + std::to_string(static_cast<int>(100.0 * static_cast<double>(st.stored_bytes) / static_cast<double>(n) + 0.5)) +
                            "% of " + std::to_string(mb) + " MiB, " + std::to_string(st.xorbs_written) + " xorbs, fsync on")
                               .c_str()
                         : "records handed to a writer that drops them: no file system");
        }
      }
      CPU_ZERO(&set);
      CPU_SET(0, &set);
      sched_setaffinity(0, sizeof set, &set);
      std::printf("ingest peers  %-7s same bytes: openssl dgst -sha256 %7.1f MB/s CPU, sha256sum %7.1f MB/s CPU, b3sum (1 thread) %7.1f MB/s CPU, dd+fsync copy %7.1f MB/s wall\n", name, ossl, sha, b3, dd);
    }
  }

  if (only.empty() || only == "dedup") {
    const std::size_t tensor = 4 << 20, tensors = n / tensor;
    std::string base = safetensors_like(tensors, tensor, 4);
    std::string tuned = base;
    std::size_t header = base.size() - tensors * tensor;
    std::mt19937_64 rng(5);
    std::size_t changed = 0;
    for (std::size_t t = 0; t < tensors; t += 10, ++changed) fill_bf16(tuned.data() + header + t * tensor, tensor, rng);
    std::string revision = base.substr(0, base.size() / 2) + make_random(1 << 20, 6) + base.substr(base.size() / 2);

    StoreDir dir("xet_bench_dedup_");
    auto s = dir.open();
    IngestStats a, b, c;
    if (!ingest(*s, base, &a) || !ingest(*s, tuned, &b) || !ingest(*s, revision, &c)) {
      std::fprintf(stderr, "dedup ingest failed\n");
      return 1;
    }
    auto pr = [&](const char* name, const std::string& d, const IngestStats& st) {
      std::printf("dedup        %-12s logical %8.1f MB  new stored %8.1f MB (%5.2f%%)  whole-file storage %8.1f MB\n", name,
                  static_cast<double>(d.size()) / 1e6, static_cast<double>(st.stored_bytes) / 1e6,
                  100.0 * static_cast<double>(st.stored_bytes) / static_cast<double>(d.size()), static_cast<double>(d.size()) / 1e6);
    };
    std::printf("dedup        base: %zu bf16 tensors of %zu MiB; fine-tune changes %zu of them (%.0f%%)\n", tensors, tensor >> 20, changed,
                100.0 * static_cast<double>(changed) / static_cast<double>(tensors));
    pr("base", base, a);
    pr("fine-tune", tuned, b);
    pr("revision", revision, c);
    double logical = static_cast<double>(base.size() + tuned.size() + revision.size());
    auto total = s->stored_bytes();
    std::printf("dedup        all three: logical %.1f MB, stored %.1f MB (%.1f%%), whole-file storage %.1f MB\n", logical / 1e6,
                static_cast<double>(total.value_or(0)) / 1e6, 100.0 * static_cast<double>(total.value_or(0)) / logical, logical / 1e6);
  }
  return 0;
}
