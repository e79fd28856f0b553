// safetensors in the scanner: the header and layout rules live in `safetensors_layout.cpp`
// (shared with the streaming loader); this file turns their findings into the report's. Also
// here: the sharded-checkpoint index (`model.safetensors.index.json`) path checks.
#include <string>
#include <vector>

#include "scan/formats.hpp"
#include "scan/json_strict.hpp"
#include "scan/safetensors_layout.hpp"

namespace hubgate::scan {
namespace {

using json = nlohmann::json;

std::string quote(std::string_view s) { return safetensors_quote(s); }

}  // namespace

void scan_safetensors(Context& ctx, ByteView data) {
  std::vector<LayoutFinding> findings;
  check_safetensors_layout(data, data.size(), findings);
  for (auto& f : findings) {
    ctx.add(f.severity, std::move(f.rule), std::move(f.subject), "safetensors: " + std::move(f.message), f.offset);
  }
}

void scan_safetensors_index(Context& ctx, ByteView text) {
  auto parsed = parse_json_strict(as_chars(text));
  if (!parsed) {
    bool dup = parsed.error().message.starts_with("duplicate key");
    ctx.add(dup ? Severity::dangerous : Severity::suspicious,
            dup ? "safetensors.duplicate-key" : "safetensors.json", "",
            "safetensors index: " + parsed.error().message);
    return;
  }
  const json& root = *parsed;
  auto wm = root.is_object() ? root.find("weight_map") : root.end();
  if (!root.is_object() || wm == root.end() || !wm->is_object()) {
    ctx.add(Severity::suspicious, "safetensors.index", "", "safetensors index: no weight_map object");
    return;
  }
  int reported = 0;
  for (auto it = wm->begin(); it != wm->end() && reported < 100; ++it) {
    if (!it->is_string()) {
      ctx.add(Severity::suspicious, "safetensors.index", "weight_map." + it.key(),
              "safetensors index: weight_map entry " + quote(it.key()) + " is not a string");
      ++reported;
      continue;
    }
    const std::string& f = it->get_ref<const std::string&>();
    std::string why;
    if (f.empty()) why = "is empty";
    else if (f.front() == '/' || f.front() == '\\') why = "is absolute";
    else if (f.size() >= 2 && f[1] == ':' && std::isalpha(static_cast<unsigned char>(f[0]))) why = "has a drive letter";
    else if (f.find("://") != std::string::npos || f.starts_with("file:") || f.starts_with("data:")) why = "has a URL scheme";
    else if (f.find("..") != std::string::npos) why = "contains '..'";
    else if (f.find('\0') != std::string::npos) why = "contains a NUL byte";
    if (!why.empty()) {
      ctx.add(Severity::dangerous, "safetensors.index-path", "weight_map." + it.key(),
              "safetensors index: shard " + quote(f) + " for " + quote(it.key()) + " " + why);
      ++reported;
    }
  }
}

}  // namespace hubgate::scan
