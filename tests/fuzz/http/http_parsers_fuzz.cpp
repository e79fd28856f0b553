// Fuzzes the request-facing parsers: Range headers, percent-decoding, query/form strings,
// base64, repository path validation and the revision/path split. Checks invariants, not just
// absence of crashes: a satisfiable range lies inside the file; decoding never yields NUL; a
// validated path has no '..' segment, backslash or leading '/'; encode/decode round-trips.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/range.hpp"
#include "http/url.hpp"
#include "repo/edit.hpp"
#include "repo/model.hpp"
#include "util/base64.hpp"

using namespace hubgate;

#define CHECK(c) \
  if (!(c)) std::abort()

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::uint64_t file_size = size % 7 == 0 ? 0 : size * 131;
  if (auto r = http::parse_range(in, file_size); r && r->kind == http::ByteRange::Kind::satisfiable) {
    CHECK(r->first <= r->last && r->last < file_size);
  }
  if (auto d = http::percent_decode(in)) {
    CHECK(d->find('\0') == std::string::npos);
    CHECK(*http::percent_decode(http::percent_encode(*d, false)) == *d);
  }
  (void)http::parse_query(in);
  if (auto b = base64_decode(in)) CHECK(*base64_decode(base64_encode(*b)) == *b);
  if (repo::validate_path(in)) {
    CHECK(!in.starts_with("/") && in.find('\\') == std::string_view::npos);
    CHECK(in != ".." && !in.starts_with("../") && in.find("/../") == std::string_view::npos && !in.ends_with("/.."));
  }
  auto rp = repo::split_rev_path(in, [](std::string_view s) { return s.size() % 3 == 0; });
  if (rp) CHECK(rp->rev.size() % 3 == 0 && rp->rev.size() <= in.size());
  return 0;
}
