// Early verdicts from part of a file (scan/partial.hpp): a dangerous pickle prefix, a pickle
// merely cut short (never judged), and zips whose deciding members are read by ranges.
#include <gtest/gtest.h>

#include "scan/partial.hpp"
#include "test_util.hpp"

using namespace hubgate;
using namespace hubgate::scan;
using namespace hubgate::scan::test;

namespace {

std::string filler(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u) >> 13);
  return s;
}

// A pickle that calls `call` first, then carries a long bytes payload (the rest of the file).
std::string pickle_then_payload(const std::string& call, std::size_t payload) {
  return kProto2 + call + "0" + "B" + u32(static_cast<std::uint32_t>(payload)) + filler(payload) + ".";
}

struct Ranges {
  const std::string& file;
  int reads = 0;
  std::uint64_t bytes = 0;
  RangeReader reader() {
    return [this](std::uint64_t first, std::uint64_t length) -> Result<std::string> {
      ++reads;
      bytes += length;
      if (first + length > file.size()) return fail(Errc::invalid_argument, "range past the end");
      return file.substr(first, length);
    };
  }
};

ByteView head(const std::string& s, std::size_t n) { return as_bytes(s).first(std::min(n, s.size())); }

}  // namespace

TEST(Partial, DangerousGlobalInAPicklePrefixIsTheWholeFilesVerdict) {
  std::string file = pickle_then_payload(os_system_call(), 4u << 20);
  auto v = scan_partial(head(file, 64u << 10), file.size(), false, {}, "model.pkl");
  ASSERT_EQ(v.state, PartialState::dangerous);
  ASSERT_FALSE(v.report.findings.empty());
  EXPECT_EQ(v.report.findings.front().rule, "pickle.dangerous-global");
  EXPECT_EQ(v.report.findings.front().subject, "os.system");
  // The whole file's scan reports the same finding.
  Report whole = scan_bytes(as_bytes(file), "model.pkl");
  ASSERT_NE(find(whole, "pickle.dangerous-global", "os.system"), nullptr);
}

TEST(Partial, APickleCutShortAfterAnUnknownCallIsNotJudged) {
  // The prefix alone reads as a pickle broken after a call that is not allowlisted (dangerous
  // pickle.malformed for a whole file); the cut is ours, so nothing counts.
  std::string file = pickle_then_payload(glob("mymodule", "Thing") + sbu("x") + "\x85R", 4u << 20);
  EXPECT_EQ(scan_bytes(head(file, 64u << 10), "m").verdict(), Severity::dangerous);
  EXPECT_EQ(scan_partial(head(file, 64u << 10), file.size(), false, {}, "m").state, PartialState::need_more);
  EXPECT_EQ(scan_partial(head(file, 64u << 10), file.size(), true, {}, "m").state, PartialState::clear);
}

TEST(Partial, OtherFormatsHaveNoEarlyVerdict) {
  std::string st = u64(2) + "{}" + filler(1000);
  EXPECT_EQ(scan_partial(as_bytes(st), st.size(), false, {}, "x").state, PartialState::clear);
  EXPECT_EQ(scan_partial(head(st, 3), st.size(), false, {}, "x").state, PartialState::need_more);
}

TEST(Partial, ZipMembersThatDecideAreReadByRanges) {
  // data.pkl after a 2 MiB tensor storage: neither the prefix nor the tail holds it.
  std::string evil = kProto2 + os_system_call() + ".";
  std::string file = make_zip({ZipMember("archive/data/0", filler(2u << 20)), ZipMember("archive/data.pkl", evil),
                               ZipMember("archive/data/1", filler(1u << 20)), ZipMember("archive/version", "3\n")});
  Ranges r{file};
  PartialLimits pl;
  pl.tail_bytes = 4096;
  auto v = scan_partial(head(file, 64u << 10), file.size(), false, r.reader(), "model.pt", {}, pl);
  ASSERT_EQ(v.state, PartialState::dangerous);
  EXPECT_EQ(v.report.findings.front().rule, "pickle.dangerous-global");
  EXPECT_EQ(v.report.findings.front().member, "archive/data.pkl");
  // The tail (with the directory), then data.pkl; the storages are never read.
  EXPECT_EQ(r.reads, 2);
  EXPECT_LT(r.bytes, 200u << 10);
  EXPECT_EQ(scan_bytes(as_bytes(file), "model.pt").verdict(), Severity::dangerous);
}

TEST(Partial, ASafeZipIsClearAndAFailingReaderGivesNoVerdict) {
  std::string good = kProto2 + "}.";
  std::string file = make_zip({ZipMember("archive/data/0", filler(2u << 20)), ZipMember("archive/data.pkl", good),
                               ZipMember("archive/version", "3\n")});
  Ranges r{file};
  EXPECT_EQ(scan_partial(head(file, 64u << 10), file.size(), false, r.reader(), "m.pt").state, PartialState::clear);
  RangeReader broken = [](std::uint64_t, std::uint64_t) -> Result<std::string> {
    return fail(Errc::unavailable, "upstream down");
  };
  std::string evil = make_zip({ZipMember("archive/data/0", filler(2u << 20)),
                               ZipMember("archive/data.pkl", kProto2 + os_system_call() + ".")});
  EXPECT_EQ(scan_partial(head(evil, 64u << 10), evil.size(), false, broken, "m.pt").state, PartialState::clear);
  EXPECT_EQ(scan_partial(head(evil, 64u << 10), evil.size(), false, {}, "m.pt").state, PartialState::clear);
}
