// GGUF structural validation (security.md §4), bounding every count, length and offset by the
// file size before trusting it, and agreeing with ggml's gguf reader where loaders differ:
//   "GGUF" u32 version (1..3) | n_tensors, n_kv (u32 in v1, u64 after) | KVs | tensor infos |
//   padding to general.alignment (default 32) | data section.
// Strings and array counts are u32 in v1 and u64 after. A KV is key string, u32 type (0..12),
// value; arrays are u32 element type, count, elements (nested arrays allowed, depth-bounded).
// A tensor info is name, u32 n_dims (≤ 4), dims (int64; u32 in v1), u32 ggml type, u64 offset
// relative to the data section. Tensor byte sizes are computed overflow-checked from ggml's
// block sizes; spans must be aligned, inside the data section and must not overlap. Structural
// errors stop the walk (later offsets are meaningless); semantic ones are all reported.
// Known-key checks: general.alignment type/value, tokenizer arrays' element types and counts,
// special token ids, and the chat templates (checked as Jinja injection, chat_template.cpp).
#include <algorithm>
#include <expected>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "scan/formats.hpp"

namespace hubgate::scan {
namespace {

enum VT : std::uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* vt_name(std::uint32_t t) {
  static const char* names[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
  return t <= kF64 ? names[t] : "unknown";
}
int vt_size(std::uint32_t t) {  // fixed-size scalars; 0 for string/array
  switch (t) {
    case kU8: case kI8: case kBool: return 1;
    case kU16: case kI16: return 2;
    case kU32: case kI32: case kF32: return 4;
    case kU64: case kI64: case kF64: return 8;
    default: return 0;
  }
}

// ggml types: {block size, bytes per block}; {0, 0} = unknown or removed.
struct TypeInfo { std::uint32_t block, bytes; const char* name; };
TypeInfo ggml_type(std::uint32_t t) {
  static const TypeInfo table[] = {
      {1, 4, "F32"},        {1, 2, "F16"},        {32, 18, "Q4_0"},     {32, 20, "Q4_1"},
      {0, 0, "Q4_2"},       {0, 0, "Q4_3"},       {32, 22, "Q5_0"},     {32, 24, "Q5_1"},
      {32, 34, "Q8_0"},     {32, 40, "Q8_1"},     {256, 84, "Q2_K"},    {256, 110, "Q3_K"},
      {256, 144, "Q4_K"},   {256, 176, "Q5_K"},   {256, 210, "Q6_K"},   {256, 292, "Q8_K"},
      {256, 66, "IQ2_XXS"}, {256, 74, "IQ2_XS"},  {256, 98, "IQ3_XXS"}, {256, 50, "IQ1_S"},
      {32, 18, "IQ4_NL"},   {256, 110, "IQ3_S"},  {256, 82, "IQ2_S"},   {256, 136, "IQ4_XS"},
      {1, 1, "I8"},         {1, 2, "I16"},        {1, 4, "I32"},        {1, 8, "I64"},
      {1, 8, "F64"},        {256, 56, "IQ1_M"},   {1, 2, "BF16"},       {0, 0, "Q4_0_4_4"},
      {0, 0, "Q4_0_4_8"},   {0, 0, "Q4_0_8_8"},   {256, 54, "TQ1_0"},   {256, 66, "TQ2_0"},
      {0, 0, "IQ4_NL_4_4"}, {0, 0, "IQ4_NL_4_8"}, {0, 0, "IQ4_NL_8_8"}, {32, 17, "MXFP4"}};
  if (t < std::size(table)) return table[t];
  return {0, 0, "unknown"};
}

struct Fail {
  Severity sev;
  std::string rule;
  std::string subject;
  std::string message;
  std::uint64_t offset;
};
template <class T>
using R = std::expected<T, Fail>;

struct KV {
  std::uint32_t type = 0;
  std::uint64_t offset = 0;     // of the key
  std::uint64_t uval = 0;       // unsigned integer scalars
  bool uval_ok = false;
  std::string_view str;         // STRING
  std::uint32_t elem_type = 0;  // ARRAY
  std::uint64_t count = 0;      // ARRAY
};

std::string q(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 120)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 120) out += "...";
  return out + "'";
}

class Parser {
 public:
  Parser(ByteView d) : d_(d) {}

  std::uint64_t pos() const { return pos_; }
  std::uint64_t left() const { return d_.size() - pos_; }
  bool v1 = false;

  R<std::uint64_t> uint(int width, const char* what) {
    if (static_cast<std::uint64_t>(width) > left()) {
      return std::unexpected(Fail{Severity::dangerous, "gguf.truncated", "",
                                  std::string("file ends inside ") + what, pos_});
    }
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i) v |= static_cast<std::uint64_t>(d_[pos_ + i]) << (8 * i);
    pos_ += width;
    return v;
  }
  R<std::uint64_t> len(const char* what) { return uint(v1 ? 4 : 8, what); }
  R<std::string_view> str(const char* what) {
    std::uint64_t at = pos_;
    auto n = len(what);
    if (!n) return std::unexpected(n.error());
    if (*n > left()) {
      return std::unexpected(Fail{Severity::dangerous, "gguf.string-length", "",
                                  std::string(what) + " length " + std::to_string(*n) + " exceeds the " +
                                      std::to_string(left()) + " bytes left in the file",
                                  at});
    }
    std::string_view s(reinterpret_cast<const char*>(d_.data() + pos_), *n);
    pos_ += *n;
    return s;
  }
  R<void> skip(std::uint64_t n, const char* what) {
    if (n > left()) {
      return std::unexpected(Fail{Severity::dangerous, "gguf.truncated", "", std::string("file ends inside ") + what, pos_});
    }
    pos_ += n;
    return {};
  }

  // A value of type t (key for messages); fills kv's summary fields.
  R<void> value(std::uint32_t t, KV& kv, std::string_view key, int depth) {
    if (t > kF64) {
      return std::unexpected(Fail{Severity::dangerous, "gguf.kv-type", std::string(key),
                                  "key " + q(key) + " has unknown value type " + std::to_string(t), pos_});
    }
    if (int sz = vt_size(t)) {
      auto v = uint(sz, "a KV value");
      if (!v) return std::unexpected(v.error());
      if (t == kU8 || t == kU16 || t == kU32 || t == kU64) {
        kv.uval = *v;
        kv.uval_ok = true;
      } else if (t == kI8 || t == kI16 || t == kI32 || t == kI64) {
        // Non-negative signed values still usable as counts/ids.
        std::uint64_t sign = 1ull << (sz * 8 - 1);
        if (!(*v & sign)) { kv.uval = *v; kv.uval_ok = true; }
      }
      return {};
    }
    if (t == kString) {
      auto s = str("string value");
      if (!s) return std::unexpected(s.error());
      kv.str = *s;
      return {};
    }
    // Array.
    std::uint64_t at = pos_;
    auto et = uint(4, "array element type");
    if (!et) return std::unexpected(et.error());
    auto n = len("array count");
    if (!n) return std::unexpected(n.error());
    kv.elem_type = static_cast<std::uint32_t>(*et);
    kv.count = *n;
    if (*et > kF64) {
      return std::unexpected(Fail{Severity::dangerous, "gguf.kv-type", std::string(key),
                                  "key " + q(key) + " is an array of unknown type " + std::to_string(*et), at});
    }
    if (*et == kArray && depth + 1 >= kGgufMaxArrayDepth) {
      return std::unexpected(Fail{Severity::dangerous, "gguf.array-depth", std::string(key),
                                  "key " + q(key) + " nests arrays deeper than " + std::to_string(kGgufMaxArrayDepth), at});
    }
    // Every element takes at least min bytes: bound the count by what is left.
    std::uint64_t min = vt_size(static_cast<std::uint32_t>(*et));
    if (min == 0) min = (*et == kString) ? (v1 ? 4 : 8) : 4 + (v1 ? 4 : 8);
    if (*n > left() / min) {
      return std::unexpected(Fail{Severity::dangerous, "gguf.array-length", std::string(key),
                                  "key " + q(key) + " declares " + std::to_string(*n) + " " + vt_name(*et) +
                                      " elements, more than the " + std::to_string(left()) + " bytes left can hold",
                                  at});
    }
    if (vt_size(static_cast<std::uint32_t>(*et))) return skip(*n * min, "array data");
    for (std::uint64_t i = 0; i < *n; ++i) {
      KV inner;
      if (*et == kString) {
        auto s = str("array string");
        if (!s) return std::unexpected(s.error());
      } else {
        auto r = value(kArray, inner, key, depth + 1);
        if (!r) return r;
      }
    }
    return {};
  }

 private:
  ByteView d_;
  std::uint64_t pos_ = 0;
};

struct Tensor {
  std::string_view name;
  std::uint64_t offset = 0, size = 0;
  std::uint64_t info_offset = 0;
};

bool mul_ok(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

void report(Context& ctx, const Fail& f) {
  ctx.add(f.sev, f.rule, f.subject, "gguf: " + f.message, f.offset);
}

// The tokenizer's arrays must have the element types loaders index them as, and equal lengths.
void check_tokenizer(Context& ctx, const std::unordered_map<std::string_view, KV>& kvs) {
  struct Want { std::string_view key; std::uint32_t elem; };
  static const Want wants[] = {{"tokenizer.ggml.tokens", kString}, {"tokenizer.ggml.scores", kF32},
                               {"tokenizer.ggml.token_type", kI32}, {"tokenizer.ggml.merges", kString},
                               {"tokenizer.ggml.added_tokens", kString}};
  for (const auto& w : wants) {
    auto it = kvs.find(w.key);
    if (it == kvs.end()) continue;
    const KV& kv = it->second;
    if (kv.type != kArray || kv.elem_type != w.elem) {
      ctx.add(Severity::dangerous, "gguf.tokenizer-type", std::string(w.key),
              "gguf: " + q(w.key) + " is " + (kv.type == kArray ? std::string("an array of ") + vt_name(kv.elem_type)
                                                                 : std::string(vt_name(kv.type))) +
                  ", loaders index it as an array of " + vt_name(w.elem),
              kv.offset);
    }
  }
  auto tok = kvs.find("tokenizer.ggml.tokens");
  if (tok == kvs.end() || tok->second.type != kArray) return;
  const std::uint64_t n_tokens = tok->second.count;
  for (std::string_view k : {"tokenizer.ggml.scores", "tokenizer.ggml.token_type"}) {
    auto it = kvs.find(k);
    if (it != kvs.end() && it->second.type == kArray && it->second.count != n_tokens) {
      ctx.add(Severity::dangerous, "gguf.tokenizer-count", std::string(k),
              "gguf: " + q(k) + " has " + std::to_string(it->second.count) + " entries for " +
                  std::to_string(n_tokens) + " tokens (loaders index one by the other)",
              it->second.offset);
    }
  }
  for (const auto& [k, kv] : kvs) {
    if (!k.starts_with("tokenizer.ggml.") || !k.ends_with("_token_id")) continue;
    if (!kv.uval_ok) {
      if (kv.type != kI32 && kv.type != kI64) {
        ctx.add(Severity::suspicious, "gguf.token-id", std::string(k),
                "gguf: " + q(k) + " is " + vt_name(kv.type) + ", not an integer token id", kv.offset);
      }
      continue;  // negative: "no such token" by convention
    }
    if (kv.uval >= n_tokens && kv.uval != 0xFFFFFFFFull) {
      ctx.add(Severity::suspicious, "gguf.token-id", std::string(k),
              "gguf: " + q(k) + " = " + std::to_string(kv.uval) + " is outside the " + std::to_string(n_tokens) +
                  "-token vocabulary",
              kv.offset);
    }
  }
}

}  // namespace

void scan_gguf(Context& ctx, ByteView data) {
  Parser p(data);
  auto magic = p.uint(4, "the magic");
  if (!magic || *magic != 0x46554747u) {  // "GGUF"
    ctx.add(Severity::suspicious, "gguf.magic", "", "gguf: missing GGUF magic", 0);
    return;
  }
  auto version = p.uint(4, "the version");
  if (!version) return report(ctx, version.error());
  if (*version < 1 || *version > 3) {
    std::uint32_t swapped = __builtin_bswap32(static_cast<std::uint32_t>(*version));
    ctx.add(Severity::suspicious, "gguf.version", "",
            swapped >= 1 && swapped <= 3 ? "gguf: big-endian GGUF (version " + std::to_string(swapped) +
                                               ") is not validated by this scanner"
                                         : "gguf: unsupported version " + std::to_string(*version),
            4);
    return;
  }
  p.v1 = (*version == 1);
  auto n_tensors = p.len("the tensor count");
  if (!n_tensors) return report(ctx, n_tensors.error());
  auto n_kv = p.len("the KV count");
  if (!n_kv) return report(ctx, n_kv.error());
  // Each KV takes at least a key length, a type and one byte; each tensor info at least a name
  // length, n_dims, type and offset.
  const std::uint64_t min_kv = (p.v1 ? 4 : 8) + 4 + 1, min_ti = (p.v1 ? 4 : 8) + 4 + 4 + 8;
  if (*n_kv > p.left() / min_kv) {
    return ctx.add(Severity::dangerous, "gguf.count", "", "gguf: KV count " + std::to_string(*n_kv) +
                   " cannot fit in the " + std::to_string(p.left()) + " bytes left", p.v1 ? 12 : 16);
  }
  if (*n_tensors > p.left() / min_ti) {
    return ctx.add(Severity::dangerous, "gguf.count", "", "gguf: tensor count " + std::to_string(*n_tensors) +
                   " cannot fit in the " + std::to_string(p.left()) + " bytes left", 8);
  }

  // Hard caps on top of the file-size bound: real models have thousands of tensors and
  // hundreds of KVs; a count that fits a huge file must not make the scanner allocate per entry.
  if (*n_tensors > kGgufMaxTensors || *n_kv > kGgufMaxKvs) {
    return ctx.add(Severity::dangerous, "gguf.count", "",
                   "gguf: " + std::to_string(*n_tensors) + " tensors / " + std::to_string(*n_kv) +
                       " KVs exceed the scanner's limits (" + std::to_string(kGgufMaxTensors) + " / " +
                       std::to_string(kGgufMaxKvs) + ")", 8);
  }

  std::unordered_map<std::string_view, KV> kvs;
  for (std::uint64_t i = 0; i < *n_kv; ++i) {
    KV kv;
    kv.offset = p.pos();
    auto key = p.str("KV key");
    if (!key) return report(ctx, key.error());
    auto type = p.uint(4, "KV type");
    if (!type) return report(ctx, type.error());
    kv.type = static_cast<std::uint32_t>(*type);
    auto v = p.value(kv.type, kv, *key, 0);
    if (!v) return report(ctx, v.error());
    if (!kvs.emplace(*key, kv).second) {
      ctx.add(Severity::dangerous, "gguf.duplicate-key", std::string(*key), "gguf: key " + q(*key) + " appears twice",
              kv.offset);
    }
  }

  // general.alignment: UINT32, a non-zero power of two (ggml's rule); default 32.
  std::uint64_t alignment = 32;
  if (auto it = kvs.find("general.alignment"); it != kvs.end()) {
    const KV& a = it->second;
    if (a.type != kU32) {
      ctx.add(Severity::dangerous, "gguf.alignment", "general.alignment",
              std::string("gguf: general.alignment is ") + vt_name(a.type) + ", not UINT32 (ggml rejects the file)",
              a.offset);
    } else if (a.uval == 0 || (a.uval & (a.uval - 1)) != 0) {
      return ctx.add(Severity::dangerous, "gguf.alignment", "general.alignment",
                     "gguf: general.alignment " + std::to_string(a.uval) + " is not a non-zero power of two", a.offset);
    } else {
      alignment = a.uval;
    }
  }
  check_tokenizer(ctx, kvs);
  for (const auto& [k, kv] : kvs) {
    if (k.starts_with("tokenizer.chat_template")) {
      if (kv.type == kString) check_chat_template(ctx, kv.str, k);
      else if (kv.type != kArray)
        ctx.add(Severity::suspicious, "gguf.kv-type", std::string(k), "gguf: " + q(k) + " is not a string", kv.offset);
    }
  }

  // Tensor infos.
  std::vector<Tensor> tensors;
  tensors.reserve(*n_tensors);
  std::unordered_set<std::string_view> names;
  for (std::uint64_t i = 0; i < *n_tensors; ++i) {
    Tensor t;
    t.info_offset = p.pos();
    auto name = p.str("tensor name");
    if (!name) return report(ctx, name.error());
    t.name = *name;
    std::string subj = "tensor " + q(*name);
    if (name->size() >= 64) {  // GGML_MAX_NAME, including the terminator
      ctx.add(Severity::dangerous, "gguf.tensor-name", subj,
              "gguf: tensor name of " + std::to_string(name->size()) + " bytes exceeds ggml's 63", t.info_offset);
    }
    if (!names.insert(*name).second) {
      ctx.add(Severity::dangerous, "gguf.duplicate-tensor", subj, "gguf: tensor " + q(*name) + " appears twice", t.info_offset);
    }
    auto n_dims = p.uint(4, "n_dims");
    if (!n_dims) return report(ctx, n_dims.error());
    if (*n_dims > kGgufMaxDims) {
      ctx.add(Severity::dangerous, "gguf.tensor-dims", subj,
              "gguf: tensor " + q(*name) + " has " + std::to_string(*n_dims) + " dimensions, loaders hold at most " +
                  std::to_string(kGgufMaxDims),
              t.info_offset);
      if (*n_dims > p.left() / (p.v1 ? 4 : 8)) {
        return ctx.add(Severity::dangerous, "gguf.truncated", subj, "gguf: dims of tensor " + q(*name) + " run past the end of the file", p.pos());
      }
    }
    std::uint64_t elems = 1, ne0 = 1;
    bool bad = false;
    for (std::uint64_t d = 0; d < *n_dims; ++d) {
      auto dim = p.uint(p.v1 ? 4 : 8, "tensor dims");
      if (!dim) return report(ctx, dim.error());
      if (d == 0) ne0 = *dim;
      if (*dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        ctx.add(Severity::dangerous, "gguf.tensor-dims", subj,
                "gguf: tensor " + q(*name) + " dimension " + std::to_string(d) + " is negative", t.info_offset);
        bad = true;
      } else if (!mul_ok(elems, *dim, elems) || elems > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        if (!bad) {
          ctx.add(Severity::dangerous, "gguf.tensor-overflow", subj,
                  "gguf: tensor " + q(*name) + " dimensions overflow the element count", t.info_offset);
        }
        bad = true;
      }
    }
    auto type = p.uint(4, "tensor type");
    if (!type) return report(ctx, type.error());
    auto offset = p.uint(8, "tensor offset");
    if (!offset) return report(ctx, offset.error());
    t.offset = *offset;
    TypeInfo ti = ggml_type(static_cast<std::uint32_t>(*type));
    if (ti.block == 0) {
      ctx.add(Severity::dangerous, "gguf.tensor-type", subj,
              "gguf: tensor " + q(*name) + " has unknown or removed ggml type " +
                  std::to_string(static_cast<std::int32_t>(*type)),
              t.info_offset);
      bad = true;
    } else if (!bad && ne0 % ti.block != 0) {
      ctx.add(Severity::dangerous, "gguf.tensor-shape", subj,
              "gguf: tensor " + q(*name) + " row of " + std::to_string(ne0) + " elements is not a multiple of the " +
                  ti.name + " block size " + std::to_string(ti.block),
              t.info_offset);
      bad = true;
    }
    if (!bad && !mul_ok(elems / ti.block, ti.bytes, t.size)) {
      ctx.add(Severity::dangerous, "gguf.tensor-overflow", subj,
              "gguf: tensor " + q(*name) + " byte size overflows", t.info_offset);
      bad = true;
    }
    if (t.offset % alignment != 0) {
      ctx.add(Severity::dangerous, "gguf.tensor-alignment", subj,
              "gguf: tensor " + q(*name) + " offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                  std::to_string(alignment),
              t.info_offset);
    }
    if (!bad) tensors.push_back(t);
  }

  // Data section: starts at the next multiple of the alignment.
  std::uint64_t data_start = p.pos() + (alignment - p.pos() % alignment) % alignment;
  if (data_start > data.size()) {
    if (*n_tensors > 0) {
      ctx.add(Severity::dangerous, "gguf.truncated", "", "gguf: data section starts at " + std::to_string(data_start) +
              ", past the end of the " + std::to_string(data.size()) + "-byte file", p.pos());
    }
    return;
  }
  const std::uint64_t data_len = data.size() - data_start;
  // ggml's reader requires tensors in order, each at the previous end padded to the alignment.
  std::uint64_t expect = 0;
  bool ggml_layout = true;
  for (const Tensor& t : tensors) {
    if (t.offset != expect) ggml_layout = false;
    std::uint64_t padded = t.size + (alignment - t.size % alignment) % alignment;
    if (padded < t.size || expect > std::numeric_limits<std::uint64_t>::max() - padded) { ggml_layout = false; break; }
    expect += padded;
  }
  std::vector<const Tensor*> sorted;
  for (const Tensor& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const Tensor* a, const Tensor* b) { return a->offset < b->offset; });
  const Tensor* prev = nullptr;
  std::uint64_t prev_end = 0;
  for (const Tensor* t : sorted) {
    std::string subj = "tensor " + q(t->name);
    if (t->offset > data_len || t->size > data_len - t->offset) {
      ctx.add(Severity::dangerous, "gguf.tensor-bounds", subj,
              "gguf: tensor " + q(t->name) + " [" + std::to_string(t->offset) + ", +" + std::to_string(t->size) +
                  ") runs past the " + std::to_string(data_len) + "-byte data section",
              t->info_offset);
      continue;
    }
    if (prev && t->offset < prev_end) {
      ctx.add(Severity::dangerous, "gguf.tensor-overlap", subj,
              "gguf: tensor " + q(t->name) + " at " + std::to_string(t->offset) + " overlaps " + q(prev->name),
              data_start + t->offset);
    }
    if (t->offset + t->size >= prev_end) {
      prev_end = t->offset + t->size;
      prev = t;
    }
  }
  if (!ggml_layout && tensors.size() == *n_tensors) {
    ctx.add(Severity::dangerous, "gguf.tensor-layout", "",
            "gguf: tensors are not stored in order at aligned consecutive offsets (ggml refuses such files)", data_start);
  }
}

}  // namespace hubgate::scan
