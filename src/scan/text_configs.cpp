// Text files that carry rules of their own, recognised by name once detect() says "text":
//   *.safetensors.index.json  -> shard paths (scan_safetensors_index)
//   *tokenizer_config.json    -> `chat_template` (a string, or a list of {name, template}) as Jinja
//   *.jinja                   -> a chat template saved on its own (chat_template.jinja)
// Other text is not judged here.
#include <string>

#include "scan/formats.hpp"
#include "scan/json_strict.hpp"

namespace hubgate::scan {

void scan_text(Context& ctx, ByteView data) {
  const std::string& full = ctx.member().empty() ? ctx.report().file : ctx.member();
  std::string_view name = full;
  if (auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  if (name.ends_with(".safetensors.index.json")) return scan_safetensors_index(ctx, data);
  if (name.ends_with(".jinja")) return check_chat_template(ctx, as_chars(data), name);
  if (!name.ends_with("tokenizer_config.json")) return;
  auto parsed = parse_json_strict(as_chars(data));
  if (!parsed) {
    bool dup = parsed.error().message.starts_with("duplicate key");
    ctx.add(dup ? Severity::dangerous : Severity::suspicious, dup ? "text.duplicate-key" : "text.json", std::string(name),
            std::string(name) + ": " + parsed.error().message);
    return;
  }
  if (!parsed->is_object()) return;
  auto it = parsed->find("chat_template");
  if (it == parsed->end()) return;
  if (it->is_string()) return check_chat_template(ctx, it->get_ref<const std::string&>(), "chat_template");
  if (!it->is_array()) return;
  for (const auto& t : *it) {
    if (!t.is_object()) continue;
    auto tn = t.find("name");
    auto tt = t.find("template");
    if (tt == t.end() || !tt->is_string()) continue;
    std::string subject = "chat_template." + (tn != t.end() && tn->is_string() ? tn->get<std::string>().substr(0, 64) : "?");
    check_chat_template(ctx, tt->get_ref<const std::string&>(), subject);
  }
}

}  // namespace hubgate::scan
