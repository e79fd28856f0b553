#include "util/error.hpp"

#include <cstring>

namespace hubgate {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::conflict: return "conflict";
    case Errc::permission_denied: return "permission_denied";
    case Errc::unauthenticated: return "unauthenticated";
    case Errc::corrupt: return "corrupt";
    case Errc::limit_exceeded: return "limit_exceeded";
    case Errc::unsupported: return "unsupported";
    case Errc::io: return "io";
    case Errc::unavailable: return "unavailable";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

Error os_error(std::string_view op, std::string_view path, int err) {
  std::string m(op);
  if (!path.empty()) {
    m += ' ';
    m += path;
  }
  m += ": ";
  m += std::strerror(err);
  return Error(err == ENOENT ? Errc::not_found : Errc::io, std::move(m));
}

}  // namespace hubgate
