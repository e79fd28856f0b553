// Range parsing: split "bytes=" off, reject lists (reported as `multiple` after validating each
// item), then classify the one spec. A suffix range longer than the file covers the whole file;
// an end past the file is clamped; a start at or past the end is unsatisfiable (also for an
// empty file, where every range is unsatisfiable).
#include "http/range.hpp"

#include "util/parse.hpp"

namespace hubgate::http {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<ByteRange> parse_one(std::string_view spec, std::uint64_t size) {
  spec = trim(spec);
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return fail(Errc::invalid_argument, "malformed Range: missing '-'");
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  ByteRange r;
  if (a.empty()) {
    auto n = parse_u64(b);
    if (!n) return fail(Errc::invalid_argument, "malformed Range: bad suffix length");
    if (*n == 0 || size == 0) {
      r.kind = ByteRange::Kind::unsatisfiable;
      return r;
    }
    r.first = *n >= size ? 0 : size - *n;
    r.last = size - 1;
    return r;
  }
  auto first = parse_u64(a);
  if (!first) return fail(Errc::invalid_argument, "malformed Range: bad first byte position");
  std::uint64_t last = UINT64_MAX;
  if (!b.empty()) {
    auto l = parse_u64(b);
    if (!l) return fail(Errc::invalid_argument, "malformed Range: bad last byte position");
    if (*l < *first) return fail(Errc::invalid_argument, "malformed Range: last byte before first");
    last = *l;
  }
  if (*first >= size) {
    r.kind = ByteRange::Kind::unsatisfiable;
    return r;
  }
  r.first = *first;
  r.last = last >= size ? size - 1 : last;
  return r;
}
}  // namespace

Result<ByteRange> parse_range(std::string_view value, std::uint64_t size) {
  value = trim(value);
  // The range unit is case-insensitive (RFC 9110 §14.1); only "bytes" is known here.
  constexpr std::string_view prefix = "bytes=";
  auto lower = [](char ch) { return ch >= 'A' && ch <= 'Z' ? char(ch - 'A' + 'a') : ch; };
  bool unit_ok = value.size() >= prefix.size();
  for (std::size_t i = 0; unit_ok && i < prefix.size(); ++i) unit_ok = lower(value[i]) == prefix[i];
  if (!unit_ok) return fail(Errc::invalid_argument, "malformed Range: only 'bytes=' ranges are supported");
  value.remove_prefix(prefix.size());
  if (value.find(',') != std::string_view::npos) {
    std::size_t count = 0;
    bool any_satisfiable = false;
    while (!value.empty()) {
      auto comma = value.find(',');
      auto item = trim(value.substr(0, comma));
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
      if (item.empty()) continue;  // "bytes=0-1, ,5-6": empty list elements are allowed (§5.6.1)
      HG_TRY(ByteRange one, parse_one(item, size));
      any_satisfiable |= one.kind == ByteRange::Kind::satisfiable;
      if (++count > 64) return fail(Errc::invalid_argument, "malformed Range: too many ranges");
    }
    if (count == 0) return fail(Errc::invalid_argument, "malformed Range: empty range set");
    ByteRange r;
    r.kind = any_satisfiable ? ByteRange::Kind::multiple : ByteRange::Kind::unsatisfiable;
    return r;
  }
  return parse_one(value, size);
}

std::string content_range(const ByteRange& r, std::uint64_t size) {
  return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(size);
}

Result<RangeSelection> select_range(std::optional<std::string_view> header, std::uint64_t size) {
  RangeSelection sel;
  sel.length = size;
  if (size == 0) {
    sel.content_range = "bytes */0";
    return sel;
  }
  if (!header) return sel;
  auto parsed = parse_range(*header, size);
  // RFC 9110 §14.2: a Range field that is not a valid byte-range set is ignored (200, whole).
  if (!parsed) return sel;
  const ByteRange& br = *parsed;
  switch (br.kind) {
    case ByteRange::Kind::unsatisfiable:
      sel.status = 416;
      sel.length = 0;
      sel.content_range = "bytes */" + std::to_string(size);
      break;
    case ByteRange::Kind::satisfiable:
      sel.status = 206;
      sel.first = br.first;
      sel.length = br.length();
      sel.content_range = content_range(br, size);
      break;
    case ByteRange::Kind::multiple: break;
  }
  return sel;
}

}  // namespace hubgate::http
