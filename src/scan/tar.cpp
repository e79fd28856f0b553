// tar (v7, ustar, GNU, pax) reader for scanning: walks 512-byte headers, verifies checksums,
// applies GNU long names/links ('L'/'K') and pax extended headers ('x' path/linkpath/size;
// 'g' global), and hands every regular file's bytes to ctx.scan_nested. Sizes are octal or
// GNU base-256 and are bounded by the bytes left. Extraction hazards are findings: absolute
// paths and '..' components (CVE-2007-4559 family), links whose target escapes, device nodes
// and FIFOs, setuid/setgid bits, duplicate names (a later entry silently replaces an earlier
// one), data after the end-of-archive marker. Entry count is enforced by scan_nested.
#include <set>
#include <string>

#include "scan/formats.hpp"
#include "util/parse.hpp"

namespace hubgate::scan {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::uint64_t kMaxPaxHeader = 1 << 20;  // pax/GNU long-name records we accept

std::string q(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 200)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 200) out += "...";
  return out + "'";
}

std::string_view cstr(ByteView b) {
  auto s = as_chars(b);
  return s.substr(0, s.find('\0'));
}

// Octal (space/NUL terminated, leading spaces allowed) or GNU base-256 (high bit set).
std::optional<std::uint64_t> number_impl(ByteView f) {
  if (!f.empty() && (f[0] & 0x80)) {
    if (f[0] & 0x40) return std::nullopt;  // negative
    std::uint64_t v = f[0] & 0x3f;
    for (std::size_t i = 1; i < f.size(); ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | f[i];
    }
    return v;
  }
  std::size_t i = 0;
  while (i < f.size() && f[i] == ' ') ++i;
  std::uint64_t v = 0;
  bool any = false;
  for (; i < f.size() && f[i] >= '0' && f[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + (f[i] - '0');
    any = true;
  }
  for (; i < f.size(); ++i) {
    if (f[i] != ' ' && f[i] != 0) return std::nullopt;
  }
  if (!any) return 0;
  return v;
}

// GCC 12 reports a false maybe-uninitialized through std::optional here; a plain out-param
// version keeps -Werror quiet.
bool number(ByteView f, std::uint64_t& out) {
  auto v = number_impl(f);
  out = v ? *v : 0;
  return v.has_value();
}

[[gnu::noinline]] std::string declares_msg(const std::string& name, std::uint64_t body, std::uint64_t left) {
  return "entry " + q(name) + " declares " + std::to_string(body) + " bytes, more than the " + std::to_string(left) + " left";
}

// Why an entry path escapes the extraction folder; empty when it does not.
std::string path_problem(std::string_view p) {
  if (p.empty()) return {};
  if (p.front() == '/' || p.front() == '\\') return "is absolute";
  if (p.size() >= 2 && p[1] == ':' && std::isalpha(static_cast<unsigned char>(p[0]))) return "has a drive letter";
  std::size_t start = 0;
  while (start <= p.size()) {
    std::size_t end = p.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = p.size();
    if (p.substr(start, end - start) == "..") return "contains a '..' component";
    start = end + 1;
  }
  return {};
}

// Parses pax records "LEN key=value\n" into path/linkpath/size overrides.
bool parse_pax(std::string_view rec, std::string& path, std::string& link, bool& has_size, std::uint64_t& size) {
  while (!rec.empty()) {
    std::size_t sp = rec.find(' ');
    if (sp == std::string_view::npos) return false;
    auto len = parse_u64(rec.substr(0, sp));
    if (!len || *len <= sp + 1 || *len > rec.size() || rec[*len - 1] != '\n') return false;
    std::string_view kv = rec.substr(sp + 1, *len - sp - 2);
    std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "path") path = v;
    else if (k == "linkpath") link = v;
    else if (k == "size") {
      auto n = parse_u64(v);
      if (!n) return false;
      has_size = true;
      size = *n;
    }
    rec.remove_prefix(*len);
  }
  return true;
}

}  // namespace

void scan_tar(Context& ctx, ByteView data) {
  std::uint64_t pos = 0;
  std::string long_name, long_link, pax_path, pax_link;
  bool has_pax_size = false;
  std::uint64_t pax_size = 0;
  std::set<std::string> seen;
  int findings = 0;
  auto add = [&](Severity s, const char* rule, std::string subj, std::string msg, std::uint64_t off) {
    if (++findings == 101) ctx.add(Severity::suspicious, "tar.too-many-findings", "", "tar: more than 100 findings; the rest are not listed");
    if (findings <= 100) ctx.add(s, rule, std::move(subj), "tar: " + std::move(msg), off);
  };
  while (true) {
    if (data.size() - pos < kBlock) {
      if (pos < data.size() || pos == 0) {
        add(Severity::suspicious, "tar.truncated", "", "archive ends inside a header block", pos);
      } else {
        add(Severity::suspicious, "tar.truncated", "", "archive lacks the end-of-archive marker", pos);
      }
      return;
    }
    ByteView h = data.subspan(pos, kBlock);
    bool zero = true;
    for (auto b : h) zero = zero && b == 0;
    if (zero) {
      // End of archive (two zero blocks; one is tolerated like GNU tar). Anything non-zero after
      // it is hidden from extractors that stop here but not from ones that skip zero blocks.
      for (std::uint64_t i = pos; i < data.size(); ++i) {
        if (data[i] != 0) {
          add(Severity::suspicious, "tar.trailing-data", "", "non-zero bytes after the end-of-archive marker", i);
          break;
        }
      }
      return;
    }
    // Checksum: sum of the header with the checksum field taken as spaces (unsigned; some old
    // tars used signed bytes, accepted too).
    std::uint64_t usum = 0;
    std::int64_t ssum = 0;
    for (std::size_t i = 0; i < kBlock; ++i) {
      std::uint8_t b = (i >= 148 && i < 156) ? ' ' : h[i];
      usum += b;
      ssum += static_cast<std::int8_t>(b);
    }
    std::uint64_t chk = 0;
    if (!number(h.subspan(148, 8), chk) || (chk != usum && static_cast<std::int64_t>(chk) != ssum)) {
      add(Severity::suspicious, "tar.malformed", "", "header checksum mismatch; not a valid tar header", pos);
      return;
    }
    std::uint64_t size = 0;
    bool size_ok = number(h.subspan(124, 12), size);
    char type = static_cast<char>(h[156]);
    std::string name(cstr(h.subspan(0, 100)));
    std::string link(cstr(h.subspan(157, 100)));
    bool ustar = cstr(h.subspan(257, 6)).starts_with("ustar");
    if (ustar && type != 'L' && type != 'K') {
      std::string_view prefix = cstr(h.subspan(345, 155));
      if (!prefix.empty() && std::string_view(as_chars(h.subspan(257, 8))) != std::string_view("ustar  \0", 8)) {
        name = std::string(prefix) + "/" + name;
      }
    }
    std::uint64_t hdr_at = pos;
    pos += kBlock;
    if (!size_ok) {
      add(Severity::suspicious, "tar.malformed", name.empty() ? "" : "entry " + q(name), "invalid size field", hdr_at);
      return;
    }
    std::uint64_t body = size;
    if (has_pax_size && type != 'x' && type != 'g' && type != 'L' && type != 'K') body = pax_size;
    // Directories, links and devices carry no data (a size on them is ignored by GNU tar for
    // links/dirs only when typeflag says so; we follow the header).
    bool has_data = !(type == '1' || type == '2' || type == '3' || type == '4' || type == '5' || type == '6');
    if (!has_data) body = 0;
    if (body > data.size() - pos) {
      add(Severity::suspicious, "tar.truncated", "entry " + q(name), declares_msg(name, body, data.size() - pos), hdr_at);
      return;
    }
    ByteView content = data.subspan(pos, body);
    std::uint64_t padded = body + (kBlock - body % kBlock) % kBlock;
    pos += std::min<std::uint64_t>(padded, data.size() - pos);

    if (type == 'L' || type == 'K' || type == 'x' || type == 'g') {
      if (body > kMaxPaxHeader) {
        add(Severity::suspicious, "tar.malformed", "", "extended header of " + std::to_string(body) + " bytes", hdr_at);
        return;
      }
      if (type == 'L') long_name = std::string(cstr(content));
      else if (type == 'K') long_link = std::string(cstr(content));
      else {
        std::string p, l;
        bool has_s = false;
        std::uint64_t s = 0;
        if (!parse_pax(as_chars(content), p, l, has_s, s)) {
          add(Severity::suspicious, "tar.malformed", "", "malformed pax extended header", hdr_at);
          return;
        }
        if (type == 'x') {
          if (!p.empty()) pax_path = p;
          if (!l.empty()) pax_link = l;
          has_pax_size = has_s;
          pax_size = s;
        } else if (!p.empty() || !l.empty()) {
          add(Severity::suspicious, "tar.pax-global", "", "global pax header sets a path for every entry", hdr_at);
        }
      }
      continue;
    }
    if (!long_name.empty()) name = long_name;
    if (!pax_path.empty()) name = pax_path;
    if (!long_link.empty()) link = long_link;
    if (!pax_link.empty()) link = pax_link;
    long_name.clear(); long_link.clear(); pax_path.clear(); pax_link.clear(); has_pax_size = false;

    std::string subj = "entry " + q(name);
    if (auto why = path_problem(name); !why.empty()) {
      add(Severity::dangerous, "tar.path-escape", subj, "entry path " + q(name) + " " + why, hdr_at);
    }
    if (type == '1' || type == '2') {
      // A symlink target is relative to the link's folder; a hard link's to the archive root.
      std::string target = link;
      if (type == '2' && !link.empty() && link.front() != '/') {
        std::size_t slash = name.rfind('/');
        target = (slash == std::string::npos ? std::string() : name.substr(0, slash + 1)) + link;
      }
      std::string why = path_problem(target);
      // Inside-folder '..' is fine once normalised; check the net depth.
      if (why == "contains a '..' component") {
        int depth = 0;
        bool escapes = false;
        std::size_t s = 0;
        while (s <= target.size()) {
          std::size_t e = target.find('/', s);
          if (e == std::string::npos) e = target.size();
          std::string_view c(target.data() + s, e - s);
          if (c == "..") escapes |= (--depth < 0);
          else if (!c.empty() && c != ".") ++depth;
          s = e + 1;
        }
        if (!escapes) why.clear();
      }
      if (!why.empty()) {
        add(Severity::dangerous, "tar.link-escape", subj,
            std::string(type == '2' ? "symlink " : "hard link ") + q(name) + " -> " + q(link) + " " +
                (why == "contains a '..' component" ? "points outside the archive" : why),
            hdr_at);
      }
    } else if (type == '3' || type == '4' || type == '6') {
      add(Severity::suspicious, "tar.special-file", subj, "entry " + q(name) + " is a " +
          (type == '6' ? std::string("FIFO") : std::string("device node")), hdr_at);
    }
    if (std::uint64_t mode = 0; number(h.subspan(100, 8), mode) && (mode & 06000)) {
      add(Severity::suspicious, "tar.setuid", subj, "entry " + q(name) + " has setuid/setgid bits", hdr_at);
    }
    if (type != '5' && !seen.insert(name).second) {
      add(Severity::suspicious, "tar.duplicate", subj, "entry " + q(name) + " appears twice; the later one wins on extraction", hdr_at);
    }
    if (has_data && type != 'S' && type != 'V' && body > 0) ctx.scan_nested(content, name);
  }
}

}  // namespace hubgate::scan
