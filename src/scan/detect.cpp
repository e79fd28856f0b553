// Format detection by content. Order matters: strong magic numbers first (zip, npy, HDF5, GGUF,
// compressors, executables), then structural checks (safetensors' header length + '{', tar's
// header checksum, ONNX's protobuf field walk), then pickles (PROTO 2-5, legacy torch magic,
// joblib markers, protocol 0/1 opcode streams that parse), and finally text. Zips are
// sub-classified by member names (data.pkl → PyTorch, constants.pkl → TorchScript, only .npy →
// npz, config.json → Keras). The name is used only to break ties that content cannot (none
// today): a raw pickle called model.safetensors is a pickle.
#include <algorithm>
#include <cstring>

#include "scan/internal.hpp"
#include "scan/pickle_vm.hpp"
#include "scan/zip_reader.hpp"

namespace hubgate::scan {
namespace {

bool starts(ByteView d, std::string_view magic, std::size_t at = 0) {
  return d.size() >= at + magic.size() && std::memcmp(d.data() + at, magic.data(), magic.size()) == 0;
}

std::uint64_t le64(ByteView d, std::size_t off) {
  std::uint64_t v;
  std::memcpy(&v, d.data() + off, 8);
  return v;
}

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

Format classify_zip(ByteView d) {
  auto names = zip::member_names(d);
  bool data_pkl = false, constants = false, code = false, all_npy = !names.empty(), config = false, keras_meta = false;
  for (const auto& n : names) {
    std::string_view s = n;
    if (s == "data.pkl" || ends_with(s, "/data.pkl")) data_pkl = true;
    if (s == "constants.pkl" || ends_with(s, "/constants.pkl")) constants = true;
    if (s.find("/code/") != std::string_view::npos || s.starts_with("code/")) code = true;
    if (!ends_with(s, ".npy") && !ends_with(s, "/")) all_npy = false;
    if (s == "config.json") config = true;
    if (s == "metadata.json" || s == "model.weights.h5" || s == "model.weights.npz") keras_meta = true;
  }
  if (constants || (data_pkl && code)) return Format::torchscript;
  if (data_pkl) return Format::pytorch_zip;
  if (all_npy) return Format::numpy_npz;
  if (config && keras_meta) return Format::keras_v3;
  return Format::zip;
}

bool tar_checksum_ok(ByteView d) {
  if (d.size() < 512) return false;
  unsigned sum = 0;
  for (std::size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : d[i];
  unsigned stored = 0;
  bool any = false;
  for (std::size_t i = 148; i < 156; ++i) {
    char c = static_cast<char>(d[i]);
    if (c >= '0' && c <= '7') {
      stored = stored * 8 + static_cast<unsigned>(c - '0');
      any = true;
    } else if (c != ' ' && c != 0) {
      return false;
    }
  }
  return any && stored == sum && d[0] != 0;
}

bool read_varint(ByteView d, std::size_t& p, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= d.size()) return false;
    std::uint8_t b = d[p++];
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// ModelProto: ir_version(1) opset_import(8) producer_name(2) producer_version(3) domain(4)
// model_version(5) doc_string(6) graph(7) metadata_props(14) training_info(20) functions(25)
// configuration(26). Walk top-level fields; all must be known with the right wire type.
bool looks_like_onnx(ByteView d) {
  std::size_t p = 0;
  bool graph = false, ir = false;
  int fields = 0;
  while (p < d.size() && fields < 100000) {
    std::uint64_t key;
    if (!read_varint(d, p, key)) return false;
    std::uint64_t field = key >> 3, wire = key & 7;
    bool varint_field = field == 1 || field == 5;
    bool len_field = (field >= 2 && field <= 4) || field == 6 || field == 7 || field == 8 || field == 14 ||
                     field == 20 || field == 25 || field == 26;
    if (varint_field && wire == 0) {
      std::uint64_t v;
      if (!read_varint(d, p, v)) return false;
      if (field == 1) ir = v >= 1 && v <= 64;
    } else if (len_field && wire == 2) {
      std::uint64_t len;
      if (!read_varint(d, p, len) || len > d.size() - p) return false;
      p += len;
      if (field == 7) graph = true;
    } else {
      return false;
    }
    ++fields;
  }
  return ir && graph;
}

bool mostly_text(ByteView d) {
  std::size_t n = std::min<std::size_t>(d.size(), 4096);
  if (n == 0) return true;
  std::size_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t c = d[i];
    if (c == 0) return false;
    if (c < 0x09 || (c > 0x0d && c < 0x20 && c != 0x1b)) ++bad;
  }
  return bad * 100 <= n;
}

bool contains(ByteView d, std::string_view needle, std::size_t within) {
  ByteView w = d.first(std::min(d.size(), within));
  auto it = std::search(w.begin(), w.end(), needle.begin(), needle.end(),
                        [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); });
  return it != w.end();
}

}  // namespace

std::optional<Codec> sniff_codec(ByteView d) {
  if (starts(d, "\x1f\x8b")) return Codec::gzip;
  if (starts(d, std::string_view("\xfd" "7zXZ\0", 6))) return Codec::xz;
  if (starts(d, "\x04\x22\x4d\x18")) return Codec::lz4_frame;
  if (d.size() >= 2 && d[0] == 0x78 && (d[0] * 256 + d[1]) % 31 == 0) return Codec::zlib;
  if (d.size() >= 13 && d[0] == 0x5d && d[1] == 0 && d[2] == 0) return Codec::lzma_alone;
  return std::nullopt;
}

Format detect(ByteView d, std::string_view name) {
  if (starts(d, "PK\x03\x04") || starts(d, "PK\x05\x06")) return classify_zip(d);
  if (starts(d, "\x93NUMPY")) return Format::numpy_npy;
  for (std::size_t at : {0, 512, 1024, 2048})
    if (starts(d, "\x89HDF\r\n\x1a\n", at)) return Format::hdf5;
  if (starts(d, "GGUF")) return Format::gguf;
  if (starts(d, "\x7f" "ELF") || starts(d, "\xfe\xed\xfa\xce") || starts(d, "\xce\xfa\xed\xfe") ||
      starts(d, "\xfe\xed\xfa\xcf") || starts(d, "\xcf\xfa\xed\xfe") || starts(d, "#!")) {
    return Format::executable;
  }
  if (starts(d, "MZ") && d.size() >= 64) {
    std::uint32_t pe;
    std::memcpy(&pe, d.data() + 60, 4);
    if (pe + 4 <= d.size() && starts(d, std::string_view("PE\0\0", 4), pe)) return Format::executable;
  }
  if (d.size() >= 10 && d[8] == '{') {
    std::uint64_t n = le64(d, 0);
    if (n >= 2 && n <= d.size() - 8 && n <= (100ull << 20)) return Format::safetensors;
  }
  // Pickles: legacy torch magic first, then joblib markers, then any pickle.
  static const std::uint8_t kTorchMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8,
                                             0x50, 0x19};
  if (d.size() >= sizeof kTorchMagic && std::equal(std::begin(kTorchMagic), std::end(kTorchMagic), d.begin())) {
    return Format::pytorch_legacy;
  }
  if (pickle::looks_like_pickle(d)) {
    if (contains(d, "joblib.numpy_pickle", 1 << 16) || contains(d, "NumpyArrayWrapper", 1 << 16)) return Format::joblib;
    return Format::pickle;
  }
  if (auto codec = sniff_codec(d)) {
    // joblib's compressed files: a compressed stream whose start is a pickle naming joblib.
    auto head = decompress(d, *codec, 1 << 16);
    if (head && pickle::looks_like_pickle(head->bytes) &&
        (contains(head->bytes, "joblib", 1 << 16) || *codec == Codec::zlib || *codec == Codec::lzma_alone)) {
      return Format::joblib;
    }
    if (*codec == Codec::gzip) return Format::gzip;
    if (*codec == Codec::xz) return Format::xz;
    if (*codec == Codec::lz4_frame) return Format::lz4;
  }
  if (starts(d, "BZh") && d.size() >= 4 && d[3] >= '1' && d[3] <= '9') return Format::bzip2;
  if (starts(d, "\x28\xb5\x2f\xfd")) return Format::zstd;
  if (starts(d, "\x02\x21\x4c\x18")) return Format::lz4;
  if (starts(d, "ustar", 257) && tar_checksum_ok(d)) return Format::tar;
  if (tar_checksum_ok(d)) return Format::tar;
  if (d.size() >= 2 && d[0] == 0x08 && looks_like_onnx(d)) return Format::onnx;
  // A zip with bytes prepended (its EOCD is at the end): loaders that seek the EOCD open it.
  if (d.size() >= 22 && !zip::member_names(d, 1).empty()) return classify_zip(d);
  // Name hint (added on branch scanfmt): bytes that matched no content rule above but are named
  // *.safetensors are validated as safetensors, so a lying header length, a header that does not
  // start with '{' or a too-short file is reported instead of passing as unknown.
  if (name.ends_with(".safetensors")) return Format::safetensors;
  if (mostly_text(d)) return Format::text;
  return Format::unknown;
}

}  // namespace hubgate::scan
