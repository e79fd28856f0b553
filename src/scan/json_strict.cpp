// Strict JSON: a SAX handler forwarding to nlohmann's DOM builder, keeping one set of seen keys
// per open object (duplicates abort the parse) and counting depth (too deep aborts the parse).
// nlohmann's lexer already rejects ill-formed UTF-8, control characters in strings, comments
// and trailing non-whitespace.
#include "scan/json_strict.hpp"

#include <set>
#include <string>
#include <vector>

namespace hubgate::scan {
namespace {

using json = nlohmann::json;

class StrictSax {
 public:
  StrictSax(json& root, JsonLimits limits) : dom_(root, false), limits_(limits) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return dom_.number_float(v, s); }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) {
    if (!enter()) return false;
    keys_.emplace_back();
    return dom_.start_object(n);
  }
  bool key(json::string_t& k) {
    if (!keys_.back().insert(k).second) {
      error_ = Error(Errc::corrupt, "duplicate key '" + k + "'");
      return false;
    }
    return dom_.key(k);
  }
  bool end_object() {
    keys_.pop_back();
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) { return enter() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t pos, const std::string&, const Exception& ex) {
    // nlohmann messages look like "[json.exception.parse_error.101] parse error at line 1,
    // column 5: syntax error ..."; keep the part after the bracketed id.
    std::string what = ex.what();
    if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    error_ = Error(Errc::corrupt, "offset " + std::to_string(pos) + ": " + what);
    return false;
  }

  std::optional<Error>& error() { return error_; }

 private:
  bool enter() {
    if (++depth_ > limits_.max_depth) {
      error_ = Error(Errc::limit_exceeded, "nesting deeper than " + std::to_string(limits_.max_depth));
      return false;
    }
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  JsonLimits limits_;
  std::size_t depth_ = 0;
  std::vector<std::set<std::string>> keys_;
  std::optional<Error> error_;
};

}  // namespace

Result<nlohmann::json> parse_json_strict(std::string_view text, JsonLimits limits) {
  // nlohmann's lexer takes a NUL byte for the end of the input, so `{...}\0{...}` would parse as
  // its first half; JSON (and every loader's parser) refuses a raw NUL anywhere.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return fail(Errc::corrupt, "offset " + std::to_string(nul) + ": NUL byte in JSON text");
  json root;
  StrictSax sax(root, limits);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json, true, false);
  } catch (const std::exception& e) {  // allocation failure or a nlohmann internal throw
    return fail(Errc::corrupt, std::string("JSON parser: ") + e.what());
  }
  if (!ok || sax.error()) {
    if (sax.error()) return fail(*sax.error());
    return fail(Errc::corrupt, "invalid JSON");
  }
  return root;
}

}  // namespace hubgate::scan
