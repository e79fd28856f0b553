// Value errors for hubgate.
//
// Every fallible function returns `Result<T>` = `std::expected<T, Error>`. An `Error` carries a
// coarse `Errc` (what kind of failure; callers branch on it) and a precise human message
// (`"safetensors: tensor 'w' data_offsets [0, 96] overlap 'b'"`). Absence is not failure:
// "maybe there" is `Result<std::optional<T>>`. Thread-safety: plain values.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace hubgate {

enum class Errc {
  invalid_argument,  // caller passed something malformed (bad input, 4xx)
  not_found,         // the named thing does not exist
  already_exists,    // creating something that exists
  conflict,          // precondition failed (stale parent commit, concurrent update)
  permission_denied, // authenticated but not allowed
  unauthenticated,   // no or invalid credentials
  corrupt,           // stored or received data fails its own checks (hash, structure)
  limit_exceeded,    // a hard resource limit was hit (size, depth, count)
  unsupported,       // valid but not implemented / unknown version
  io,                // operating-system or network failure
  unavailable,       // a dependency (upstream, database) cannot be reached right now
  internal,          // a bug
};

const char* errc_name(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;

  Error() = default;
  Error(Errc c, std::string m) : code(c), message(std::move(m)) {}

  // Prefix the message with context: `err.context("shard")` -> "shard: <message>".
  Error context(std::string_view what) const& {
    return Error(code, std::string(what) + ": " + message);
  }
};

template <class T>
using Result = std::expected<T, Error>;

// Shorthand for `return fail(Errc::corrupt, "...")` inside functions returning Result<T>.
inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}
inline std::unexpected<Error> fail(Error e) { return std::unexpected<Error>(std::move(e)); }

// An OS error from errno, with the operation and path: "open /x/y: No such file or directory".
Error os_error(std::string_view op, std::string_view path, int err);

}  // namespace hubgate

// Propagate an error: HG_TRY(auto x, parse(...)); or HG_TRY_VOID(write(...));
#define HG_CAT2(a, b) a##b
#define HG_CAT(a, b) HG_CAT2(a, b)
#define HG_TRY(decl, expr)                                                  \
  auto HG_CAT(hg_try_, __LINE__) = (expr);                                  \
  if (!HG_CAT(hg_try_, __LINE__)) return ::hubgate::fail(std::move(HG_CAT(hg_try_, __LINE__)).error()); \
  decl = std::move(*HG_CAT(hg_try_, __LINE__))
#define HG_TRY_VOID(expr)                                                   \
  do {                                                                      \
    auto hg_try_v = (expr);                                                 \
    if (!hg_try_v) return ::hubgate::fail(std::move(hg_try_v).error());     \
  } while (0)
