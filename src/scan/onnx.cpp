// ONNX validation (security.md §3) with a hand-written protobuf walk (protowire.hpp):
//   ModelProto{7 graph, 8 opset_import, 20 training_info, 25 functions}
//   GraphProto{1 node, 5 initializer, 15 sparse_initializer}
//   NodeProto{4 op_type, 7 domain, 5 attribute}, AttributeProto{5 t, 6 g, 10 tensors, 11 graphs,
//     22 sparse_tensor, 23 sparse_tensors}, TensorProto{8 name, 13 external_data, 14 data_location},
//   SparseTensorProto{1 values, 2 indices}, FunctionProto{7 node, 9 opset_import, 10 domain},
//   TrainingInfoProto{1 initialization, 3 algorithm}.
// Every tensor reachable from the model (initializers, Constant attributes, subgraphs of If/
// Loop/Scan, functions, training graphs) is checked: an EXTERNAL tensor's `location` must be a
// relative path that stays inside the model folder. Node and opset domains outside the standard
// and ONNX Runtime ones need native custom-op libraries: reported, unless the model defines a
// local function in that domain. Wire-format errors are findings (the loader would refuse).
#include <map>
#include <set>
#include <string>
#include <vector>

#include "scan/formats.hpp"
#include "scan/protowire.hpp"
#include "util/parse.hpp"

namespace hubgate::scan {
namespace {

std::string q(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 200) out += "...";
  return out + "'";
}

bool known_domain(std::string_view d) {
  static const std::string_view known[] = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training",
                                           "ai.onnx.preview.training", "com.microsoft",
                                           "com.microsoft.nchwc", "com.microsoft.experimental",
                                           "com.ms.internal.nhwc"};
  for (auto k : known) {
    if (d == k) return true;
  }
  return false;
}

// Why an external-data location escapes the model folder; empty when it does not.
std::string location_problem(std::string_view loc) {
  if (loc.empty()) return "is empty";
  if (loc.find('\0') != std::string_view::npos) return "contains a NUL byte";
  if (loc.front() == '/' || loc.front() == '\\') return "is absolute";
  if (loc.size() >= 2 && loc[1] == ':' && std::isalpha(static_cast<unsigned char>(loc[0]))) return "has a drive letter";
  if (loc.front() == '~') return "starts with '~' (home directory)";
  if (loc.find("://") != std::string_view::npos || loc.starts_with("file:")) return "is a URL";
  std::size_t start = 0;
  while (start <= loc.size()) {
    std::size_t end = loc.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = loc.size();
    if (loc.substr(start, end - start) == "..") return "contains a '..' component";
    start = end + 1;
  }
  if (loc.find(':') != std::string_view::npos) return "contains ':' (alternate data stream or scheme)";
  return {};
}

class Walker {
 public:
  Walker(Context& ctx, ByteView file) : ctx_(ctx), file_(file) {}

  void model(ByteView m) {
    ProtoReader r(m);
    ProtoField f;
    bool graph = false;
    while (r.next(f)) {
      if (f.type != WireType::len) continue;
      switch (f.number) {
        case 7: graph = true; this->graph(f.bytes, 1); break;
        case 8: opset(f.bytes); break;
        case 20: training(f.bytes); break;
        case 25: function(f.bytes); break;
        default: break;
      }
    }
    if (!check(r, m)) return;
    if (!graph) add(Severity::suspicious, "onnx.no-graph", "", "onnx: model has no graph", 0);
    // Custom domains, except those the model implements itself as local functions.
    for (const auto& [domain, ops] : domains_) {
      if (known_domain(domain) || local_domains_.count(domain)) continue;
      std::string list;
      int n = 0;
      for (const auto& op : ops) {
        if (n++ == 5) { list += ", ..."; break; }
        list += (list.empty() ? "" : ", ") + op;
      }
      add(Severity::suspicious, "onnx.custom-domain", domain,
          "onnx: operators from custom domain " + q(domain) + (list.empty() ? std::string(" (declared in opset_import)") : " (" + list + ")") +
              " need a native custom-op library",
          std::nullopt);
    }
  }

 private:
  std::uint64_t at(ByteView v, std::uint64_t rel = 0) const {
    return static_cast<std::uint64_t>(v.data() - file_.data()) + rel;
  }
  void add(Severity s, const char* rule, std::string subject, std::string msg, std::optional<std::uint64_t> off) {
    if (++count_ == kMaxFindings + 1) {
      ctx_.add(Severity::suspicious, "onnx.too-many-findings", "", "onnx: more than 100 findings; the rest are not listed");
    }
    if (count_ > kMaxFindings) return;
    ctx_.add(s, rule, std::move(subject), std::move(msg), off);
  }
  // After a message's loop: a wire error is a finding; false stops the walk of that message.
  bool check(const ProtoReader& r, ByteView m) {
    if (r.error().empty()) return true;
    if (!malformed_) {
      add(Severity::dangerous, "onnx.malformed", "", "onnx: invalid protobuf at " + r.error(), at(m, r.offset()));
    }
    malformed_ = true;
    return false;
  }

  void opset(ByteView m) {
    ProtoReader r(m);
    ProtoField f;
    while (r.next(f)) {
      if (f.number == 1 && f.type == WireType::len && domains_.size() < 1000) {
        domains_[std::string(as_chars(f.bytes).substr(0, 200))];
      }
    }
    check(r, m);
  }

  void training(ByteView m) {
    ProtoReader r(m);
    ProtoField f;
    while (r.next(f)) {
      if ((f.number == 1 || f.number == 3) && f.type == WireType::len) graph(f.bytes, 1);
    }
    check(r, m);
  }

  void function(ByteView m) {
    ProtoReader r(m);
    ProtoField f;
    while (r.next(f)) {
      if (f.type != WireType::len) continue;
      if (f.number == 10 && local_domains_.size() < 1000) local_domains_.insert(std::string(as_chars(f.bytes).substr(0, 200)));
      else if (f.number == 7) node(f.bytes, 1);
      else if (f.number == 9) opset(f.bytes);
    }
    check(r, m);
  }

  bool deeper(int depth, ByteView m) {
    if (depth <= kOnnxMaxGraphDepth) return true;
    if (!too_deep_) {
      add(Severity::suspicious, "onnx.depth", "", "onnx: graphs nested deeper than " + std::to_string(kOnnxMaxGraphDepth) +
          " levels; not scanned further", at(m));
    }
    too_deep_ = true;
    return false;
  }

  void graph(ByteView m, int depth) {
    if (!deeper(depth, m)) return;
    ProtoReader r(m);
    ProtoField f;
    while (r.next(f)) {
      if (f.type != WireType::len) continue;
      if (f.number == 1) node(f.bytes, depth);
      else if (f.number == 5) tensor(f.bytes);
      else if (f.number == 15) sparse(f.bytes);
    }
    check(r, m);
  }

  void node(ByteView m, int depth) {
    ProtoReader r(m);
    ProtoField f;
    std::string domain, op;
    while (r.next(f)) {
      if (f.type != WireType::len) continue;
      if (f.number == 4) op = std::string(as_chars(f.bytes).substr(0, 200));
      else if (f.number == 7) domain = std::string(as_chars(f.bytes).substr(0, 200));
      else if (f.number == 5) attribute(f.bytes, depth);
    }
    if (!check(r, m)) return;
    if (domains_.size() >= 1000 && !domains_.count(domain)) return;  // bounded memory
    auto& ops = domains_[domain];
    if (ops.size() < 16) ops.insert(op);
  }

  void attribute(ByteView m, int depth) {
    ProtoReader r(m);
    ProtoField f;
    while (r.next(f)) {
      if (f.type != WireType::len) continue;
      switch (f.number) {
        case 5: case 10: tensor(f.bytes); break;
        case 6: case 11: graph(f.bytes, depth + 1); break;
        case 22: case 23: sparse(f.bytes); break;
        default: break;
      }
    }
    check(r, m);
  }

  void sparse(ByteView m) {
    ProtoReader r(m);
    ProtoField f;
    while (r.next(f)) {
      if ((f.number == 1 || f.number == 2) && f.type == WireType::len) tensor(f.bytes);
    }
    check(r, m);
  }

  void tensor(ByteView m) {
    ProtoReader r(m);
    ProtoField f;
    std::string name;
    bool external = false;
    std::vector<std::pair<std::string_view, std::string_view>> entries;
    std::uint64_t entries_at = at(m);
    while (r.next(f)) {
      if (f.number == 8 && f.type == WireType::len) name = std::string(as_chars(f.bytes).substr(0, 200));
      else if (f.number == 14 && f.type == WireType::varint) external = (f.value == 1);
      else if (f.number == 13 && f.type == WireType::len) {
        ProtoReader er(f.bytes);
        ProtoField ef;
        std::string_view k, v;
        while (er.next(ef)) {
          if (ef.type != WireType::len) continue;
          if (ef.number == 1) k = as_chars(ef.bytes);
          else if (ef.number == 2) v = as_chars(ef.bytes);
        }
        if (!check(er, f.bytes)) return;
        if (entries.size() < 64) entries.emplace_back(k, v);
        entries_at = at(f.bytes);
      }
    }
    if (!check(r, m)) return;
    if (entries.empty() && !external) return;
    std::string subj = "tensor " + q(name);
    if (external && entries.empty()) {
      add(Severity::suspicious, "onnx.external-data", subj,
          "onnx: tensor " + q(name) + " is EXTERNAL but has no external_data entries", at(m));
      return;
    }
    bool has_location = false;
    for (auto [k, v] : entries) {
      if (k == "location") {
        has_location = true;
        if (std::string why = location_problem(v); !why.empty()) {
          add(Severity::dangerous, "onnx.external-path", subj,
              "onnx: tensor " + q(name) + " external data location " + q(v) + " " + why, entries_at);
        }
      } else if (k == "offset" || k == "length") {
        if (!parse_u64(v)) {
          add(Severity::dangerous, "onnx.external-range", subj,
              "onnx: tensor " + q(name) + " external data " + std::string(k) + " " + q(v) + " is not a decimal integer",
              entries_at);
        }
      }
    }
    if (!has_location) {
      add(Severity::suspicious, "onnx.external-data", subj, "onnx: tensor " + q(name) + " external data has no location",
          entries_at);
    }
  }

  static constexpr int kMaxFindings = 100;
  Context& ctx_;
  ByteView file_;
  int count_ = 0;
  bool malformed_ = false;
  bool too_deep_ = false;
  std::map<std::string, std::set<std::string>> domains_;  // domain -> op types (first few)
  std::set<std::string> local_domains_;
};

}  // namespace

void scan_onnx(Context& ctx, ByteView data) {
  Walker(ctx, data).model(data);
}

}  // namespace hubgate::scan
