// HTTP shape of gate decisions, shared by the hub (local repositories) and the edge (pull-through).
//   blocked: 403, JSON {"error": msg}, X-Error-Code: BlockedBySecurityPolicy, X-Error-Message.
//   warned:  the response gets `X-Hubgate-Security: <level>; <rule>[; allowed by exception: …]`.
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "gate/gate.hpp"
#include "http/message.hpp"

namespace hubgate::gate {

inline constexpr const char* kBlockedCode = "BlockedBySecurityPolicy";
inline constexpr const char* kWarningHeader = "X-Hubgate-Security";

// `what` names the file ("org/name/model.bin"), prefixed to the decision's message.
http::Response blocked_response(const Decision& d, const std::string& what);
// Adds the warning header when d.outcome == warn.
void annotate(const Decision& d, http::Response& res);
// Header-safe text: control and non-ASCII bytes become spaces, cut at 1000 bytes.
std::string header_safe(std::string s);

}  // namespace hubgate::gate
