// Keras model configs (security.md §3): the JSON of a .keras archive's config.json, or of an
// .h5 file's `model_config` / `training_config` attribute. Keras deserialises every object
// spec {"module", "class_name", "config", "registered_name"} by importing `module` and looking
// up `class_name` in it, and functions ({"class_name": "function"}) by importing `module` (or
// `fn_module`) and taking `config` as the attribute name: any module outside the Keras family
// is an import of attacker-chosen code. Lambda layers (and `__lambda__` function specs, and
// TF's TFOpLambda/SlicingOpLambda) carry marshalled Python bytecode that runs on load or call.
// Walked iteratively over every object (depth-bounded by the strict JSON parser), so a spec
// cannot hide in an unexpected field.
#include <string>
#include <vector>

#include "scan/formats.hpp"
#include "scan/json_strict.hpp"

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
  auto parsed = parse_json_strict(text);
  if (!parsed) {
    bool dup = parsed.error().message.starts_with("duplicate key");
    ctx.add(dup ? Severity::dangerous : Severity::suspicious, dup ? "keras.duplicate-key" : "keras.json", w,
            "keras: " + w + ": " + parsed.error().message);
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
    if (cls && code_layer(*cls)) {
      add(Severity::dangerous, "keras.lambda", subj,
          (*cls == "__lambda__" ? std::string("function spec carries marshalled bytecode")
                                : "layer " + q(name) + " is a " + *cls + " layer: it carries Python code that runs on load"));
    } else if (cls && *cls == "function" && node->contains("config") && (*node)["config"].is_string() && !module && !fn_module) {
      add(Severity::suspicious, "keras.function", subj, "function " + q((*node)["config"].get<std::string>()) + " without a module");
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
  scan_keras_config_text(ctx, as_chars(config_json), "config.json");
}

}  // namespace hubgate::scan
