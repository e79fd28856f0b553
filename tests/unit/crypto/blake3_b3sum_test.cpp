// Differential test against Debian's `b3sum` (the BLAKE3 team's Rust implementation): >= 100
// random inputs plus the awkward sizes around block, chunk and subtree boundaries and a few
// multi-MiB ones, in all three modes, at the default length and an extended one, for every SIMD
// path this CPU supports. The inputs are written to a temporary directory; b3sum hashes all of
// them in one invocation per (mode, length) and prints one hex line per file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "crypto/blake3.hpp"
#include "util/atomic_file.hpp"
#include "util/hex.hpp"

using namespace hubgate;
using crypto::Blake3;

namespace {

constexpr std::string_view kKey = "hubgate b3sum differential key!!";  // 32 bytes
constexpr std::string_view kContext = "hubgate 2026-11-26 b3sum differential test context";

// Runs a shell command and returns its stdout (the command line is built from our own paths).
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  EXPECT_EQ(status, 0) << cmd;
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

struct Fixture {
  std::filesystem::path dir;
  std::vector<std::size_t> sizes;
  std::vector<std::vector<std::uint8_t>> inputs;
  std::string file_args;  // " 'dir/0' 'dir/1' ..."
};

Fixture make_inputs() {
  Fixture f;
  std::string tmpl = (std::filesystem::temp_directory_path() / "hubgate-b3sum-XXXXXX").string();
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  f.dir = tmpl;
  f.sizes = {0,     1,     63,    64,     65,     1023,    1024,    1025,        2048,
             2049,  3072,  31744, 1048575, 1048576, 1048577, 3 * 1048576 + 5, 4194304,
             9 * 1048576 - 3};
  std::mt19937_64 rng(20261126);
  for (int i = 0; i < 110; ++i) {
    switch (i % 5) {
      case 0: f.sizes.push_back(rng() % 2100); break;
      case 1: f.sizes.push_back(rng() % 70000); break;
      case 2: f.sizes.push_back(1024 * (1 + rng() % 400) + rng() % 3 - 1); break;  // chunk edges
      case 3: f.sizes.push_back(rng() % 140000); break;
      default: f.sizes.push_back(rng() % 700000); break;
    }
  }
  for (std::size_t i = 0; i < f.sizes.size(); ++i) {
    std::vector<std::uint8_t> data(f.sizes[i]);
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    std::string path = (f.dir / std::to_string(i)).string();
    EXPECT_TRUE(write_file_atomic(path, as_chars(ByteView(data)))) << path;
    f.inputs.push_back(std::move(data));
    f.file_args += " '" + path + "'";
  }
  return f;
}

Blake3 make_hasher(const std::string& mode) {
  if (mode == "keyed") {
    Blake3::Key key;
    std::copy(kKey.begin(), kKey.end(), key.begin());
    return Blake3(key);
  }
  if (mode == "derive") return Blake3::derive_key(kContext);
  return Blake3();
}

std::string ours(const std::string& mode, std::size_t length, ByteView data) {
  Blake3 h = make_hasher(mode);
  h.update(data);
  std::vector<std::uint8_t> out(length);
  h.finalize(out.data(), out.size());
  return to_hex(ByteView(out));
}

}  // namespace

TEST(Blake3B3sum, AllModesAllPathsMatch) {
  ASSERT_EQ(kKey.size(), 32u);
  ASSERT_EQ(std::system("b3sum --version >/dev/null"), 0) << "b3sum (Debian package b3sum) missing";
  Fixture f = make_inputs();
  ASSERT_GE(f.sizes.size(), 118u);
  const std::string key_file = (f.dir / "key").string();
  ASSERT_TRUE(write_file_atomic(key_file, kKey));

  int compared = 0;
  for (std::string mode : {"plain", "keyed", "derive"}) {
    for (std::size_t length : {std::size_t{32}, std::size_t{97}}) {
      std::string cmd = "b3sum --no-names --length " + std::to_string(length);
      if (mode == "keyed") cmd += " --keyed";
      if (mode == "derive") cmd += " --derive-key '" + std::string(kContext) + "'";
      cmd += f.file_args;
      if (mode == "keyed") cmd += " < '" + key_file + "'";
      std::vector<std::string> want = lines(run(cmd));
      ASSERT_EQ(want.size(), f.sizes.size()) << cmd.substr(0, 200);
      for (const char* path : {"portable", "sse41", "avx2", "avx512"}) {
        if (!Blake3::force_implementation(path)) continue;
        for (std::size_t i = 0; i < f.sizes.size(); ++i) {
          ASSERT_EQ(ours(mode, length, ByteView(f.inputs[i])), want[i])
              << "mode=" << mode << " length=" << length << " path=" << path
              << " size=" << f.sizes[i];
          ++compared;
        }
      }
    }
  }
  // Portable + at least one SIMD path on any x86-64 CI machine worth the name.
  EXPECT_GE(compared, 6 * 118 * 2);
  std::printf("compared %d outputs with b3sum\n", compared);
  Blake3::force_implementation("portable").value();
  std::filesystem::remove_all(f.dir);
}
