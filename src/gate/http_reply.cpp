#include "gate/http_reply.hpp"

#include <nlohmann/json.hpp>

namespace hubgate::gate {

std::string header_safe(std::string s) {
  for (auto& ch : s) {
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f) ch = ' ';
  }
  if (s.size() > 1000) s.resize(1000);
  return s;
}

http::Response blocked_response(const Decision& d, const std::string& what) {
  std::string msg = what.empty() ? d.message : what + ": " + d.message;
  nlohmann::json j = {{"error", msg}};
  auto res = http::json_response(403, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  res.headers.set("X-Error-Code", kBlockedCode);
  res.headers.set("X-Error-Message", header_safe(msg));
  return res;
}

void annotate(const Decision& d, http::Response& res) {
  if (d.outcome == Outcome::warn) res.headers.set(kWarningHeader, header_safe(d.warning));
}

}  // namespace hubgate::gate
