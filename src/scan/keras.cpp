// Keras model configs (security.md §3): the JSON of a .keras archive's config.json, or of an
// .h5 file's `model_config` / `training_config` attribute. Keras deserialises every object
// spec {"module", "class_name", "config", "registered_name"} by importing `module` and looking
// up `class_name` in it, and functions ({"class_name": "function"}) by importing `module` (or
// `fn_module`) and taking `config` as the attribute name: any module outside the Keras family
// is an import of attacker-chosen code. Lambda layers (and `__lambda__` function specs, and
// TF's TFOpLambda/SlicingOpLambda) carry marshalled Python bytecode that runs on load or call.
// Walked iteratively over every object (depth-bounded by the strict JSON parser), so a spec
// cannot hide in an unexpected field.
//
// Allowlist, not denylist (keras_names.hpp): a class or function spec must name something Keras
// ships; one naming a file/network/code utility reachable through an allowed module (`get_file`
// as an initializer, `load_model`, `py_function`…) or any function outside the activation /
// loss / metric / initializer lists is dangerous; an unknown class is suspicious (custom code
// must be importable for it to load). The text is read as Python's `json` reads it (encoding
// detection on bytes, NaN/Infinity, lone surrogate escapes); a config that still cannot be read
// is dangerous: Keras never writes one, and what the scanner cannot read it cannot vouch for.
#include <optional>
#include <string>
#include <vector>

#include "scan/formats.hpp"
#include "scan/json_strict.hpp"
#include "scan/keras_names.hpp"
#include "scan/text_codec.hpp"
#include "util/hex.hpp"

namespace hubgate::scan {
namespace {

using json = nlohmann::json;

std::string q(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 200) out += "...";
  return out + "'";
}

bool allowed_module(std::string_view m) {
  std::string_view root = m.substr(0, m.find('.'));
  for (std::string_view ok : {"keras", "tensorflow", "tf_keras", "numpy", "math", "keras_nlp", "keras_hub",
                              "keras_cv"}) {
    if (root == ok) return true;
  }
  return false;
}

// Finding paths are for humans: bounded so hostile keys cannot make them large.
std::string extend(const std::string& path, std::string_view add) {
  if (path.size() > 256) return path;
  return path + std::string(add.substr(0, 64));
}

bool library_module(std::string_view m) {
  std::string_view root = m.substr(0, m.find('.'));
  return root == "keras_nlp" || root == "keras_hub" || root == "keras_cv";
}

// json.loads(bytes): UTF-32/UTF-16 (by BOM or by NUL pattern) and a UTF-8 BOM are decoded like
// json.detect_encoding; nullopt when the UTF-16/32 text is invalid (Python raises too).
std::optional<std::string> python_decode(std::string_view b) {
  auto u = [&](std::size_t i) { return static_cast<std::uint8_t>(b[i]); };
  int width = 1;
  bool big = false;
  std::size_t skip = 0;
  if (b.size() >= 4 && u(0) == 0 && u(1) == 0 && u(2) == 0xFE && u(3) == 0xFF) width = 4, big = true, skip = 4;
  else if (b.size() >= 4 && u(0) == 0xFF && u(1) == 0xFE && u(2) == 0 && u(3) == 0) width = 4, skip = 4;
  else if (b.size() >= 2 && u(0) == 0xFE && u(1) == 0xFF) width = 2, big = true, skip = 2;
  else if (b.size() >= 2 && u(0) == 0xFF && u(1) == 0xFE) width = 2, skip = 2;
  else if (b.size() >= 3 && u(0) == 0xEF && u(1) == 0xBB && u(2) == 0xBF) skip = 3;
  else if (b.size() >= 4 && u(0) == 0) width = u(1) ? 2 : 4, big = true;
  else if (b.size() >= 4 && u(1) == 0) width = (u(2) || u(3)) ? 2 : 4;
  if (width == 1) return std::string(b.substr(skip));
  std::string out;
  std::size_t i = skip;
  auto unit = [&](std::size_t at) -> std::uint32_t {
    std::uint32_t v = 0;
    for (int k = 0; k < width; ++k) {
      std::uint32_t byte = u(at + static_cast<std::size_t>(big ? k : width - 1 - k));
      v = (v << 8) | byte;
    }
    return v;
  };
  while (i + static_cast<std::size_t>(width) <= b.size()) {
    std::uint32_t cp = unit(i);
    i += static_cast<std::size_t>(width);
    if (width == 2 && cp >= 0xD800 && cp < 0xDC00 && i + 2 <= b.size()) {
      std::uint32_t lo = unit(i);
      if (lo >= 0xDC00 && lo < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 2;
      }
    }
    if (cp > 0x10FFFF) return std::nullopt;
    if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;  // surrogatepass: kept as a lone surrogate
    append_utf8(out, cp);
  }
  if (i != b.size()) return std::nullopt;
  return out;
}

// Python's json accepts what strict JSON does not: NaN, Infinity and -Infinity (Keras writes
// them for float settings), and \u escapes of lone surrogates. Rewrite those so the strict
// parser reads the same document: the literals become null, lone surrogates U+FFFD.
std::string python_json_compat(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  bool in_str = false;
  auto surrogate_at = [&](std::size_t i) -> int {  // value of "\uXXXX" at i, -1 if none
    if (i + 6 > t.size() || t[i] != '\\' || t[i + 1] != 'u') return -1;
    int v = 0;
    for (std::size_t k = 2; k < 6; ++k) {
      int h = hex_digit_value(t[i + k]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    return v;
  };
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (in_str) {
      if (c == '\\' && i + 1 < t.size()) {
        int v = surrogate_at(i);
        if (v >= 0xD800 && v < 0xDC00) {
          int lo = surrogate_at(i + 6);
          if (lo >= 0xDC00 && lo < 0xE000) {
            out.append(t.substr(i, 12));
            i += 11;
          } else {
            out += "\\ufffd";
            i += 5;
          }
        } else if (v >= 0xDC00 && v < 0xE000) {
          out += "\\ufffd";
          i += 5;
        } else {
          out += c;
          out += t[++i];
        }
        continue;
      }
      if (c == '"') in_str = false;
      out += c;
      continue;
    }
    if (c == '"') {
      in_str = true;
    } else if (t.substr(i).starts_with("NaN")) {
      out += "null";
      i += 2;
      continue;
    } else if (t.substr(i).starts_with("Infinity")) {
      out += "null";
      i += 7;
      continue;
    } else if (t.substr(i).starts_with("-Infinity")) {
      out += "null";
      i += 8;
      continue;
    }
    out += c;
  }
  return out;
}

bool code_layer(std::string_view cls) {
  return cls == "Lambda" || cls == "TFOpLambda" || cls == "SlicingOpLambda" || cls == "__lambda__";
}

const std::string* str_field(const json& o, const char* k) {
  auto it = o.find(k);
  return (it != o.end() && it->is_string()) ? &it->get_ref<const std::string&>() : nullptr;
}

}  // namespace

void scan_keras_config_text(Context& ctx, std::string_view text, std::string_view where) {
  const std::string w(where);
  auto parsed = parse_json_strict(python_json_compat(text));
  if (!parsed) {
    bool dup = parsed.error().message.starts_with("duplicate key");
    ctx.add(Severity::dangerous, dup ? "keras.duplicate-key" : "keras.json", w,
            "keras: " + w + ": " + parsed.error().message +
                (dup ? " (Python's json keeps the last one)"
                     : " (Keras never writes such a config; what it holds cannot be checked)"));
    return;
  }
  int findings = 0;
  auto add = [&](Severity s, const char* rule, std::string subj, std::string msg) {
    if (++findings == 101) ctx.add(Severity::suspicious, "keras.too-many-findings", w, "keras: more than 100 findings");
    if (findings <= 100) ctx.add(s, rule, std::move(subj), "keras: " + w + ": " + std::move(msg));
  };
  std::vector<std::pair<const json*, std::string>> stack{{&*parsed, ""}};
  while (!stack.empty()) {
    auto [node, path] = std::move(stack.back());
    stack.pop_back();
    if (node->is_array()) {
      std::size_t i = 0;
      for (const auto& v : *node) {
        if (v.is_structured()) stack.emplace_back(&v, extend(path, "[" + std::to_string(i) + "]"));
        ++i;
      }
      continue;
    }
    if (!node->is_object()) continue;
    const std::string* cls = str_field(*node, "class_name");
    const std::string* module = str_field(*node, "module");
    const std::string* fn_module = str_field(*node, "fn_module");
    const std::string* reg = str_field(*node, "registered_name");
    std::string name = cls ? *cls : std::string();
    if (const json* cfg = node->contains("config") && (*node)["config"].is_object() ? &(*node)["config"] : nullptr) {
      if (const std::string* n = str_field(*cfg, "name")) name = *n;
    }
    std::string subj = path.empty() ? w : w + path;
    for (const std::string* m : {module, fn_module}) {
      if (m && !allowed_module(*m)) {
        add(Severity::dangerous, "keras.module", subj,
            "object " + q(name) + " imports module " + q(*m) + " (only keras, tensorflow, tf_keras, numpy, math are allowed)");
      }
    }
    bool foreign = (module && !allowed_module(*module)) || (fn_module && !allowed_module(*fn_module));
    std::string_view from = module ? std::string_view(*module) : fn_module ? std::string_view(*fn_module) : "";
    if (cls && code_layer(*cls)) {
      add(Severity::dangerous, "keras.lambda", subj,
          (*cls == "__lambda__" ? std::string("function spec carries marshalled bytecode")
                                : "layer " + q(name) + " is a " + *cls + " layer: it carries Python code that runs on load"));
    } else if (cls && *cls == "function") {
      const json* fn = node->contains("config") ? &(*node)["config"] : nullptr;
      std::string fname = fn && fn->is_string() ? fn->get<std::string>() : std::string();
      if (!foreign && !keras::known_keras_function(fname) && library_module(from) && !keras::dangerous_keras_name(fname)) {
        add(Severity::suspicious, "keras.unknown-object", subj,
            "function " + q(fname) + " from " + q(from) + " is not one Keras ships (a keras_hub/keras_nlp/keras_cv helper)");
      } else if (!foreign && !keras::known_keras_function(fname)) {
        add(Severity::dangerous, "keras.function", subj,
            "function " + q(fname) + (from.empty() ? "" : " from " + q(from)) +
                " is not an activation, loss, metric or initializer Keras ships: loading the model hands it "
                "tensors or shapes to call it with");
      }
    } else if (cls && !foreign) {
      std::string_view c = *cls;
      if (c.starts_with("Custom>")) c.remove_prefix(7);
      if (keras::dangerous_keras_name(c)) {
        add(Severity::dangerous, "keras.dangerous-object", subj,
            "object " + q(name) + " names " + q(c) + (from.empty() ? "" : " from " + q(from)) +
                ", which reads or writes files, loads other models or runs code");
      } else if (!keras::known_keras_class(c) && !library_module(from) && c.find('.') == std::string_view::npos) {
        add(Severity::suspicious, "keras.unknown-object", subj,
            "class " + q(c) + (from.empty() ? "" : " from " + q(from)) +
                " is not one Keras ships (custom code must be importable to load it)");
      }
    }
    // Activations named by string resolve through Keras's own tables; anything else is custom.
    for (const char* key : {"activation", "recurrent_activation"}) {
      const std::string* a = str_field(*node, key);
      if (!a || keras::known_keras_function(*a)) continue;
      bool bad = keras::dangerous_keras_name(*a);
      add(bad ? Severity::dangerous : Severity::suspicious, bad ? "keras.function" : "keras.unknown-object", subj,
          std::string(key) + " " + q(*a) + " is not an activation Keras ships");
    }
    // Keras 2 Lambda configs: {"function": [code, defaults, closure], "function_type": "lambda"}.
    if (const std::string* ft = str_field(*node, "function_type"); ft && *ft == "lambda") {
      add(Severity::dangerous, "keras.lambda", subj, "object " + q(name) + " carries a marshalled lambda");
    }
    if (reg) {
      // Built-in objects register as their class name or "keras>Name"/"package>Name"; a package
      // outside Keras means custom code must be importable, and a dotted name is an import path.
      std::string_view r = *reg;
      std::size_t gt = r.find('>');
      if (gt != std::string_view::npos && !allowed_module(r.substr(0, gt))) {
        add(Severity::suspicious, "keras.registered-name", subj,
            "registered_name " + q(r) + " names custom code from package " + q(r.substr(0, gt)));
      } else if (gt == std::string_view::npos && r.find('.') != std::string_view::npos && !allowed_module(r)) {
        add(Severity::dangerous, "keras.registered-name", subj, "registered_name " + q(r) + " is a module path");
      }
    }
    if (cls && cls->find('.') != std::string::npos && !allowed_module(*cls)) {
      add(Severity::suspicious, "keras.class-name", subj, "class_name " + q(*cls) + " is a dotted path");
    }
    for (auto it = node->begin(); it != node->end(); ++it) {
      if (it->is_structured()) stack.emplace_back(&*it, extend(path, "." + it.key()));
    }
  }
}

void scan_keras_config(Context& ctx, ByteView config_json) {
  // Keras 3 reads config.json as bytes: json.loads detects UTF-16/32 and strips a UTF-8 BOM.
  auto text = python_decode(as_chars(config_json));
  if (!text) {
    ctx.add(Severity::dangerous, "keras.json", "config.json",
            "keras: config.json: invalid UTF-16/UTF-32 text (Keras never writes such a config)");
    return;
  }
  scan_keras_config_text(ctx, *text, "config.json");
}

}  // namespace hubgate::scan
