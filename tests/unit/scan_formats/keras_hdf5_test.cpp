#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "helpers.hpp"

namespace hubgate::scan {
namespace {

using namespace test;

Report keras(std::string_view json) {
  std::string s(json);
  return run([s](Context& ctx, ByteView) { scan_keras_config_text(ctx, s, "config.json"); }, "");
}

const char* kKeras3Benign = R"({"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "layers": [
  {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}, "registered_name": null},
  {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu",
    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
    "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01}, "registered_name": null}},
   "registered_name": null, "build_config": {"input_shape": [null, 4]}}]}, "registered_name": null,
  "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"learning_rate": 0.001}, "registered_name": null},
   "loss": {"module": "keras.losses", "class_name": "MeanSquaredError", "config": {}, "registered_name": null}}})";

TEST(KerasConfig, BenignConfigIsClean) {
  auto r = keras(kKeras3Benign);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
  r = run(scan_keras_config, kKeras3Benign);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(KerasConfig, ModulesOutsideTheAllowlist) {
  auto r = keras(R"({"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "activation":
      {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}}})");
  ASSERT_TRUE(has(r, "keras.module")) << dump(r);
  EXPECT_EQ(find(r, "keras.module")->severity, Severity::dangerous);
  EXPECT_EQ(find(r, "keras.module")->subject, "config.json.config.activation");
  EXPECT_TRUE(has(keras(R"({"module": "os", "class_name": "system", "config": {}})"), "keras.module"));
  EXPECT_TRUE(has(keras(R"({"fn_module": "subprocess", "class_name": "function", "config": "run"})"), "keras.module"));
  // 'kerasx' is not 'keras'.
  EXPECT_TRUE(has(keras(R"({"module": "kerasx.layers", "class_name": "Dense", "config": {}})"), "keras.module"));
}

TEST(KerasConfig, LambdaLayers) {
  auto r = keras(R"({"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l",
      "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": null, "closure": null}}}})");
  EXPECT_EQ(count(r, "keras.lambda"), 2) << dump(r);
  // Keras 2 style (h5 model_config).
  r = keras(R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l",
      "function": ["4wEAAAAAAAAA", null, null], "function_type": "lambda"}}]}})");
  EXPECT_GE(count(r, "keras.lambda"), 1) << dump(r);
  EXPECT_TRUE(has(keras(R"({"class_name": "TFOpLambda", "config": {"name": "x"}})"), "keras.lambda"));
}

TEST(KerasConfig, RegisteredNameTricks) {
  auto r = keras(R"({"module": "keras.layers", "class_name": "Dense", "config": {}, "registered_name": "evilpkg>Dense"})");
  ASSERT_TRUE(has(r, "keras.registered-name")) << dump(r);
  EXPECT_EQ(find(r, "keras.registered-name")->severity, Severity::suspicious);
  r = keras(R"({"module": "keras.layers", "class_name": "Dense", "config": {}, "registered_name": "os.system"})");
  ASSERT_TRUE(has(r, "keras.registered-name")) << dump(r);
  EXPECT_EQ(find(r, "keras.registered-name")->severity, Severity::dangerous);
  EXPECT_FALSE(has(keras(R"({"module": "keras.layers", "class_name": "Dense", "config": {}, "registered_name": "keras>Dense"})"),
                   "keras.registered-name"));
}

TEST(KerasConfig, StrictJson) {
  EXPECT_TRUE(has(keras(R"({"module": "keras", "module": "os"})"), "keras.duplicate-key"));
  EXPECT_TRUE(has(keras("{"), "keras.json"));
  // What cannot be read cannot be vouched for: Keras never writes such a config.
  EXPECT_EQ(keras("{").verdict(), Severity::dangerous);
}

TEST(KerasConfig, AllowlistOfWhatKerasShips) {
  // Functions outside the activation/loss/metric/initializer lists, through Keras's own modules.
  for (const char* spec : {R"({"module": "keras.utils", "class_name": "function", "config": "get_file", "registered_name": "get_file"})",
                           R"({"module": "keras.src.utils.file_utils", "class_name": "function", "config": "get_file"})",
                           R"({"module": "numpy", "class_name": "function", "config": "load"})",
                           R"({"module": "keras.saving", "class_name": "function", "config": "load_model"})",
                           R"({"module": "keras.activations", "class_name": "function", "config": "my_act"})"}) {
    auto r = keras(std::string(R"({"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "kernel_initializer": )") +
                   spec + "}}");
    ASSERT_TRUE(has(r, "keras.function")) << spec << dump(r);
    EXPECT_EQ(r.verdict(), Severity::dangerous) << spec;
  }
  // A utility named as a class resolves to the function itself.
  auto r = keras(R"({"module": "keras.src.utils.file_utils", "class_name": "get_file", "config": {"origin": "x"}})");
  ASSERT_TRUE(has(r, "keras.dangerous-object")) << dump(r);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  EXPECT_EQ(keras(R"({"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {}})").verdict(), Severity::dangerous);
  EXPECT_EQ(keras(R"({"module": "keras.layers", "class_name": "Dense", "config": {"activation": "get_file"}})").verdict(),
            Severity::dangerous);
  // Unknown classes: suspicious (custom code must be importable); known ones pass.
  r = keras(R"({"module": "keras.layers", "class_name": "MyBlock", "config": {}})");
  ASSERT_TRUE(has(r, "keras.unknown-object")) << dump(r);
  EXPECT_EQ(r.verdict(), Severity::suspicious);
  EXPECT_EQ(keras(R"({"module": "keras.layers", "class_name": "Dense", "config": {"activation": "swishy"}})").verdict(),
            Severity::suspicious);
  r = keras(R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {"activation": "relu",
      "kernel_initializer": {"class_name": "VarianceScaling", "config": {}}, "kernel_regularizer": {"class_name": "L1L2", "config": {}}}},
      {"class_name": "Dense", "config": {"activation": {"module": "keras.activations", "class_name": "function", "config": "gelu", "registered_name": "gelu"}}}]}})");
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(KerasConfig, ReadLikePythonsJson) {
  const std::string lambda = R"({"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "x": NaN, "y": -Infinity, "s": "a\ud800b"}})";
  auto r = keras(lambda);
  EXPECT_TRUE(has(r, "keras.lambda")) << dump(r);
  EXPECT_FALSE(has(r, "keras.json")) << dump(r);
  // NaN inside a string is text, not a literal.
  EXPECT_TRUE(keras(R"({"class_name": "Dense", "config": {"name": "NaN Infinity"}})").findings.empty());
  // config.json bytes: UTF-16 with a BOM, UTF-32-BE without one, a UTF-8 BOM.
  auto as_utf16le = [](const std::string& a) {
    std::string out = "\xff\xfe";
    for (char c : a) out += std::string{c, '\0'};
    return out;
  };
  auto as_utf32be = [](const std::string& a) {
    std::string out;
    for (char c : a) out += std::string{'\0', '\0', '\0', c};
    return out;
  };
  for (const std::string& bytes : {as_utf16le(lambda), as_utf32be(lambda), "\xef\xbb\xbf" + lambda}) {
    auto k = run(scan_keras_config, bytes);
    EXPECT_TRUE(has(k, "keras.lambda")) << dump(k);
  }
  auto odd = run(scan_keras_config, std::string("\xff\xfe{\0", 5));  // odd UTF-16 length
  EXPECT_EQ(odd.verdict(), Severity::dangerous) << dump(odd);
}

// In-memory HDF5 files built with the library itself.
class H5Image {
 public:
  H5Image() {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 16, 0);
    file_ = H5Fcreate("hubgate-test-image.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
  }
  hid_t file() const { return file_; }
  void string_attr(const char* name, const std::string& value) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, value.size());
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(file_, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, value.data());
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
  }
  // Variable-length strings (h5py's form for Python str), `n` copies of `value` in an array
  // when n > 0, a scalar otherwise, in the given character set.
  void vlen_attr(const char* name, const std::vector<std::string>& values, bool scalar, H5T_cset_t cset) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, cset);
    hsize_t dims[1] = {values.size()};
    hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, nullptr);
    std::vector<const char*> ptrs;
    for (const auto& v : values) ptrs.push_back(v.c_str());
    hid_t a = H5Acreate2(file_, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, ptrs.data());
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
  }
  // Fixed-length strings, `values` in an array of equal-size elements (NUL-padded).
  void fixed_array_attr(const char* name, const std::vector<std::string>& values, H5T_cset_t cset) {
    std::size_t size = 1;
    for (const auto& v : values) size = std::max(size, v.size());
    std::string buf(size * values.size(), '\0');
    for (std::size_t i = 0; i < values.size(); ++i) buf.replace(i * size, values[i].size(), values[i]);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, size);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    H5Tset_cset(type, cset);
    hsize_t dims[1] = {values.size()};
    hid_t space = H5Screate_simple(1, dims, nullptr);
    hid_t a = H5Acreate2(file_, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, buf.data());
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
  }
  void int_attr(const char* name, const std::string& bytes) {
    hsize_t dims[1] = {bytes.size()};
    hid_t space = H5Screate_simple(1, dims, nullptr);
    hid_t a = H5Acreate2(file_, name, H5T_NATIVE_UINT8, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_UINT8, bytes.data());
    H5Aclose(a);
    H5Sclose(space);
  }
  void dataset(const char* path, hid_t dcpl = H5P_DEFAULT) {
    hsize_t dims[1] = {4};
    hid_t space = H5Screate_simple(1, dims, nullptr);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t d = H5Dcreate2(file_, path, H5T_NATIVE_FLOAT, space, lcpl, dcpl, H5P_DEFAULT);
    if (dcpl == H5P_DEFAULT) {
      float v[4] = {1, 2, 3, 4};
      H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    }
    H5Dclose(d);
    H5Pclose(lcpl);
    H5Sclose(space);
  }
  std::string bytes() {
    H5Fflush(file_, H5F_SCOPE_GLOBAL);
    ssize_t n = H5Fget_file_image(file_, nullptr, 0);
    std::string out(static_cast<std::size_t>(n), '\0');
    H5Fget_file_image(file_, out.data(), out.size());
    H5Fclose(file_);
    file_ = -1;
    return out;
  }
  ~H5Image() {
    if (file_ >= 0) H5Fclose(file_);
  }

 private:
  hid_t file_ = -1;
};

TEST(Hdf5, KerasH5BenignIsClean) {
  H5Image img;
  img.string_attr("model_config", R"({"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense", "config": {"name": "dense", "units": 4}}]}})");
  img.string_attr("keras_version", "2.15.0");
  img.dataset("model_weights/dense/kernel");
  auto r = run(scan_hdf5, img.bytes());
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Hdf5, ModelConfigGetsKerasRules) {
  H5Image img;
  img.string_attr("model_config", R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "function": ["YWJj", null, null], "function_type": "lambda"}}]}})");
  img.string_attr("training_config", R"({"loss": {"module": "os", "class_name": "system", "config": {}}})");
  auto r = run(scan_hdf5, img.bytes());
  EXPECT_TRUE(has(r, "keras.lambda")) << dump(r);
  ASSERT_TRUE(has(r, "keras.module")) << dump(r);
  EXPECT_NE(find(r, "keras.module")->message.find("training_config"), std::string::npos);
}

TEST(Hdf5, LinksAndStorageThatOpenOtherFiles) {
  H5Image img;
  img.dataset("w");
  H5Lcreate_external("/etc/passwd", "/x", img.file(), "ext", H5P_DEFAULT, H5P_DEFAULT);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_external(dcpl, "/etc/shadow", 0, 16);
  img.dataset("stolen", dcpl);
  H5Pclose(dcpl);
  auto r = run(scan_hdf5, img.bytes());
  ASSERT_TRUE(has(r, "hdf5.external-link")) << dump(r);
  EXPECT_NE(find(r, "hdf5.external-link")->message.find("/etc/passwd"), std::string::npos);
  ASSERT_TRUE(has(r, "hdf5.external-storage")) << dump(r);
  EXPECT_NE(find(r, "hdf5.external-storage")->message.find("/etc/shadow"), std::string::npos);
}

TEST(Hdf5, BadSuperblockIsRejectedBeforeTheLibrary) {
  EXPECT_TRUE(has(run(scan_hdf5, "not hdf5"), "hdf5.malformed"));
  H5Image img;
  img.dataset("w");
  std::string good = img.bytes();
  std::string bad = good;
  bad[8] = 7;  // superblock version
  EXPECT_TRUE(has(run(scan_hdf5, bad), "hdf5.malformed"));
  for (std::size_t n = 0; n < good.size(); n += 97) {
    auto r = run(scan_hdf5, good.substr(0, n));
    EXPECT_TRUE(has(r, "hdf5.malformed")) << "prefix " << n << "\n" << dump(r);
  }
}

TEST(Hdf5, CorruptObjectHeadersDoNotCrash) {
  H5Image img;
  img.string_attr("model_config", R"({"class_name": "Sequential", "config": {"layers": []}})");
  img.dataset("g/w");
  std::string good = img.bytes();
  std::mt19937 rng(7);
  int crashes = 0;
  for (int i = 0; i < 120; ++i) {
    std::string bad = good;
    for (int k = 0; k < 4; ++k) bad[96 + rng() % (bad.size() - 96)] = static_cast<char>(rng());
    auto r = run(scan_hdf5, bad);  // must return (findings or not), never crash the scanner
    crashes += has(r, "hdf5.parser-crash");
    for (const auto& f : r.findings) EXPECT_NE(f.rule, "hdf5.parser-timeout");
  }
  // The library runs in a child process; a crash there is a finding, recorded here for the log.
  RecordProperty("hdf5_library_crashes", crashes);
  // The library still works after all that (its state was not corrupted by the bad files).
  auto r = run(scan_hdf5, good);
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}


const char* kLambdaH5 = R"({"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "function": ["YWJj", null, null], "function_type": "lambda"}}]}})";
const char* kPlainH5 = R"({"class_name": "Sequential", "config": {"name": "s", "layers": [{"class_name": "Dense", "config": {"name": "dense", "units": 4}}]}})";

// model_config in every form h5py and Keras 1/2/3 write is read, so a Lambda cannot hide in one.
TEST(Hdf5, ModelConfigInEveryStringForm) {
  for (H5T_cset_t cset : {H5T_CSET_ASCII, H5T_CSET_UTF8}) {
    {
      H5Image img;
      img.vlen_attr("model_config", {kLambdaH5}, true, cset);
      auto r = run(scan_hdf5, img.bytes());
      EXPECT_TRUE(has(r, "keras.lambda")) << "vlen scalar cset " << cset << dump(r);
    }
    {
      H5Image img;
      img.vlen_attr("model_config", {kPlainH5, kLambdaH5}, false, cset);
      auto r = run(scan_hdf5, img.bytes());
      EXPECT_TRUE(has(r, "keras.lambda")) << "vlen array cset " << cset << dump(r);
    }
    {
      H5Image img;
      img.fixed_array_attr("model_config", {kPlainH5, kLambdaH5}, cset);
      auto r = run(scan_hdf5, img.bytes());
      EXPECT_TRUE(has(r, "keras.lambda")) << "fixed array cset " << cset << dump(r);
    }
  }
  H5Image benign;
  benign.vlen_attr("model_config", {kPlainH5}, true, H5T_CSET_UTF8);
  auto r = run(scan_hdf5, benign.bytes());
  EXPECT_TRUE(r.findings.empty()) << dump(r);
}

TEST(Hdf5, UnreadableKerasConfigIsDangerous) {
  H5Image img;
  img.int_attr("model_config", kLambdaH5);
  auto r = run(scan_hdf5, img.bytes());
  ASSERT_TRUE(has(r, "keras.unreadable-config")) << dump(r);
  EXPECT_EQ(r.verdict(), Severity::dangerous);
  // A NUL inside a fixed-length value: Python's json refuses it, so the file is unreadable, not
  // the prefix before the NUL.
  H5Image nul;
  nul.string_attr("model_config", std::string(kPlainH5) + std::string(1, '\0') + kLambdaH5);
  r = run(scan_hdf5, nul.bytes());
  EXPECT_EQ(r.verdict(), Severity::dangerous) << dump(r);
}

}  // namespace
}  // namespace hubgate::scan
