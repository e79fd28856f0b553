// NumPy .npy header parsing and object arrays; joblib inline arrays and compressed forms.
#include <gtest/gtest.h>

#include "scan/internal.hpp"
#include "test_util.hpp"

namespace hubgate::scan::test {
namespace {

using namespace std::string_literals;

std::string npy(const std::string& header, const std::string& body) {
  std::string h = header;
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  return "\x93NUMPY\x01" + std::string(1, '\0') + u16(static_cast<std::uint16_t>(h.size())) + h + body;
}

TEST(Npy, ValidArraysAreSafe) {
  Report r = scan_str(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::string(24, 'x')));
  EXPECT_EQ(r.format, Format::numpy_npy);
  EXPECT_TRUE(r.findings.empty());
  r = scan_str(npy("{'descr': [('a', '<f4'), ('b', '|S3', (2,))], 'fortran_order': True, 'shape': (2,), }",
                   std::string(20, 'x')));
  EXPECT_TRUE(r.findings.empty()) << r.findings[0].message;
  r = scan_str(npy("{'descr': '<U3', 'fortran_order': False, 'shape': (), }", std::string(12, 'x')));
  EXPECT_TRUE(r.findings.empty());
}

TEST(Npy, MalformedHeaders) {
  for (std::string h : {"{'descr': '<f4', 'fortran_order': False}", "{'descr': '<q9', 'fortran_order': False, 'shape': (1,)}",
                        "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}",
                        "__import__('os').system('ls')", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}"}) {
    Report r = scan_str(npy(h, std::string(4, 'x')));
    EXPECT_NE(find(r, "npy.malformed"), nullptr) << h;
    EXPECT_EQ(r.verdict(), Severity::suspicious) << h;
  }
  // Headers that lie about the body: dangerous, each under its own rule.
  Report r = scan_str(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", std::string(4, 'x')));
  EXPECT_NE(find(r, "npy.bad-shape"), nullptr);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  r = scan_str(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", std::string(8, 'x')));
  EXPECT_NE(find(r, "npy.size-mismatch"), nullptr);  // body too short
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  r = scan_str(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", ""));
  EXPECT_NE(find(r, "npy.bad-shape"), nullptr);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
}

TEST(Npy, ObjectArrayIsAPickle) {
  Report r = scan_str(npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", kProto2 + os_system_call() + "."));
  const Finding* f = find(r, "pickle.dangerous-global", "os.system");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->member.find("object array pickle"), std::string::npos);
  r = scan_str(npy("{'descr': [('a', '<f4'), ('o', '|O')], 'fortran_order': False, 'shape': (1,), }",
                   kProto2 + os_system_call() + "."));
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
}

TEST(Npy, TrailingPickle) {
  Report r = scan_str(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd" + kProto2 + os_system_call() + "."));
  EXPECT_NE(find(r, "npy.trailing-pickle"), nullptr);
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
}

std::string wrapper(const std::string& descr, int n, bool aligned) {
  // NumpyArrayWrapper() with state {'dtype': numpy.dtype(descr, False, True) + state, 'shape': (n,), ...}
  std::string s = glob("joblib.numpy_pickle", "NumpyArrayWrapper") + ")\x81}(" + sbu("dtype") +
                  glob("numpy", "dtype") + sbu(descr) + "\x89\x88\x87R(K\x03" + sbu("<") + "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"s +
                  sbu("shape") + "K" + std::string(1, static_cast<char>(n)) + "\x85";
  if (aligned) s += sbu("numpy_array_alignment_bytes") + "K\x10";
  return s + "ub";
}

TEST(Joblib, InlineArraysAreSkippedAndObjectArraysScanned) {
  std::string p = kProto2 + "]" + wrapper("f8", 3, true) + std::string(1, '\x03') + "\xff\xff\xff" + std::string(24, '\x80') +
                  "a" + wrapper("i4", 2, false) + std::string(8, 'x') + "a.";
  Report r = scan_str(p);
  EXPECT_EQ(r.format, Format::joblib);
  EXPECT_TRUE(r.findings.empty()) << r.findings[0].message;
  std::string evil = kProto2 + "]" + wrapper("O8", 1, false) + kProto2 + os_system_call() + "." + "a.";
  r = scan_str(evil);
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
  EXPECT_EQ(find(r, "pickle.malformed"), nullptr);
}

TEST(Joblib, CompressedForms) {
  std::string p = kProto2 + glob("joblib.numpy_pickle", "NumpyArrayWrapper") + "0" + os_system_call() + ".";
  z_stream z{};
  deflateInit(&z, 6);
  std::string out(deflateBound(&z, p.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(p.data());
  z.avail_in = static_cast<uInt>(p.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  Report r = scan_str(out);
  EXPECT_EQ(r.format, Format::joblib);
  EXPECT_NE(find(r, "pickle.dangerous-global", "os.system"), nullptr);
  auto d = decompress(as_bytes(out), Codec::zlib, 10);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->truncated);
  EXPECT_EQ(d->bytes.size(), 10u);
  EXPECT_FALSE(decompress(as_bytes(out.substr(0, out.size() / 2)), Codec::zlib, 1 << 20).has_value());
}

}  // namespace
}  // namespace hubgate::scan::test
