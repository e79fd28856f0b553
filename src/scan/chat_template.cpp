// Chat-template (Jinja2) injection checks (security.md §4, CVE-2024-34359). A chat template is
// rendered by jinja2 in the loader's process; a sandbox escape goes through Python object
// internals. Real chat templates only loop over messages and print strings, so any reach for
// dunder attributes, the well-known SSTI entry globals, or obfuscated underscores is flagged.
// Matching is on the raw template text (not just inside {{ }} / {% %}) so that splitting tricks
// cannot move a payload out of view; strings are compared case-sensitively as Jinja does.
#include <cctype>
#include <string>

#include "scan/formats.hpp"

namespace hubgate::scan {
namespace {

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Finds `word` as a whole identifier (not inside a longer identifier); npos if absent.
std::size_t find_word(std::string_view s, std::string_view word, std::size_t from = 0) {
  for (std::size_t p = s.find(word, from); p != std::string_view::npos; p = s.find(word, p + 1)) {
    bool left_ok = p == 0 || !ident_char(s[p - 1]);
    std::size_t e = p + word.size();
    bool right_ok = e >= s.size() || !ident_char(s[e]) || !ident_char(word.back());
    if (left_ok && right_ok) return p;
  }
  return std::string_view::npos;
}

}  // namespace

void check_chat_template(Context& ctx, std::string_view t, std::string_view subject) {
  const std::string subj(subject);
  auto flag = [&](Severity s, const char* rule, std::string what) {
    ctx.add(s, rule, subj, "chat template " + subj + " " + what);
  };
  // Python internals reachable from Jinja objects.
  static const std::string_view dunders[] = {
      "__class__", "__subclasses__", "__globals__", "__builtins__", "__import__", "__mro__",
      "__base__", "__bases__", "__init__", "__dict__", "__getattribute__", "__reduce__",
      "__reduce_ex__", "__code__", "__func__", "__self__", "__module__", "__loader__", "__spec__"};
  for (auto d : dunders) {
    if (t.find(d) != std::string_view::npos) {
      return flag(Severity::dangerous, "template.injection", "reaches Python internals ('" + std::string(d) + "')");
    }
  }
  // Any other dunder attribute access: `.__x__` or `['__x__']`.
  for (std::size_t p = t.find("__"); p != std::string_view::npos; p = t.find("__", p + 2)) {
    std::size_t e = p + 2;
    while (e < t.size() && ident_char(t[e]) && t[e] != '_') ++e;
    if (e > p + 2 && t.substr(e, 2) == "__") {
      std::size_t b = p;
      while (b > 0 && std::isspace(static_cast<unsigned char>(t[b - 1]))) --b;
      if (b > 0 && (t[b - 1] == '.' || t[b - 1] == '\'' || t[b - 1] == '"')) {
        return flag(Severity::dangerous, "template.injection",
                    "accesses the dunder attribute '" + std::string(t.substr(p, e + 2 - p)) + "'");
      }
    }
  }
  // Module and process access by name.
  static const std::string_view calls[] = {"popen", "subprocess", "os.system", "os.popen", "os.environ",
                                           "eval(", "exec(", "import(", "compile(", "open("};
  for (auto c : calls) {
    std::size_t p = t.find(c);
    if (p != std::string_view::npos && (p == 0 || !ident_char(t[p - 1]))) {
      return flag(Severity::dangerous, "template.injection", "names '" + std::string(c) + "'");
    }
  }
  if (std::size_t p = find_word(t, "os"); p != std::string_view::npos && p + 2 < t.size() && t[p + 2] == '.') {
    return flag(Severity::dangerous, "template.injection", "accesses the 'os' module");
  }
  // Escaped underscores in string literals build dunder names out of view of the checks above.
  static const std::string_view escapes[] = {"\\x5f", "\\x5F", "\\u005f", "\\u005F", "\\137", "\\N{LOW LINE}"};
  for (auto e : escapes) {
    if (t.find(e) != std::string_view::npos) {
      return flag(Severity::dangerous, "template.injection", "spells an underscore as an escape ('" + std::string(e) + "')");
    }
  }
  // SSTI entry points: Jinja's default globals and Flask-style names, and the attr filter that
  // does attribute lookup by computed string. Not used by chat templates.
  static const std::string_view globals[] = {"lipsum", "cycler", "joiner", "self", "request", "config",
                                             "url_for", "get_flashed_messages", "_TemplateReference__context"};
  for (auto g : globals) {
    std::size_t p = find_word(t, g);
    if (p != std::string_view::npos && p + g.size() < t.size() && t[p + g.size()] == '.') {
      return flag(Severity::suspicious, "template.suspicious", "accesses an attribute of '" + std::string(g) + "'");
    }
  }
  if (std::size_t p = t.find("attr("); p != std::string_view::npos && p > 0 && t.find('|') != std::string_view::npos) {
    return flag(Severity::suspicious, "template.suspicious", "uses the attr() filter (attribute lookup by string)");
  }
}

}  // namespace hubgate::scan
