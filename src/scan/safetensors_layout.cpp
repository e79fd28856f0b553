// safetensors header validation (security.md §4), agreeing with the reference reader (tensor.rs):
//   [u64 LE N][N bytes of UTF-8 JSON, starts with '{', may be right-padded][data section]
// The JSON is parsed strictly (duplicate keys are findings: readers disagree on them). Every
// tensor entry must be {"dtype", "shape", "data_offsets": [begin, end]} with a known dtype and
// shape product × dtype bits = 8 × (end - begin), computed overflow-checked. Sorted by offsets,
// entries must tile the data section exactly from 0 to its end: an overlap aliases two tensors,
// a hole or trailing bytes can hide a second file (polyglot). `__metadata__` is string → string.
#include "scan/safetensors_layout.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "scan/formats.hpp"
#include "scan/json_strict.hpp"

namespace hubgate::scan {
namespace {

using json = nlohmann::json;

// Bits per element for each dtype the reference library knows.
int dtype_bits_of(std::string_view d) {
  static const std::pair<std::string_view, int> table[] = {
      {"BOOL", 8},        {"U8", 8},           {"I8", 8},      {"F8_E5M2", 8},  {"F8_E4M3", 8},
      {"F8_E8M0", 8},     {"F8_E4M3FNUZ", 8},  {"F8_E5M2FNUZ", 8}, {"F6_E2M3", 6}, {"F6_E3M2", 6},
      {"F4", 4},          {"I16", 16},         {"U16", 16},    {"F16", 16},     {"BF16", 16},
      {"I32", 32},        {"U32", 32},         {"F32", 32},    {"C64", 64},     {"F64", 64},
      {"I64", 64},        {"U64", 64}};
  for (const auto& [name, bits] : table) {
    if (name == d) return bits;
  }
  return 0;
}

using Entry = SafetensorsTensor;

std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 200) out += "...";
  return out + "'";
}

std::string offsets_str(const Entry& e) {
  return "[" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "]";
}

// Caps the number of findings one file can produce (a header with a million bad entries must
// not make a million findings).
class Sink {
 public:
  explicit Sink(std::vector<LayoutFinding>& out) : out_(out) {}
  void add(Severity s, std::string rule, std::string subject, std::string msg,
           std::optional<std::uint64_t> off = std::nullopt) {
    if (++count_ == kMax + 1) {
      out_.push_back({Severity::suspicious, "safetensors.too-many-findings", "",
                      "more than " + std::to_string(kMax) + " findings; the rest are not listed", std::nullopt});
    }
    if (count_ > kMax) return;
    out_.push_back({s, std::move(rule), std::move(subject), std::move(msg), off});
  }

 private:
  static constexpr int kMax = 100;
  std::vector<LayoutFinding>& out_;
  int count_ = 0;
};

// Parses one tensor entry; false (with a finding) when it is not well-formed.
bool parse_entry(Sink& sink, const std::string& name, const json& v, Entry& out, std::uint64_t hdr_off) {
  std::string subj = "tensor " + quote(name);
  if (!v.is_object()) {
    sink.add(Severity::dangerous, "safetensors.tensor-entry", subj, "tensor " + quote(name) + " is not an object", hdr_off);
    return false;
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      sink.add(Severity::suspicious, "safetensors.unknown-field", subj,
               "tensor " + quote(name) + " has unknown field " + quote(it.key()), hdr_off);
    }
  }
  auto dt = v.find("dtype");
  auto sh = v.find("shape");
  auto of = v.find("data_offsets");
  if (dt == v.end() || sh == v.end() || of == v.end()) {
    sink.add(Severity::dangerous, "safetensors.missing-field", subj,
             "tensor " + quote(name) + " lacks dtype, shape or data_offsets", hdr_off);
    return false;
  }
  if (!of->is_array() || of->size() != 2 || !(*of)[0].is_number_unsigned() || !(*of)[1].is_number_unsigned()) {
    sink.add(Severity::dangerous, "safetensors.bad-offsets", subj,
             "tensor " + quote(name) + " data_offsets is not [begin, end] of unsigned integers (negative, fractional "
             "or out-of-range offsets)", hdr_off);
    return false;
  }
  out.name = name;
  out.begin = (*of)[0].get<std::uint64_t>();
  out.end = (*of)[1].get<std::uint64_t>();
  bool ok = true;
  if (out.end < out.begin) {
    sink.add(Severity::dangerous, "safetensors.offsets", subj,
             "tensor " + quote(name) + " data_offsets " + offsets_str(out) + " end before begin", hdr_off);
    ok = false;
  }
  int bits = 0;
  if (!dt->is_string() || (bits = dtype_bits_of(dt->get_ref<const std::string&>())) == 0) {
    sink.add(Severity::suspicious, "safetensors.dtype", subj,
             "tensor " + quote(name) + " has unknown dtype " + (dt->is_string() ? quote(dt->get_ref<const std::string&>()) : dt->dump()),
             hdr_off);
    ok = false;
  }
  if (!sh->is_array()) {
    sink.add(Severity::dangerous, "safetensors.bad-shape", subj, "tensor " + quote(name) + " shape is not an array", hdr_off);
    return false;
  }
  // Element count, overflow-checked like the reference (checked_mul on usize).
  std::uint64_t n = 1;
  bool overflow = false;
  out.shape.clear();
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned()) {
      sink.add(Severity::dangerous, "safetensors.bad-shape", subj,
               "tensor " + quote(name) + " shape has a non-integer or negative dimension " + d.dump().substr(0, 40), hdr_off);
      return false;
    }
    std::uint64_t x = d.get<std::uint64_t>();
    out.shape.push_back(x);
    if (x != 0 && n > std::numeric_limits<std::uint64_t>::max() / x) overflow = true;
    else n *= x;
  }
  if (!ok) return false;
  out.dtype = dt->get_ref<const std::string&>();
  if (overflow || n > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(bits)) {
    sink.add(Severity::dangerous, "safetensors.shape-overflow", subj,
             "tensor " + quote(name) + " shape " + sh->dump().substr(0, 200) + " overflows the element count", hdr_off);
    return false;
  }
  std::uint64_t total_bits = n * static_cast<std::uint64_t>(bits);
  if (total_bits % 8 != 0) {
    sink.add(Severity::dangerous, "safetensors.misaligned", subj,
             "tensor " + quote(name) + " has " + std::to_string(total_bits) + " bits, not a whole number of bytes", hdr_off);
    return false;
  }
  if (total_bits / 8 != out.end - out.begin) {
    sink.add(Severity::dangerous, "safetensors.size-mismatch", subj,
             "tensor " + quote(name) + " shape " + sh->dump().substr(0, 200) + " of " + dt->get_ref<const std::string&>() +
                 " needs " + std::to_string(total_bits / 8) + " bytes but data_offsets " + offsets_str(out) + " span " +
                 std::to_string(out.end - out.begin),
             hdr_off);
    // Keep the entry for the layout checks: its span is what a reader would map.
  }
  return true;
}

}  // namespace

int safetensors_dtype_bits(std::string_view dtype) { return dtype_bits_of(dtype); }

std::string safetensors_quote(std::string_view s) { return quote(s); }

SafetensorsLayout check_safetensors_layout(ByteView data, std::uint64_t file_size,
                                           std::vector<LayoutFinding>& findings) {
  SafetensorsLayout layout;
  Sink sink(findings);
  ByteReader r(data, "safetensors");
  auto n_or = r.u64le();
  if (!n_or) {
    sink.add(Severity::suspicious, "safetensors.truncated", "", "file is " + std::to_string(file_size) +
             " bytes, shorter than the 8-byte header length", 0);
    return layout;
  }
  const std::uint64_t n = *n_or;
  if (n > kSafetensorsMaxHeader) {
    sink.add(Severity::dangerous, "safetensors.header-length", "",
             "header length " + std::to_string(n) + " exceeds the reference reader's cap of " +
                 std::to_string(kSafetensorsMaxHeader), 0);
    return layout;
  }
  if (n > file_size - 8) {
    sink.add(Severity::dangerous, "safetensors.header-length", "",
             "header length " + std::to_string(n) + " runs past the end of the " + std::to_string(file_size) +
                 "-byte file", 0);
    return layout;
  }
  if (n > data.size() - 8) {
    sink.add(Severity::dangerous, "safetensors.header-length", "",
             "header of " + std::to_string(n) + " bytes was not given whole (" + std::to_string(data.size()) +
                 " bytes read)", 0);
    return layout;
  }
  layout.header_len = n;
  if (n > kSafetensorsHubHeader) {
    sink.add(Severity::suspicious, "safetensors.header-length", "",
             "header length " + std::to_string(n) + " exceeds the Hub parser's cap of " +
                 std::to_string(kSafetensorsHubHeader), 0);
  }
  std::string_view header = as_chars(data.subspan(8, n));
  if (header.empty() || header.front() != '{') {
    sink.add(Severity::dangerous, "safetensors.header-start", "", "header does not start with '{'", 8);
    return layout;
  }
  auto parsed = parse_json_strict(header);
  if (!parsed) {
    bool dup = parsed.error().message.starts_with("duplicate key");
    sink.add(Severity::dangerous, dup ? "safetensors.duplicate-key" : "safetensors.json", "",
             "header JSON: " + parsed.error().message, 8);
    return layout;
  }
  const json& root = *parsed;
  if (!root.is_object()) {
    sink.add(Severity::dangerous, "safetensors.json", "", "header is not a JSON object", 8);
    return layout;
  }
  std::vector<Entry> entries;
  bool entries_ok = true;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (it->is_null()) continue;
      if (!it->is_object()) {
        sink.add(Severity::dangerous, "safetensors.metadata", "__metadata__", "__metadata__ is not an object", 8);
        continue;
      }
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (m->is_string()) layout.metadata.emplace_back(m.key(), m->get<std::string>());
        if (!m->is_string()) {
          sink.add(Severity::dangerous, "safetensors.metadata", "__metadata__." + m.key(),
                   "__metadata__ value " + quote(m.key()) + " is not a string (" + m->type_name() + ")", 8);
        }
      }
      continue;
    }
    Entry e;
    if (parse_entry(sink, it.key(), *it, e, 8)) entries.push_back(std::move(e));
    else entries_ok = false;
  }
  // Layout: sorted by (begin, end) the spans must tile [0, data_len) exactly.
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  const std::uint64_t data_len = file_size - 8 - n;
  const std::uint64_t data_start = 8 + n;
  std::uint64_t expect = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : entries) {
    std::string subj = "tensor " + quote(e.name);
    if (e.begin < expect) {
      sink.add(Severity::dangerous, "safetensors.overlap", subj,
               "tensor " + quote(e.name) + " data_offsets " + offsets_str(e) + " overlap " + quote(prev->name),
               data_start + e.begin);
    } else if (e.begin > expect) {
      sink.add(Severity::dangerous, "safetensors.gap", subj,
               "tensor " + quote(e.name) + " data_offsets " + offsets_str(e) + " leave a hole of " +
                   std::to_string(e.begin - expect) + " bytes after " +
                   (prev ? quote(prev->name) : std::string("the header")),
               data_start + expect);
    }
    if (e.end > data_len) {
      sink.add(Severity::dangerous, "safetensors.out-of-bounds", subj,
               "tensor " + quote(e.name) + " data_offsets " + offsets_str(e) + " run past the " +
                   std::to_string(data_len) + "-byte data section",
               data_start + std::min(e.begin, data_len));
    }
    if (e.end >= expect) {
      expect = e.end;
      prev = &e;
    }
  }
  if (entries_ok && expect < data_len) {
    sink.add(Severity::dangerous, "safetensors.trailing-data", "",
             "data section is " + std::to_string(data_len) + " bytes but tensors end at " + std::to_string(expect) +
                 " (" + std::to_string(data_len - expect) + " unaccounted bytes)",
             data_start + expect);
  }
  layout.tensors = std::move(entries);
  return layout;
}

}  // namespace hubgate::scan
