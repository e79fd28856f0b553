// Digest throughput of a model folder: hubgate's manifest computation (sha256 files/shards,
// blake3 files; multi-threaded and single-threaded) against `sha256sum`, `openssl dgst -sha256`
// and `b3sum` over the
// same files in the same run. The folder (default 1.5 GB: 3 x 448 MiB + 64 small files) is
// created once and read once beforehand, so every measurement hashes from the page cache.
// Prints the median of --runs runs (default 3) and the ratio to the peer.
// Usage: sign_digest_bench [--dir D] [--mib-per-file N] [--files N] [--runs N] [--keep]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crypto/blake3.hpp"
#include "sign/manifest.hpp"

namespace fs = std::filesystem;
using namespace hubgate::sign;

namespace {

double time_s(const std::function<void()>& f) {
  auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string quote_all(const std::vector<fs::path>& files) {
  std::string s;
  for (const auto& f : files) s += " '" + f.string() + "'";
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = fs::temp_directory_path() / "hubgate-sign-bench";
  std::uint64_t mib = 448;
  int big = 3, runs = 3;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--mib-per-file" && i + 1 < argc) mib = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--files" && i + 1 < argc) big = std::atoi(argv[++i]);
    else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--keep") keep = true;
    else {
      std::fprintf(stderr, "usage: %s [--dir D] [--mib-per-file N] [--files N] [--runs N] [--keep]\n", argv[0]);
      return 2;
    }
  }
  fs::path model = dir / "model";
  std::vector<fs::path> files;
  std::uint64_t total = 0;
  {
    std::mt19937_64 rng(42);
    std::vector<std::uint64_t> buf((1 << 20) / 8);
    fs::create_directories(model / "small");
    for (int f = 0; f < big; ++f) {
      fs::path p = model / ("model-" + std::to_string(f) + ".safetensors");
      if (!fs::exists(p) || fs::file_size(p) != mib << 20) {
        std::ofstream out(p, std::ios::binary);
        for (std::uint64_t m = 0; m < mib; ++m) {
          for (auto& x : buf) x = rng();
          out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size() * 8));
        }
      }
      files.push_back(p);
    }
    for (int f = 0; f < 64; ++f) {
      fs::path p = model / "small" / ("f" + std::to_string(f) + ".json");
      if (!fs::exists(p)) std::ofstream(p) << std::string(1000 + f * 37, static_cast<char>('a' + f % 26));
      files.push_back(p);
    }
    for (const auto& p : files) total += fs::file_size(p);
  }
  std::string all = quote_all(files);
  std::system(("cat" + all + " > /dev/null").c_str());  // warm the page cache
  unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  std::printf("folder: %s, %.2f GiB in %zu files; %u hardware threads; blake3 SIMD path: %s\n", model.c_str(),
              static_cast<double>(total) / (1 << 30), files.size(), hw, hubgate::crypto::Blake3::implementation());

  auto hub = [&](Method m, HashType h, unsigned threads, std::uint64_t shard) {
    return [=] {
      HashOptions o;
      o.serialization.method = m;
      o.serialization.hash = h;
      o.serialization.shard_size = shard;
      o.threads = threads;
      auto r = compute_manifest(model, o);
      if (!r) {
        std::fprintf(stderr, "digest failed: %s\n", r.error().message.c_str());
        std::exit(1);
      }
    };
  };
  auto cmd = [](std::string c) {
    return [c] {
      if (std::system((c + " > /dev/null").c_str()) != 0) {
        std::fprintf(stderr, "peer failed: %s\n", c.c_str());
        std::exit(1);
      }
    };
  };
  struct Case {
    const char* name;
    std::function<void()> run;
    int peer;  // index of the peer case for the ratio, -1 = is a peer
  };
  std::vector<Case> cases = {
      {"sha256sum (1 thread)", cmd("sha256sum" + all), -1},
      {"openssl dgst -sha256 (1 thread)", cmd("openssl dgst -sha256" + all), -1},
      {"b3sum (all threads)", cmd("b3sum" + all), -1},
      {"b3sum --num-threads 1", cmd("b3sum --num-threads 1" + all), -1},
      {"hubgate sha256 files, 1 thread", hub(Method::files, HashType::sha256, 1, 0), 0},
      {"hubgate sha256 files, 1 thread (vs openssl)", hub(Method::files, HashType::sha256, 1, 0), 1},
      {"hubgate sha256 files, all threads", hub(Method::files, HashType::sha256, 0, 0), 0},
      {"hubgate sha256 shards 64 MiB, all threads", hub(Method::shards, HashType::sha256, 0, 64ull << 20), 0},
      {"hubgate sha256 shards 1 GB (default), all", hub(Method::shards, HashType::sha256, 0, 1'000'000'000), 0},
      {"hubgate blake3 files, 1 thread", hub(Method::files, HashType::blake3, 1, 0), 3},
      {"hubgate blake3 files, all threads", hub(Method::files, HashType::blake3, 0, 0), 2},
  };
  std::vector<double> med(cases.size(), 0.0);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (cases[i].peer < 0) {
      std::string tool = std::string(cases[i].name).substr(0, std::string(cases[i].name).find(' '));
      if (std::system(("command -v " + tool + " > /dev/null 2>&1").c_str()) != 0) {
        std::printf("%-44s not available on this machine\n", cases[i].name);
        continue;
      }
    }
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) t.push_back(time_s(cases[i].run));
    med[i] = median(t);
    double gbs = static_cast<double>(total) / med[i] / 1e9;
    if (cases[i].peer < 0 || med[static_cast<std::size_t>(cases[i].peer)] == 0.0) {
      std::printf("%-44s median %7.3f s  %6.2f GB/s\n", cases[i].name, med[i], gbs);
    } else {
      std::printf("%-44s median %7.3f s  %6.2f GB/s  x%.2f vs %s\n", cases[i].name, med[i], gbs,
                  med[static_cast<std::size_t>(cases[i].peer)] / med[i], cases[static_cast<std::size_t>(cases[i].peer)].name);
    }
    std::fflush(stdout);
  }
  if (!keep) fs::remove_all(dir);
  return 0;
}
