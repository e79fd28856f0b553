#include "http/url.hpp"

#include <cctype>

#include "util/hex.hpp"

namespace hubgate::http {

namespace {
Result<std::string> decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) {
        return fail(Errc::invalid_argument, "malformed percent-encoding at offset " + std::to_string(i));
      }
      int hi = hex_digit_value(s[i + 1]), lo = hex_digit_value(s[i + 2]);
      if (hi < 0 || lo < 0) {
        return fail(Errc::invalid_argument, "malformed percent-encoding at offset " + std::to_string(i));
      }
      char d = char(hi * 16 + lo);
      if (d == '\0') return fail(Errc::invalid_argument, "NUL byte in URL");
      out.push_back(d);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '\0') {
      return fail(Errc::invalid_argument, "NUL byte in URL");
    } else {
      out.push_back(c);
    }
  }
  return out;
}
}  // namespace

Result<std::string> percent_decode(std::string_view s) { return decode(s, false); }
Result<std::string> decode_form_component(std::string_view s) { return decode(s, true); }

Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (item.empty()) continue;
    auto eq = item.find('=');
    HG_TRY(auto k, decode_form_component(item.substr(0, eq)));
    std::string v;
    if (eq != std::string_view::npos) {
      HG_TRY(auto dv, decode_form_component(item.substr(eq + 1)));
      v = std::move(dv);
    }
    out.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

std::string query_get(const std::vector<std::pair<std::string, std::string>>& q, std::string_view key) {
  for (const auto& [k, v] : q)
    if (k == key) return v;
  return {};
}

std::vector<std::string> query_all(const std::vector<std::pair<std::string, std::string>>& q, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& [k, v] : q)
    if (k == key) out.push_back(v);
  return out;
}

std::string percent_encode(std::string_view s, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(char(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

std::optional<AbsoluteTarget> split_absolute_form(std::string_view target) {
  auto colon = target.find("://");
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string scheme(target.substr(0, colon));
  for (auto& ch : scheme) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string_view rest = target.substr(colon + 3);
  auto end = rest.find_first_of("/?#");
  AbsoluteTarget t;
  t.authority = std::string(rest.substr(0, end));
  if (auto at = t.authority.rfind('@'); at != std::string::npos) t.authority.erase(0, at + 1);  // userinfo
  if (t.authority.empty()) return std::nullopt;
  std::string_view tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (auto hash = tail.find('#'); hash != std::string_view::npos) tail = tail.substr(0, hash);
  t.origin_form = tail.empty() || tail.front() != '/' ? "/" + std::string(tail) : std::string(tail);
  return t;
}

}  // namespace hubgate::http
