#include <gtest/gtest.h>

#include "helpers.hpp"

namespace hubgate::scan {
namespace {

using namespace test;

std::string bad_safetensors() {
  std::string h = R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})";
  return safetensors(h, "abcdEXTRA");
}

TEST(Tar, BenignArchiveIsCleanAndMembersAreScanned) {
  std::string good = safetensors(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})", "abcd");
  std::string t = tar_entry("model/", "", '5', {}, 0755) + tar_entry("model/model.safetensors", good) +
                  tar_entry("model/README.md", "hello") + tar_entry("model/link", "", '2', "README.md") + tar_end();
  auto r = run(scan_tar, t);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
  t = tar_entry("model/model.safetensors", bad_safetensors()) + tar_end();
  r = run(scan_tar, t);
  ASSERT_TRUE(has(r, "safetensors.trailing-data")) << dump(r);
  EXPECT_EQ(find(r, "safetensors.trailing-data")->member, "model/model.safetensors");
}

TEST(Tar, PathEscapes) {
  for (std::string name : {"../evil.py", "/etc/cron.d/x", "a/../../b", "..\\x"}) {
    auto r = run(scan_tar, tar_entry(name, "x") + tar_end());
    ASSERT_TRUE(has(r, "tar.path-escape")) << name << "\n" << dump(r);
    EXPECT_EQ(find(r, "tar.path-escape")->severity, Severity::dangerous);
  }
  auto r = run(scan_tar, tar_entry("../evil.py", "x") + tar_end());
  EXPECT_EQ(find(r, "tar.path-escape")->message, "tar: entry path '../evil.py' contains a '..' component");
}

TEST(Tar, LinkEscapes) {
  EXPECT_TRUE(has(run(scan_tar, tar_entry("l", "", '2', "/etc/passwd") + tar_end()), "tar.link-escape"));
  EXPECT_TRUE(has(run(scan_tar, tar_entry("a/l", "", '2', "../../x") + tar_end()), "tar.link-escape"));
  EXPECT_FALSE(has(run(scan_tar, tar_entry("a/b/l", "", '2', "../c") + tar_end()), "tar.link-escape"));
  EXPECT_TRUE(has(run(scan_tar, tar_entry("h", "", '1', "../../etc/shadow") + tar_end()), "tar.link-escape"));
}

TEST(Tar, SpecialFilesSetuidDuplicates) {
  EXPECT_TRUE(has(run(scan_tar, tar_entry("dev", "", '3') + tar_end()), "tar.special-file"));
  EXPECT_TRUE(has(run(scan_tar, tar_entry("fifo", "", '6') + tar_end()), "tar.special-file"));
  EXPECT_TRUE(has(run(scan_tar, tar_entry("sh", "x", '0', {}, 04755) + tar_end()), "tar.setuid"));
  EXPECT_TRUE(has(run(scan_tar, tar_entry("a", "1") + tar_entry("a", "2") + tar_end()), "tar.duplicate"));
}

TEST(Tar, PaxAndGnuLongNames) {
  std::string rec = "path=../../pax-evil\n";
  std::string line = std::to_string(rec.size() + 3) + " " + rec;
  auto r = run(scan_tar, tar_entry("PaxHeader", line, 'x') + tar_entry("innocent", "x") + tar_end());
  ASSERT_TRUE(has(r, "tar.path-escape")) << dump(r);
  EXPECT_NE(find(r, "tar.path-escape")->message.find("pax-evil"), std::string::npos);
  std::string longname = std::string(150, 'd') + "/../../../x";
  r = run(scan_tar, tar_entry("././@LongLink", longname + '\0', 'L') + tar_entry("short", "x") + tar_end());
  EXPECT_TRUE(has(r, "tar.path-escape")) << dump(r);
  EXPECT_TRUE(has(run(scan_tar, tar_entry("PaxHeader", "99 bad\n", 'x') + tar_end()), "tar.malformed"));
}

TEST(Tar, MalformedTruncatedTrailing) {
  std::string t = tar_entry("a", "hello") + tar_end();
  std::string bad = t;
  bad[0] = 'b';  // checksum no longer matches
  EXPECT_TRUE(has(run(scan_tar, bad), "tar.malformed"));
  EXPECT_TRUE(has(run(scan_tar, t.substr(0, 700)), "tar.truncated"));
  EXPECT_TRUE(has(run(scan_tar, tar_entry("a", std::string(2000, 'x')).substr(0, 1024)), "tar.truncated"));
  EXPECT_TRUE(has(run(scan_tar, t + "PK\x03\x04 hidden zip"), "tar.trailing-data"));
  for (std::size_t n = 0; n < t.size(); n += 13) run(scan_tar, t.substr(0, n));
}

}  // namespace
}  // namespace hubgate::scan
