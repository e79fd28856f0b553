// Format detection by content.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace hubgate::scan::test {
namespace {

using namespace std::string_literals;

Format det(const std::string& s, std::string_view name = {}) { return detect(as_bytes(s), name); }

TEST(Detect, Pickles) {
  EXPECT_EQ(det(kProto2 + "}."), Format::pickle);
  EXPECT_EQ(det(kProto4 + "N.", "model.safetensors"), Format::pickle);  // extension is not trusted
  EXPECT_EQ(det("(dp0\nS'a'\np1\nI1\ns."), Format::pickle);              // protocol 0 text pickle
  EXPECT_EQ(det("]q\x00(K\x01e."s), Format::pickle);                       // protocol 1
  std::string legacy("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  EXPECT_EQ(det(legacy + kProto2 + "M\xe9\x03."), Format::pytorch_legacy);
  EXPECT_EQ(det(kProto2 + glob("joblib.numpy_pickle", "NumpyArrayWrapper") + ")\x81."), Format::joblib);
}

TEST(Detect, Zips) {
  EXPECT_EQ(det(make_zip({{"archive/data.pkl", kProto2 + "}."}, {"archive/data/0", "xxxx"}})), Format::pytorch_zip);
  EXPECT_EQ(det(make_zip({{"m/data.pkl", "."}, {"m/constants.pkl", "."}, {"m/code/__torch__.py", ""}})),
            Format::torchscript);
  EXPECT_EQ(det(make_zip({{"a.npy", "\x93NUMPY"}, {"b.npy", "\x93NUMPY"}})), Format::numpy_npz);
  EXPECT_EQ(det(make_zip({{"config.json", "{}"}, {"metadata.json", "{}"}, {"model.weights.h5", ""}})), Format::keras_v3);
  EXPECT_EQ(det(make_zip({{"readme.txt", "hi"}})), Format::zip);
  EXPECT_EQ(det(make_zip({{"archive/data.pkl", "."}}, "JUNKJUNK")), Format::pytorch_zip);  // prefixed
}

TEST(Detect, MagicNumbers) {
  EXPECT_EQ(det("\x93NUMPY\x01\x00"s), Format::numpy_npy);
  EXPECT_EQ(det("\x89HDF\r\n\x1a\n" + std::string(100, '\0')), Format::hdf5);
  EXPECT_EQ(det(std::string(512, '\0') + "\x89HDF\r\n\x1a\n"), Format::hdf5);  // user block
  EXPECT_EQ(det("GGUF\x03\x00\x00\x00"s), Format::gguf);
  EXPECT_EQ(det(u64(2) + "{}"), Format::safetensors);
  EXPECT_EQ(det(u64(10) + "{\"a\":1}   "), Format::safetensors);
  EXPECT_NE(det(u64(1000) + "{}"), Format::safetensors);  // header longer than the file
  EXPECT_EQ(det("\x1f\x8b\x08\x00"s + std::string(20, '\0')), Format::gzip);
  EXPECT_EQ(det("BZh91AY&SY"), Format::bzip2);
  EXPECT_EQ(det(std::string("\xfd" "7zXZ\0\0\0", 8)), Format::xz);
  EXPECT_EQ(det("\x28\xb5\x2f\xfd\x00"s), Format::zstd);
  EXPECT_EQ(det("\x04\x22\x4d\x18\x00"s), Format::lz4);
  EXPECT_EQ(det("\x7f" "ELF\x02\x01"), Format::executable);
  EXPECT_EQ(det("#!/bin/sh\nrm -rf /\n"), Format::executable);
  EXPECT_EQ(det(std::string("\xcf\xfa\xed\xfe", 4) + "xxxx"), Format::executable);
  std::string pe = "MZ" + std::string(58, '\0') + u32(64) + "PE" + std::string(2, '\0');
  EXPECT_EQ(det(pe), Format::executable);
}

TEST(Detect, TarOnnxText) {
  std::string h(512, '\0');
  h.replace(0, 9, "model.bin");
  h.replace(100, 8, "0000644");
  h.replace(124, 12, "00000000000");
  h.replace(257, 6, std::string("ustar\0", 6));
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[static_cast<std::size_t>(i)]);
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06o", sum);
  h.replace(148, 7, std::string(buf, 6) + '\0');
  EXPECT_EQ(det(h + std::string(1024, '\0')), Format::tar);
  // ModelProto: ir_version 7, producer_name "x", graph {} , opset_import {}
  std::string onnx = std::string("\x08\x07\x12\x01x\x3a\x00\x42\x00", 9);
  EXPECT_EQ(det(onnx), Format::onnx);
  EXPECT_EQ(det("{\"architectures\": [\"Bert\"]}\n"), Format::text);
  EXPECT_EQ(det("hello world"), Format::text);
  EXPECT_EQ(det(std::string("\x00\x01\x02\x03\xff\xfe", 6)), Format::unknown);
}

}  // namespace
}  // namespace hubgate::scan::test
