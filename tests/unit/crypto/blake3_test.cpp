// BLAKE3: the official test vectors (all three modes, extended output), streaming equals
// one-shot at random split points, and every SIMD path equals the portable one.
#include "crypto/blake3.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "util/atomic_file.hpp"
#include "util/hex.hpp"

using namespace hubgate;
using crypto::Blake3;

namespace {

std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i % 251);
  return v;
}

std::string xof_hex(const Blake3& h, std::size_t len) {
  std::vector<std::uint8_t> out(len);
  h.finalize(out.data(), out.size());
  return to_hex(ByteView(out));
}

Blake3::Key key_from(std::string_view s) {
  Blake3::Key k{};
  EXPECT_EQ(s.size(), k.size());
  std::copy_n(s.begin(), std::min(s.size(), k.size()), k.begin());
  return k;
}

// The vectors file is found at its source path, or where $HUBGATE_BLAKE3_VECTORS says (for a
// test binary copied to another machine).
nlohmann::json load_vectors() {
  const char* env = std::getenv("HUBGATE_BLAKE3_VECTORS");
  const std::string path = env != nullptr ? env : HUBGATE_BLAKE3_VECTORS;
  auto text = read_file(path);
  EXPECT_TRUE(text.has_value()) << path;
  return nlohmann::json::parse(text.value_or("{}"));
}

// Runs `fn` once per SIMD path this CPU supports, with that path forced.
template <class Fn>
void for_each_path(Fn fn) {
  for (const char* name : {"portable", "sse41", "avx2", "avx512"}) {
    if (!Blake3::force_implementation(name)) continue;
    SCOPED_TRACE(name);
    fn(name);
  }
  Blake3::force_implementation("portable").value();
}

}  // namespace

TEST(Blake3, OfficialVectorsAllModesEveryPath) {
  nlohmann::json v = load_vectors();
  ASSERT_EQ(v["key"].get<std::string>(), "whats the Elvish word for friend");
  const Blake3::Key key = key_from(v["key"].get<std::string>());
  const std::string context = v["context_string"].get<std::string>();
  ASSERT_EQ(context, "BLAKE3 2019-12-27 16:29:52 test vectors context");
  ASSERT_EQ(v["cases"].size(), 35u);
  int checked = 0;
  for_each_path([&](const char*) {
    for (const auto& c : v["cases"]) {
      const std::size_t n = c["input_len"].get<std::size_t>();
      SCOPED_TRACE("input_len=" + std::to_string(n));
      const auto input = pattern(n);
      const std::string want_hash = c["hash"], want_keyed = c["keyed_hash"],
                        want_derive = c["derive_key"];
      ASSERT_EQ(want_hash.size(), 262u);

      Blake3 h;
      h.update(ByteView(input));
      EXPECT_EQ(xof_hex(h, want_hash.size() / 2), want_hash);
      EXPECT_EQ(to_hex(ByteView(h.finalize())), want_hash.substr(0, 64));
      EXPECT_EQ(to_hex(ByteView(Blake3::hash(ByteView(input)))), want_hash.substr(0, 64));

      Blake3 k(key);
      k.update(ByteView(input));
      EXPECT_EQ(xof_hex(k, want_keyed.size() / 2), want_keyed);
      EXPECT_EQ(to_hex(ByteView(Blake3::keyed(key, ByteView(input)))), want_keyed.substr(0, 64));

      Blake3 d = Blake3::derive_key(context);
      d.update(ByteView(input));
      EXPECT_EQ(xof_hex(d, want_derive.size() / 2), want_derive);
      EXPECT_EQ(to_hex(ByteView(d.finalize())), want_derive.substr(0, 64));
      ++checked;
    }
  });
  EXPECT_GE(checked, 35);
}

TEST(Blake3, KnownShortDigests) {
  // b3sum of "" and "abc".
  EXPECT_EQ(to_hex(ByteView(Blake3::hash({}))),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  EXPECT_EQ(to_hex(ByteView(Blake3::hash(as_bytes("abc")))),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
}

TEST(Blake3, XofPrefixesAgreeAndHasherContinues) {
  const auto input = pattern(5000);
  Blake3 h;
  h.update(ByteView(input).first(3000));
  const std::string long_out = xof_hex(h, 1000);
  for (std::size_t len : {1u, 31u, 32u, 33u, 63u, 64u, 65u, 200u, 999u})
    EXPECT_EQ(xof_hex(h, len), long_out.substr(0, 2 * len)) << len;
  // finalize() is const: hashing may go on afterwards.
  h.update(ByteView(input).subspan(3000));
  EXPECT_EQ(h.finalize(), Blake3::hash(ByteView(input)));
  EXPECT_EQ(xof_hex(h, 0), "");
}

TEST(Blake3, StreamingAtRandomSplitsEqualsOneShot) {
  std::mt19937_64 rng(12345);
  const Blake3::Key key = key_from("0123456789abcdef0123456789abcdef");
  int cases = 0;
  for_each_path([&](const char*) {
    for (int iter = 0; iter < 60; ++iter) {
      std::size_t n;
      switch (iter % 4) {
        case 0: n = rng() % 2100; break;
        case 1: n = rng() % 70000; break;
        case 2: n = (rng() % 300) * 1024 + (rng() % 3);  break;  // on/near chunk boundaries
        default: n = rng() % 600000; break;
      }
      std::vector<std::uint8_t> data(n);
      for (auto& b : data) b = static_cast<std::uint8_t>(rng());
      SCOPED_TRACE("n=" + std::to_string(n));
      Blake3 one = Blake3::derive_key("hubgate test context");
      one.update(ByteView(data));
      std::vector<std::uint8_t> want(100), got(100);
      one.finalize(want.data(), want.size());

      Blake3 plain, keyed(key), derived = Blake3::derive_key("hubgate test context");
      std::size_t pos = 0;
      while (pos < n) {
        // Mix tiny, block-sized and large pieces.
        std::size_t step;
        switch (rng() % 3) {
          case 0: step = rng() % 70; break;
          case 1: step = rng() % 3000; break;
          default: step = rng() % 200000; break;
        }
        step = std::min(step, n - pos);
        ByteView piece = ByteView(data).subspan(pos, step);
        plain.update(piece);
        keyed.update(piece);
        derived.update(piece);
        pos += step;
      }
      EXPECT_EQ(plain.finalize(), Blake3::hash(ByteView(data)));
      EXPECT_EQ(keyed.finalize(), Blake3::keyed(key, ByteView(data)));
      derived.finalize(got.data(), got.size());
      EXPECT_EQ(got, want);
      ++cases;
    }
  });
  EXPECT_GE(cases, 60);
}

TEST(Blake3, EverySimdPathEqualsPortable) {
  std::mt19937_64 rng(777);
  const Blake3::Key key = key_from("whats the Elvish word for friend");
  std::vector<std::size_t> sizes = {0,     1,     63,    64,    65,     1023,   1024,  1025,
                                    2048,  2049,  3072,  3073,  4096,   8192,   15360, 16384,
                                    16385, 31744, 65536, 65537, 131072, 262145, 1048576 + 1};
  for (int i = 0; i < 80; ++i) sizes.push_back(rng() % (i < 60 ? 140000 : 2100000));
  std::vector<std::uint8_t> data(2100000);
  for (auto& b : data) b = static_cast<std::uint8_t>(rng());

  std::vector<std::vector<std::uint8_t>> reference;
  ASSERT_TRUE(Blake3::force_implementation("portable"));
  auto outputs = [&](std::size_t n) {
    ByteView in = ByteView(data).first(n);
    std::vector<std::uint8_t> out(3 * 32 + 131);
    auto h = Blake3::hash(in), k = Blake3::keyed(key, in);
    std::copy(h.begin(), h.end(), out.begin());
    std::copy(k.begin(), k.end(), out.begin() + 32);
    Blake3 d = Blake3::derive_key("ctx");
    d.update(in);
    d.finalize(out.data() + 64, 32);
    Blake3 x(key);
    x.update(in);
    x.finalize(out.data() + 96, 131);
    return out;
  };
  for (std::size_t n : sizes) reference.push_back(outputs(n));
  int compared = 0;
  for_each_path([&](const char* name) {
    EXPECT_STREQ(Blake3::implementation(), name);
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      EXPECT_EQ(outputs(sizes[i]), reference[i]) << "n=" << sizes[i];
      ++compared;
    }
  });
  EXPECT_GE(compared, static_cast<int>(sizes.size()));
}

TEST(Blake3, ForceImplementationRefusesUnknownOrUnsupported) {
  auto r = Blake3::force_implementation("neon");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unsupported);
  EXPECT_TRUE(Blake3::force_implementation("portable"));
  EXPECT_STREQ(Blake3::implementation(), "portable");
  if (!__builtin_cpu_supports("avx512f")) {
    auto a = Blake3::force_implementation("avx512");
    ASSERT_FALSE(a);
    EXPECT_NE(a.error().message.find("avx512"), std::string::npos);
  }
}
