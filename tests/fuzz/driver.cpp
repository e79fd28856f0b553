// A self-contained fuzzing driver for targets written against libFuzzer's interface
// (`LLVMFuzzerTestOneInput`), for toolchains without libFuzzer (GCC). It replays every file of
// the seed corpus, then runs random mutations of corpus entries (bit flips, byte sets, inserts,
// deletions, splices, interesting integers) for a bounded time. Deterministic for a given seed.
// Usage: target [--seconds N] [--corpus DIR] [--seed S] [--max-len N] [FILE...]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Input = std::vector<std::uint8_t>;

Input load(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Input(std::istreambuf_iterator<char>(in), {});
}

void run(const Input& in) { LLVMFuzzerTestOneInput(in.data(), in.size()); }

void mutate(Input& in, std::mt19937_64& rng, const std::vector<Input>& corpus, std::size_t max_len) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  static const std::int64_t interesting[] = {0, 1, -1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
                                             0x7fffffff, 0x80000000LL, 0xffffffffLL, INT64_MAX, INT64_MIN};
  int rounds = 1 + static_cast<int>(rng() % 4);
  for (int r = 0; r < rounds; ++r) {
    switch (rng() % 7) {
      case 0:
        if (!in.empty()) in[pick(in.size())] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!in.empty()) in[pick(in.size())] = static_cast<std::uint8_t>(rng());
        break;
      case 2:
        if (in.size() < max_len) in.insert(in.begin() + static_cast<long>(pick(in.size() + 1)), static_cast<std::uint8_t>(rng()));
        break;
      case 3:
        if (!in.empty()) {
          std::size_t at = pick(in.size());
          std::size_t n = 1 + pick(std::min<std::size_t>(in.size() - at, 16));
          in.erase(in.begin() + static_cast<long>(at), in.begin() + static_cast<long>(at + n));
        }
        break;
      case 4: {
        std::int64_t v = interesting[pick(std::size(interesting))];
        std::size_t w = std::size_t{1} << (rng() % 4);
        if (in.size() >= w) std::memcpy(in.data() + pick(in.size() - w + 1), &v, w);
        break;
      }
      case 5:
        if (!corpus.empty()) {
          const Input& other = corpus[pick(corpus.size())];
          if (!other.empty()) {
            std::size_t from = pick(other.size());
            std::size_t n = 1 + pick(other.size() - from);
            std::size_t at = pick(in.size() + 1);
            in.insert(in.begin() + static_cast<long>(at), other.begin() + static_cast<long>(from),
                      other.begin() + static_cast<long>(from + n));
          }
        }
        break;
      case 6:
        if (in.size() > 1) in.resize(pick(in.size()));
        break;
    }
  }
  if (in.size() > max_len) in.resize(max_len);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  std::uint64_t seed = 1;
  std::size_t max_len = 1 << 16;
  std::vector<Input> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seconds") seconds = std::atof(next());
    else if (a == "--seed") seed = std::strtoull(next(), nullptr, 10);
    else if (a == "--max-len") max_len = std::strtoull(next(), nullptr, 10);
    else if (a == "--corpus") {
      std::filesystem::path dir = next();
      if (std::filesystem::is_directory(dir)) {
        for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
          if (e.is_regular_file()) corpus.push_back(load(e.path()));
        }
      }
    } else {
      corpus.push_back(load(a));
    }
  }
  for (const auto& in : corpus) run(in);
  if (corpus.empty()) corpus.push_back({});
  std::mt19937_64 rng(seed);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::uint64_t execs = 0;
  std::vector<Input> pool = corpus;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int k = 0; k < 64; ++k) {
      Input in = pool[rng() % pool.size()];
      mutate(in, rng, pool, max_len);
      run(in);
      ++execs;
      if (pool.size() < 4096 && rng() % 16 == 0) pool.push_back(std::move(in));
    }
  }
  std::printf("fuzz: %llu executions, %zu seeds, no crash\n", static_cast<unsigned long long>(execs), corpus.size());
  return 0;
}
