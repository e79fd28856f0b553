// The relaxed zip reader and scan_zip: flag bits, CRCs, name mismatches, hidden members,
// prepended bytes, truncation, deflate, bombs.
#include <gtest/gtest.h>

#include "scan/zip_reader.hpp"
#include "test_util.hpp"

namespace hubgate::scan::test {
namespace {

using namespace std::string_literals;

std::string evil() { return kProto2 + os_system_call() + "."; }

bool has_note(const zip::Listing& l, std::string_view rule) {
  for (const auto& n : l.notes)
    if (n.rule == rule) return true;
  return false;
}

TEST(ZipReader, ListsMembersAndData) {
  std::string z = make_zip({{"a.txt", "hello"}, {"b/c.bin", "xyz"}});
  auto l = zip::read_zip(as_bytes(z), 100);
  ASSERT_EQ(l.entries.size(), 2u);
  EXPECT_TRUE(l.notes.empty());
  EXPECT_EQ(l.entries[1].name, "b/c.bin");
  EXPECT_EQ(z.substr(l.entries[1].data_offset, l.entries[1].compressed), "xyz");
}

TEST(ZipReader, FlagBitsDoNotHideMembers) {
  ZipMember m{"archive/data.pkl", evil()};
  m.flags = 0x1 | 0x20 | 0x40;
  Report r = scan_str(make_zip({m}));
  EXPECT_NE(find(r, "zip.encrypted-flag"), nullptr);
  const Finding* f = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->member, "archive/data.pkl");
}

TEST(ZipReader, CrcMismatchIsReportedAndScanned) {
  ZipMember m{"archive/data.pkl", evil()};
  m.bad_crc = true;
  Report r = scan_str(make_zip({m}));
  EXPECT_NE(find(r, "zip.crc-mismatch"), nullptr);
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
}

TEST(ZipReader, LocalCentralNameMismatch) {
  ZipMember m{"archive/data.pkl", evil()};
  m.local_name = "archive/data.xyz";
  std::string z = make_zip({m});
  auto l = zip::read_zip(as_bytes(z), 100);
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].local_name, "archive/data.xyz");
  EXPECT_TRUE(has_note(l, "zip.name-mismatch"));
  EXPECT_EQ(scan_str(z).verdict(), Severity::dangerous);
}

// Readers that follow the central directory and readers that walk local headers read
// different bytes when the two disagree: both views are scanned.
TEST(ZipReader, CentralAndLocalViewsAreBothScanned) {
  // The central directory says deflate (the stored pickle does not inflate): its view alone is
  // unreadable; the local header's view (stored) runs os.system.
  ZipMember a{"model/weights.bin", evil()};
  a.central_method = 8;
  std::string z = make_zip({a});
  auto l = zip::read_zip(as_bytes(z), 100);
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_TRUE(l.entries[0].views_differ);
  EXPECT_EQ(l.entries[0].local_method, 0);
  EXPECT_TRUE(has_note(l, "zip.header-mismatch"));
  Report r = scan_str(z);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
  // The central directory's size covers a benign pickle; the local header's the payload too.
  std::string benign = kProto2 + "}."s;
  ZipMember b{"data.bin", benign + evil()};
  b.central_size = static_cast<std::uint32_t>(benign.size());
  r = scan_str(make_zip({b}));
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  EXPECT_NE(find(r, "zip.header-mismatch"), nullptr);
  // The same archive with the views in agreement is only the benign pickle.
  EXPECT_EQ(scan_str(make_zip({{"data.bin", benign}})).verdict(), Severity::safe);
}

TEST(ZipReader, HiddenMemberFoundFromLocalHeaders) {
  ZipMember hidden{"evil.pkl", evil()};
  hidden.in_central = false;
  std::string z = make_zip({{"a.txt", "aaa"}, hidden});
  auto l = zip::read_zip(as_bytes(z), 100);
  ASSERT_EQ(l.entries.size(), 2u);
  EXPECT_FALSE(l.entries[1].in_central);
  EXPECT_TRUE(has_note(l, "zip.hidden-member"));
  Report r = scan_str(z);
  const Finding* f = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->member, "evil.pkl");
}

TEST(ZipReader, PrependedBytesAndMissingCentralDirectory) {
  std::string z = make_zip({{"x.pkl", evil()}}, "PREFIX");
  auto l = zip::read_zip(as_bytes(z), 100);
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].header_offset, 6u);
  EXPECT_TRUE(has_note(l, "zip.prefixed"));
  // cut the central directory off: members still found from local headers
  std::string local_only = make_zip({{"x.pkl", evil()}});
  local_only.resize(30 + 5 + evil().size());
  auto l2 = zip::read_zip(as_bytes(local_only), 100);
  ASSERT_EQ(l2.entries.size(), 1u);
  EXPECT_TRUE(has_note(l2, "zip.no-central-directory"));
  EXPECT_EQ(scan_str(local_only).verdict(), Severity::dangerous);
}

TEST(ZipReader, TruncatedAndGarbageInputsDoNotCrash) {
  std::string z = make_zip({{"a.pkl", evil()}, {"b.txt", "hello"}});
  for (std::size_t n = 0; n < z.size(); ++n) {
    std::string cut = z.substr(0, n);
    auto l = zip::read_zip(as_bytes(cut), 100);
    for (const auto& e : l.entries) EXPECT_LE(e.data_offset, cut.size() + 65536);
    (void)scan_str(cut);
  }
}

TEST(ZipReader, DeflateMembersAndBombs) {
  ZipMember m{"weights.bin", evil(), 0, "", true, false, true};
  Report r = scan_str(make_zip({m}));
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
  ZipMember bomb{"zeros.bin", std::string(8 << 20, '\0'), 0, "", true, false, true};
  r = scan_str(make_zip({bomb}));
  EXPECT_NE(find(r, "container.expansion-ratio"), nullptr);
  // A real array that compresses past the ratio limit (scipy ships one): only a prefix is
  // inflated, so its body cannot be judged short, and its CRC cannot be checked.
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (131072,), }";
  header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";
  std::string npy = "\x93NUMPY\x01\x00"s + static_cast<char>(header.size() & 0xff) +
                    static_cast<char>(header.size() >> 8) + header + std::string(131072 * 8, '\0');
  ZipMember arr{"B.npy", npy, 0, "", true, false, true};
  r = scan_str(make_zip({arr}));
  EXPECT_NE(find(r, "container.expansion-ratio"), nullptr);
  EXPECT_EQ(find(r, "npy.size-mismatch"), nullptr);
  EXPECT_EQ(find(r, "zip.crc-mismatch"), nullptr);
  EXPECT_NE(r.verdict(), Severity::dangerous);
}

TEST(ZipReader, StorageMembersOnlySpeculative) {
  // raw tensor bytes that start like a pickle but name nothing: silent
  std::string raw = std::string("\x80\x02\x00\x00", 4) + std::string(60, '\x11');
  Report r = scan_str(make_zip({{"archive/data.pkl", kProto2 + "}."}, {"archive/data/0", raw}}));
  EXPECT_TRUE(r.findings.empty());
  // ...also when they happen to start like a FRAME longer than the member (loaders part there).
  std::string framed = std::string("\x80\x04\x95\xff\xff\x00\x00\x00\x00\x00\x00", 11) + std::string(60, '\x11');
  r = scan_str(make_zip({{"archive/data.pkl", kProto2 + "}."}, {"archive/data/0", framed}}));
  EXPECT_TRUE(r.findings.empty()) << r.findings[0].rule;
  r = scan_str(make_zip({{"archive/data.pkl", kProto2 + "}."}, {"archive/data/0", evil()}}));
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
}

TEST(ZipReader, NestedArchives) {
  std::string inner = make_zip({{"deep/model.ckpt", evil()}});
  Report r = scan_str(make_zip({{"outer.zip", inner}}));
  const Finding* f = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->member, "outer.zip/deep/model.ckpt");
  // depth limit
  std::string z = evil();
  for (int i = 0; i < 12; ++i) z = make_zip({{"n" + std::to_string(i) + ".zip", z}});
  r = scan_str(z);
  EXPECT_NE(find(r, "container.limit"), nullptr);
}

}  // namespace
}  // namespace hubgate::scan::test
