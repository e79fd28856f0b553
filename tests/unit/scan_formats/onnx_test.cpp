#include <gtest/gtest.h>

#include <vector>

#include "helpers.hpp"

namespace hubgate::scan {
namespace {

using namespace test;

std::string external_tensor(std::string_view name, std::string_view location) {
  return pb_int(1, 4) + pb_int(2, 1) + pb_len(8, name) +
         pb_len(13, pb_len(1, "location") + pb_len(2, location)) +
         pb_len(13, pb_len(1, "offset") + pb_len(2, "0")) + pb_int(14, 1);
}
std::string node(std::string_view op, std::string_view domain = {}, std::string attrs = {}) {
  std::string n = pb_len(1, "x") + pb_len(2, "y") + pb_len(4, op);
  if (!domain.empty()) n += pb_len(7, domain);
  return n + attrs;
}
std::string model(std::string graph, std::string extra = {}) {
  return pb_int(1, 8) + pb_len(2, "test") + pb_len(7, graph) + pb_len(8, pb_len(1, "") + pb_int(2, 17)) + extra;
}

TEST(Onnx, ValidModelIsClean) {
  std::string g = pb_len(1, node("Relu")) + pb_len(1, node("FusedMatMul", "com.microsoft")) + pb_len(2, "g") +
                  pb_len(5, pb_int(1, 2) + pb_int(2, 1) + pb_len(8, "w") + pb_len(9, std::string(8, '\0'))) +
                  pb_len(5, external_tensor("big", "weights/model.onnx.data"));
  auto r = run(scan_onnx, model(g));
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Onnx, ExternalDataEscapes) {
  for (std::string loc : std::vector<std::string>{"../../etc/passwd", "/etc/passwd", "sub/../../x", "C:\\Windows\\x", "..\\x", "~/.ssh/id_rsa",
                          "file:///etc/passwd", std::string("ok\0/../x", 9)}) {
    auto r = run(scan_onnx, model(pb_len(5, external_tensor("w", loc))));
    ASSERT_TRUE(has(r, "onnx.external-path")) << loc << "\n" << dump(r);
    EXPECT_EQ(find(r, "onnx.external-path")->severity, Severity::dangerous);
    EXPECT_EQ(find(r, "onnx.external-path")->subject, "tensor 'w'");
  }
  auto r = run(scan_onnx, model(pb_len(5, external_tensor("w", "../x"))));
  EXPECT_EQ(find(r, "onnx.external-path")->message, "onnx: tensor 'w' external data location '../x' contains a '..' component");
}

TEST(Onnx, ExternalDataInsideSubgraphsAndConstants) {
  // A Constant node's tensor attribute, inside an If node's then_branch graph.
  std::string constant = node("Constant", {}, pb_len(5, pb_len(1, "value") + pb_int(20, 4) + pb_len(5, external_tensor("c", "/proc/self/environ"))));
  std::string inner_graph = pb_len(1, constant);
  std::string if_node = node("If", {}, pb_len(5, pb_len(1, "then_branch") + pb_int(20, 5) + pb_len(6, inner_graph)));
  auto r = run(scan_onnx, model(pb_len(1, if_node)));
  ASSERT_TRUE(has(r, "onnx.external-path")) << dump(r);
  // Sparse initializer values.
  r = run(scan_onnx, model(pb_len(15, pb_len(1, external_tensor("s", "../s")))));
  EXPECT_TRUE(has(r, "onnx.external-path")) << dump(r);
}

TEST(Onnx, ExternalDataEntriesMustBeWellFormed) {
  std::string t = pb_len(8, "w") + pb_int(14, 1);
  EXPECT_TRUE(has(run(scan_onnx, model(pb_len(5, t))), "onnx.external-data"));
  t = pb_len(8, "w") + pb_len(13, pb_len(1, "location") + pb_len(2, "a.bin")) + pb_len(13, pb_len(1, "length") + pb_len(2, "-5")) + pb_int(14, 1);
  auto r = run(scan_onnx, model(pb_len(5, t)));
  ASSERT_TRUE(has(r, "onnx.external-range")) << dump(r);  // a negative length: dangerous
  EXPECT_EQ(find(r, "onnx.external-range")->severity, Severity::dangerous);
}

TEST(Onnx, CustomDomains) {
  auto r = run(scan_onnx, model(pb_len(1, node("Exec", "evil.ops")) + pb_len(1, node("Relu"))));
  ASSERT_EQ(count(r, "onnx.custom-domain"), 1) << dump(r);
  EXPECT_EQ(find(r, "onnx.custom-domain")->subject, "evil.ops");
  EXPECT_NE(find(r, "onnx.custom-domain")->message.find("Exec"), std::string::npos);
  // A domain the model defines as a local function is not a custom op library.
  std::string fn = pb_len(1, "MyFn") + pb_len(10, "my.funcs") + pb_len(7, node("Relu"));
  r = run(scan_onnx, model(pb_len(1, node("MyFn", "my.funcs")), pb_len(25, fn)));
  EXPECT_FALSE(has(r, "onnx.custom-domain")) << dump(r);
}

TEST(Onnx, MalformedProtobufIsAFinding) {
  // Every cut before the end of the graph field leaves a truncated message or no graph.
  std::string m = model(pb_len(1, node("Relu")));
  std::size_t graph_end = (pb_int(1, 8) + pb_len(2, "test") + pb_len(7, pb_len(1, node("Relu")))).size();
  for (std::size_t n = 1; n < graph_end; ++n) {
    auto r = run(scan_onnx, m.substr(0, n));
    EXPECT_FALSE(r.findings.empty()) << "prefix " << n;
  }
  auto r = run(scan_onnx, pb_varint((7 << 3) | 2) + pb_varint(1000) + "abc");
  ASSERT_TRUE(has(r, "onnx.malformed")) << dump(r);
  EXPECT_NE(find(r, "onnx.malformed")->message.find("exceeds"), std::string::npos);
  EXPECT_TRUE(has(run(scan_onnx, std::string("\x0b\x01", 2)), "onnx.malformed"));  // group wire type
}

TEST(Onnx, DeepNestingIsBounded) {
  std::string g = pb_len(1, node("Relu"));
  for (int i = 0; i < 40; ++i) g = pb_len(1, node("If", {}, pb_len(5, pb_len(1, "then_branch") + pb_len(6, g))));
  auto r = run(scan_onnx, model(g));
  EXPECT_TRUE(has(r, "onnx.depth")) << dump(r);
}

}  // namespace
}  // namespace hubgate::scan
