#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scan/clamav.hpp"

namespace hubgate::scan {
namespace {

std::filesystem::path temp_dir(const char* tag) {
  auto d = std::filesystem::temp_directory_path() / (std::string("hubgate-clamav-") + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

TEST(Clamav, MissingDatabaseIsReportedNotFatal) {
  auto dir = temp_dir("empty");
  auto av = Clamav::open(dir.string());
  ASSERT_TRUE(av) << av.error().message;
  EXPECT_FALSE((*av)->available());
  EXPECT_NE((*av)->unavailable_reason().find("no ClamAV signature database in " + dir.string()), std::string::npos);
  AvScan s = (*av)->scan(as_bytes("anything"));
  EXPECT_FALSE(s.scanned);
  EXPECT_FALSE(s.virus_found);
  EXPECT_EQ(s.note, (*av)->unavailable_reason());
  std::filesystem::remove_all(dir);
}

TEST(Clamav, DetectsWithACustomSignatureDatabase) {
  auto dir = temp_dir("ndb");
  // Body signature (any file type, any offset) for the bytes "hubgate-test-malware".
  std::ofstream(dir / "hubgate.ndb") << "Hubgate.Test.Sig:0:*:6875626761746520746573742d6d616c77617265\n";
  auto av = Clamav::open(dir.string());
  ASSERT_TRUE(av) << av.error().message;
  ASSERT_TRUE((*av)->available()) << (*av)->unavailable_reason();
  EXPECT_EQ((*av)->signatures(), 1u);
  AvScan hit = (*av)->scan(as_bytes("some prefix hubgate test-malware suffix"), "x.bin");
  EXPECT_TRUE(hit.scanned) << hit.note;
  EXPECT_TRUE(hit.virus_found);
  ASSERT_EQ(hit.virus_names.size(), 1u);
  EXPECT_EQ(hit.virus_names[0], "Hubgate.Test.Sig.UNOFFICIAL");
  AvScan clean = (*av)->scan(as_bytes("a perfectly clean file"));
  EXPECT_TRUE(clean.scanned) << clean.note;
  EXPECT_FALSE(clean.virus_found);
  std::filesystem::remove_all(dir);
}

TEST(Clamav, BrokenDatabaseIsAnError) {
  auto dir = temp_dir("bad");
  std::ofstream(dir / "broken.ndb") << "this is not a signature\n";
  auto av = Clamav::open(dir.string());
  ASSERT_FALSE(av);
  EXPECT_EQ(av.error().code, Errc::corrupt);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hubgate::scan
