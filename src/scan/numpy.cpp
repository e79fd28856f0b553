// NumPy .npy: magic "\x93NUMPY", version (1.0, 2.0, 3.0), header length (u16 / u32), then a
// Python dict literal {'descr': ..., 'fortran_order': bool, 'shape': (ints)} parsed strictly
// (the same subset numpy's safe_eval accepts: strings, ints, bools, None, tuples, lists, dicts).
// An object dtype (descr 'O', or a structured descr with an 'O' field) means the body is a
// pickle: numpy.load(allow_pickle=True) unpickles it, so it is scanned as one. Otherwise the
// body must hold exactly prod(shape) * itemsize bytes; bytes after the array are reported
// (polyglot files), as a pickle if they look like one.
#include <map>
#include <memory>
#include <variant>

#include "scan/internal.hpp"
#include "scan/pickle_vm.hpp"
#include "util/byte_reader.hpp"

namespace hubgate::scan {
namespace {

struct Lit;
using LitPtr = std::shared_ptr<Lit>;
struct Lit {
  enum class K { str, integer, boolean, none, tuple, list, dict } k = K::none;
  std::string s;
  std::int64_t i = 0;
  std::vector<LitPtr> items;  // tuple/list; dict: key, value, key, value...
};

class LitParser {
 public:
  explicit LitParser(std::string_view s) : s_(s) {}
  Result<LitPtr> parse_all() {
    HG_TRY(auto v, value(0));
    ws();
    if (p_ != s_.size()) return err("trailing characters");
    return v;
  }

 private:
  std::string_view s_;
  std::size_t p_ = 0;

  std::unexpected<Error> err(std::string what) {
    return fail(Errc::corrupt, "npy header: " + what + " at offset " + std::to_string(p_));
  }
  void ws() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\t' || s_[p_] == '\r')) ++p_;
  }
  Result<LitPtr> value(int depth) {
    if (depth > 32) return err("nesting too deep");
    ws();
    if (p_ >= s_.size()) return err("unexpected end");
    char c = s_[p_];
    auto v = std::make_shared<Lit>();
    if (c == '\'' || c == '"') {
      char q = c;
      ++p_;
      std::size_t start = p_;
      while (p_ < s_.size() && s_[p_] != q) {
        if (s_[p_] == '\\') return err("escapes are not supported in header strings");
        ++p_;
      }
      if (p_ >= s_.size()) return err("unterminated string");
      v->k = Lit::K::str;
      v->s = std::string(s_.substr(start, p_ - start));
      ++p_;
      return v;
    }
    if (c == '(' || c == '[' || c == '{') {
      char close = c == '(' ? ')' : c == '[' ? ']' : '}';
      v->k = c == '(' ? Lit::K::tuple : c == '[' ? Lit::K::list : Lit::K::dict;
      ++p_;
      while (true) {
        ws();
        if (p_ < s_.size() && s_[p_] == close) {
          ++p_;
          break;
        }
        HG_TRY(auto item, value(depth + 1));
        v->items.push_back(item);
        if (v->k == Lit::K::dict) {
          ws();
          if (p_ >= s_.size() || s_[p_] != ':') return err("expected ':'");
          ++p_;
          HG_TRY(auto val, value(depth + 1));
          v->items.push_back(val);
        }
        ws();
        if (p_ < s_.size() && s_[p_] == ',') {
          ++p_;
          continue;
        }
        ws();
        if (p_ < s_.size() && s_[p_] == close) {
          ++p_;
          break;
        }
        return err("expected ',' or closing bracket");
      }
      return v;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t start = p_++;
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') ++p_;
      if (p_ < s_.size() && s_[p_] == 'L') ++p_;  // Python 2 long literal
      std::string_view digits = s_.substr(start, p_ - start);
      if (digits.ends_with("L")) digits.remove_suffix(1);
      bool neg = digits.starts_with("-");
      if (neg) digits.remove_prefix(1);
      if (digits.empty() || digits.size() > 18) return err("integer out of range");
      std::int64_t n = 0;
      for (char d : digits) n = n * 10 + (d - '0');
      v->k = Lit::K::integer;
      v->i = neg ? -n : n;
      return v;
    }
    for (auto [word, kind, val] : {std::tuple{"True", Lit::K::boolean, 1}, std::tuple{"False", Lit::K::boolean, 0},
                                   std::tuple{"None", Lit::K::none, 0}}) {
      std::string_view w = word;
      if (s_.substr(p_, w.size()) == w) {
        p_ += w.size();
        v->k = kind;
        v->i = val;
        return v;
      }
    }
    return err(std::string("unexpected character '") + c + "'");
  }
};

const Lit* dict_get(const Lit& d, std::string_view key) {
  for (std::size_t i = 0; i + 1 < d.items.size(); i += 2)
    if (d.items[i]->k == Lit::K::str && d.items[i]->s == key) return d.items[i + 1].get();
  return nullptr;
}

struct Dtype {
  bool object = false;
  std::uint64_t itemsize = 0;
};

Result<Dtype> simple_dtype(std::string_view s) {
  // [<>|=]?<kind><size>[unit], e.g. '<f4', '|b1', '<U10', '|S3', '<M8[ns]', '|O'.
  if (!s.empty() && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) s.remove_prefix(1);
  if (s.empty()) return fail(Errc::corrupt, "npy header: empty dtype");
  char kind = s[0];
  if (kind == 'O') return Dtype{true, 8};
  std::string_view rest = s.substr(1);
  if (auto br = rest.find('['); br != std::string_view::npos) rest = rest.substr(0, br);
  std::uint64_t n = 0;
  if (rest.empty() || rest.size() > 12) return fail(Errc::corrupt, "npy header: dtype '" + std::string(s) + "' has no size");
  for (char c : rest) {
    if (c < '0' || c > '9') return fail(Errc::corrupt, "npy header: bad dtype '" + std::string(s) + "'");
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  switch (kind) {
    case 'b': case 'i': case 'u': case 'f': case 'c': case 'M': case 'm': case 'S': case 'V': case 'a':
      return Dtype{false, n};
    case 'U': return Dtype{false, n * 4};
    default: return fail(Errc::corrupt, "npy header: unknown dtype kind '" + std::string(1, kind) + "'");
  }
}

Result<Dtype> dtype_of(const Lit& d, int depth = 0) {
  if (depth > 16) return fail(Errc::corrupt, "npy header: dtype nesting too deep");
  if (d.k == Lit::K::str) return simple_dtype(d.s);
  if (d.k == Lit::K::list) {
    Dtype out;
    for (const auto& f : d.items) {
      if (f->k != Lit::K::tuple || f->items.size() < 2 || f->items.size() > 3)
        return fail(Errc::corrupt, "npy header: structured field is not (name, dtype[, shape])");
      HG_TRY(Dtype fd, dtype_of(*f->items[1], depth + 1));
      std::uint64_t count = 1;
      if (f->items.size() == 3) {
        const Lit& sh = *f->items[2];
        if (sh.k == Lit::K::integer) {
          count = static_cast<std::uint64_t>(std::max<std::int64_t>(sh.i, 0));
        } else if (sh.k == Lit::K::tuple) {
          for (const auto& x : sh.items) {
            if (x->k != Lit::K::integer || x->i < 0 || x->i > (1ll << 32)) return fail(Errc::corrupt, "npy header: bad subarray shape");
            count *= static_cast<std::uint64_t>(x->i);
            if (count > (1ull << 40)) return fail(Errc::corrupt, "npy header: subarray too large");
          }
        }
      }
      out.object = out.object || fd.object;
      out.itemsize += fd.itemsize * count;
    }
    return out;
  }
  if (d.k == Lit::K::dict) {
    Dtype out;
    const Lit* formats = dict_get(d, "formats");
    if (formats && (formats->k == Lit::K::list || formats->k == Lit::K::tuple)) {
      for (const auto& f : formats->items) {
        HG_TRY(Dtype fd, dtype_of(*f, depth + 1));
        out.object = out.object || fd.object;
        out.itemsize += fd.itemsize;
      }
    }
    if (const Lit* is = dict_get(d, "itemsize"); is && is->k == Lit::K::integer && is->i >= 0) {
      out.itemsize = static_cast<std::uint64_t>(is->i);
    }
    return out;
  }
  return fail(Errc::corrupt, "npy header: descr is not a string, list or dict");
}

}  // namespace

void scan_npy(Context& ctx, ByteView data) {
  ByteReader r(data, "npy");
  auto bad = [&](const std::string& msg, std::uint64_t off) {
    ctx.add(Severity::suspicious, "npy.malformed", "", msg, off);
  };
  // Lying sizes: numpy refuses them, and a reader that trusts the header reads out of bounds.
  auto lying = [&](const char* rule, const std::string& msg, std::uint64_t off) {
    ctx.add(Severity::dangerous, rule, "", msg, off);
  };
  if (!r.skip(6)) return bad("npy: truncated magic", 0);
  auto major = r.u8(), minor = r.u8();
  if (!major || !minor) return bad("npy: truncated version", 6);
  std::uint64_t hlen = 0;
  if (*major == 1) {
    auto v = r.u16le();
    if (!v) return bad("npy: truncated header length", 8);
    hlen = *v;
  } else if (*major == 2 || *major == 3) {
    auto v = r.u32le();
    if (!v) return bad("npy: truncated header length", 8);
    hlen = *v;
  } else {
    return bad("npy: unknown format version " + std::to_string(*major) + "." + std::to_string(*minor), 6);
  }
  if (hlen > 1'000'000) return bad("npy: header of " + std::to_string(hlen) + " bytes exceeds the 1 MB limit", 8);
  std::size_t header_at = r.offset();
  auto header = r.bytes(hlen);
  if (!header) return bad(header.error().message, header_at);
  auto lit = LitParser(as_chars(*header)).parse_all();
  if (!lit) return bad(lit.error().message, header_at);
  const Lit& d = **lit;
  if (d.k != Lit::K::dict || d.items.size() != 6) return bad("npy header is not a dict of descr, fortran_order, shape", header_at);
  const Lit* descr = dict_get(d, "descr");
  const Lit* order = dict_get(d, "fortran_order");
  const Lit* shape = dict_get(d, "shape");
  if (!descr || !order || !shape || order->k != Lit::K::boolean || shape->k != Lit::K::tuple)
    return bad("npy header lacks a valid descr, fortran_order or shape", header_at);
  auto dt = dtype_of(*descr);
  if (!dt) return bad(dt.error().message, header_at);
  std::uint64_t count = 1;
  for (const auto& x : shape->items) {
    if (x->k != Lit::K::integer || x->i < 0)
      return lying("npy.bad-shape", "npy shape is not a tuple of non-negative ints", header_at);
    if (x->i != 0 && count > UINT64_MAX / static_cast<std::uint64_t>(x->i))
      return lying("npy.bad-shape", "npy shape overflows", header_at);
    count *= static_cast<std::uint64_t>(x->i);
  }
  ByteView body = r.rest();
  std::uint64_t body_at = r.offset();
  if (dt->object) {
    ctx.in_member("(object array pickle @" + std::to_string(body_at) + ")", [&] { scan_pickles(ctx, body, {}); });
    return;
  }
  if (dt->itemsize != 0 && count > UINT64_MAX / dt->itemsize)
    return lying("npy.bad-shape", "npy array size overflows", header_at);
  std::uint64_t need = count * dt->itemsize;
  if (body.size() < need) {
    if (scanning_prefix()) return;  // the rest of the body was not decompressed (reported)
    return lying("npy.size-mismatch",
                 "npy body holds " + std::to_string(body.size()) + " bytes, the header needs " + std::to_string(need),
                 body_at);
  }
  if (body.size() > need) {
    ByteView extra = body.subspan(need);
    if (pickle::looks_like_pickle(extra)) {
      ctx.add(Severity::suspicious, "npy.trailing-pickle", "",
              "a pickle follows the array data (polyglot file)", body_at + need);
      ctx.in_member("(trailing @" + std::to_string(body_at + need) + ")", [&] { scan_pickles(ctx, extra, {}); });
    } else {
      ctx.add(Severity::suspicious, "npy.trailing-data", "",
              std::to_string(extra.size()) + " bytes follow the array data", body_at + need);
    }
  }
}

}  // namespace hubgate::scan
