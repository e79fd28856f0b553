// Pickle machine simulator (see pickle_vm.hpp for the contract).
//
// Algorithm: one pass over the opcode stream with a symbolic stack, a mark stack (CPython's
// "metastack") and a memo. Values are small tagged records; containers share their element
// vector (shared_ptr) so that memo round-trips alias like the real objects, and keep at most
// kMaxItems elements (enough to resolve callables and small argument tuples). Strings keep at
// most kMaxStr bytes. Every read is bounds-checked and goes through `read`/`line`, which model
// the chosen loader's buffering (VmOptions::reading): c_buffer reads linearly; c_file keeps the
// extent of the C unpickler's input buffer (`buf_end_`) and, when a read does not fit in what is
// left of it, restarts at the buffer's end like `_Unpickler_ReadFromFile`; python tracks the
// current frame and fails when a read crosses its end. Opcodes that cross a frame boundary, a
// FRAME before the previous frame ended, and frames longer than the data are counted in the Run
// (the readings may differ from there). Errors stop the walk and are returned with their offset.
#include "scan/pickle_vm.hpp"

#include <cstring>
#include <limits>

namespace hubgate::scan::pickle {
namespace {

constexpr std::size_t kMaxItems = 256;
constexpr std::size_t kMaxStr = 4096;
constexpr std::size_t kMaxLine = 1 << 20;

struct Value;
using Items = std::vector<Value>;

struct Value {
  enum class K : std::uint8_t { other, none, boolean, integer, floating, str, bytes, tuple, list, dict, set,
                                global, object, persistent };
  K k = K::other;
  bool truncated = false;
  bool big = false;                 // integer that does not fit int64
  std::int64_t i = 0;               // integer; global: import index; object: callee import (-1 none)
  std::string s;                    // str contents; object: callee description
  ByteView b;                       // bytes contents (view into the input)
  std::shared_ptr<Items> items;     // containers; object: {args, state}
};

Value make(Value::K k) {
  Value v;
  v.k = k;
  return v;
}
Value make_container(Value::K k) {
  Value v = make(k);
  v.items = std::make_shared<Items>();
  return v;
}
Value make_str(std::string_view s) {
  Value v = make(Value::K::str);
  v.truncated = s.size() > kMaxStr;
  v.s.assign(s.substr(0, kMaxStr));
  return v;
}
Value make_int(std::int64_t i) {
  Value v = make(Value::K::integer);
  v.i = i;
  return v;
}

void push_item(Value& container, Value v) {
  if (container.items && container.items->size() < kMaxItems) container.items->push_back(std::move(v));
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// codecs.escape_decode (the STRING opcode's body between the quotes).
std::optional<std::string> escape_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) return std::nullopt;  // trailing backslash: ValueError
    char e = s[i];
    switch (e) {
      case '\n': break;
      case '\\': out += '\\'; break;
      case '\'': out += '\''; break;
      case '"': out += '"'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'x': {
        if (i + 2 >= s.size()) return std::nullopt;
        int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
        if (h < 0 || l < 0) return std::nullopt;
        out += static_cast<char>(h * 16 + l);
        i += 2;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0';
          for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k) v = v * 8 + (s[++i] - '0');
          out += static_cast<char>(v & 0xFF);
        } else {
          out += '\\';
          out += e;
        }
    }
  }
  return out;
}

// raw-unicode-escape decoding (the UNICODE opcode).
std::optional<std::string> raw_unicode_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
      std::size_t n = s[i + 1] == 'u' ? 4 : 8;
      if (i + 1 + n >= s.size()) return std::nullopt;
      std::uint32_t cp = 0;
      for (std::size_t k = 0; k < n; ++k) {
        int h = hexval(s[i + 2 + k]);
        if (h < 0) return std::nullopt;
        cp = cp * 16 + static_cast<std::uint32_t>(h);
      }
      if (cp > 0x10FFFF) return std::nullopt;
      append_utf8(out, cp);
      i += 1 + n;
    } else {
      append_utf8(out, c);  // latin-1 byte
    }
  }
  return out;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 99;
    if (n == 99 || i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n + 1;
  }
  return true;
}

std::optional<std::int64_t> parse_decimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  std::size_t i = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i >= s.size()) return std::nullopt;
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
  return neg ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
}

std::string shorten(std::string_view s, std::size_t n = 80) {
  std::string out;
  for (char c : s.substr(0, n)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > n) out += "...";
  return out;
}

class Vm {
 public:
  Vm(ByteView data, const VmOptions& opt, ExtRegistry& ext)
      : data_(data),
        opt_(opt),
        ext_(ext),
        python_(opt.reading == Reading::python),
        c_file_(opt.reading == Reading::c_file || opt.reading == Reading::c_file_py37),
        py37_(opt.reading == Reading::c_file_py37) {}

  Run run() {
    while (!run_.stopped && !run_.error) {
      if (++run_.ops > opt_.max_ops) {
        run_.limit_hit = true;
        fail_at(pos_, "more than " + std::to_string(opt_.max_ops) + " opcodes (scan limit)");
        break;
      }
      if (stack_.size() + memo_.size() + marks_.size() > opt_.max_entries) {
        run_.limit_hit = true;
        fail_at(pos_, "more than " + std::to_string(opt_.max_entries) + " stack/memo entries (scan limit)");
        break;
      }
      step();
    }
    run_.end = pos_;
    return std::move(run_);
  }

 private:
  ByteView data_;
  const VmOptions& opt_;
  ExtRegistry& ext_;
  Run run_;
  std::size_t pos_ = 0;
  std::size_t op_start_ = 0;
  const bool python_;
  const bool c_file_;  // c_file or c_file_py37: the input buffer is modelled
  const bool py37_;    // CPython 3.7 and older: no protocol 5, no readinto
  std::size_t frame_end_ = 0;  // 0: not in a frame
  std::size_t buf_end_ = 0;    // c_file: end of the C unpickler's input buffer (pos_ <= buf_end_)
  std::vector<Value> stack_;
  std::vector<std::size_t> marks_;
  std::map<std::uint64_t, Value> memo_;

  void fail_at(std::size_t off, std::string msg) {
    if (run_.error) return;
    run_.error = std::move(msg);
    run_.error_offset = off;
  }
  void fail(std::string msg) { fail_at(op_start_, std::move(msg)); }

  void anomaly(Severity s, std::string rule, std::string subject, std::string msg) {
    if (run_.anomalies.size() >= 100) return;  // bounded report on hostile input
    run_.anomalies.push_back(Anomaly{s, std::move(rule), std::move(subject), std::move(msg), op_start_});
  }

  bool python() const { return python_; }
  bool c_file() const { return c_file_; }

  void diverge() {
    if (!run_.divergence) run_.divergence = op_start_;
  }

  // Frame bookkeeping for a read of [pos_, end): counts crossings; the Python reading fails there.
  bool check_frame(std::size_t end) {
    if (frame_end_ != 0 && pos_ < frame_end_ && end > frame_end_) {
      ++run_.frame_crossings;
      diverge();
      if (python()) {
        fail("pickle exhausted before end of frame (an opcode crosses the end of its FRAME)");
        return false;
      }
    }
    if (frame_end_ != 0 && end >= frame_end_) frame_end_ = 0;
    return true;
  }

  // c_file: a read of n bytes that does not fit in the rest of the input buffer is served from
  // the file position, which is the buffer's end (the rest of the buffer is dropped).
  void rebuffer(std::uint64_t n) {
    if (c_file() && n > buf_end_ - pos_) pos_ = buf_end_;
  }

  // Bytes payloads (BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8): CPython 3.8+ reads them
  // with `_Unpickler_ReadInto`, which takes what is left of the buffer and the rest from the
  // file, i.e. straight on; CPython 3.7 and older read them like any other operand.
  std::optional<ByteView> read_into(std::uint64_t n) {
    if (!c_file_ || py37_ || n <= buf_end_ - pos_) return read(n);
    if (frame_end_ != 0 && !check_frame(n > data_.size() - pos_ ? data_.size() + 1 : pos_ + n)) return std::nullopt;
    if (n > data_.size() - pos_) {
      fail("pickle data was truncated (need " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) + ")");
      return std::nullopt;
    }
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    buf_end_ = pos_;
    return v;
  }

  std::optional<ByteView> read(std::uint64_t n) {
    if (frame_end_ != 0 && !check_frame(n > data_.size() - pos_ ? data_.size() + 1 : pos_ + n)) return std::nullopt;
    if (c_file_) rebuffer(n);
    if (n > data_.size() - pos_) {
      fail("pickle data was truncated (need " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) + ")");
      return std::nullopt;
    }
    ByteView v = data_.subspan(pos_, n);
    pos_ += n;
    if (pos_ > buf_end_) buf_end_ = pos_;
    return v;
  }
  template <class T>
  std::optional<T> read_le() {
    auto b = read(sizeof(T));
    if (!b) return std::nullopt;
    T v;
    std::memcpy(&v, b->data(), sizeof(T));
    return v;
  }
  // A '\n'-terminated line without the newline.
  std::optional<std::string_view> line() {
    // c_file: a line not ending inside the buffer is read with readline() after the buffer.
    if (c_file() && pos_ < buf_end_ && !std::memchr(data_.data() + pos_, '\n', buf_end_ - pos_)) {
      if (frame_end_ != 0 && pos_ < frame_end_) {
        ++run_.frame_crossings;
        diverge();
        frame_end_ = 0;
      }
      pos_ = buf_end_;
    }
    std::size_t limit = std::min(data_.size() - pos_, kMaxLine);
    const void* nl = std::memchr(data_.data() + pos_, '\n', limit);
    if (!nl) {
      fail(limit == kMaxLine ? "line longer than the scan limit" : "pickle data was truncated (unterminated line)");
      return std::nullopt;
    }
    std::size_t n = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - (data_.data() + pos_));
    auto b = read(n + 1);
    if (!b) return std::nullopt;
    return as_chars(b->first(n));
  }

  bool need(std::size_t n) {
    std::size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) {
      fail("unpickling stack underflow");
      return false;
    }
    return true;
  }
  Value pop() {
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() { return stack_.back(); }
  std::optional<std::vector<Value>> pop_mark() {
    if (marks_.empty()) {
      fail("could not find MARK");
      return std::nullopt;
    }
    std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(std::make_move_iterator(stack_.begin() + static_cast<long>(m)),
                             std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  Value container_of(Value::K k, std::vector<Value> items) {
    Value v = make_container(k);
    for (auto& it : items) push_item(v, std::move(it));
    return v;
  }

  std::string describe(const Value& v) const {
    switch (v.k) {
      case Value::K::global: {
        const auto& im = run_.imports[static_cast<std::size_t>(v.i)];
        return im.module + "." + im.name;
      }
      case Value::K::object: return "the result of calling " + (v.s.empty() ? std::string("an unresolved callable") : v.s);
      case Value::K::persistent: return "a persistent-load result";
      case Value::K::str: return "a str";
      case Value::K::bytes: return "a bytes value";
      case Value::K::tuple: return "a tuple";
      case Value::K::list: return "a list";
      case Value::K::dict: return "a dict";
      case Value::K::set: return "a set";
      case Value::K::integer: return "an int";
      case Value::K::none: return "None";
      default: return "an unresolved value";
    }
  }

  void import(std::string module, std::string name, const char* via) {
    Value v = make(Value::K::global);
    v.i = static_cast<std::int64_t>(run_.imports.size());
    run_.imports.push_back(Import{std::move(module), std::move(name), op_start_, via});
    stack_.push_back(std::move(v));
  }

  void collect_args(const Value& args, Call& c, int depth = 0) {
    if (depth > 2) return;
    if (args.k == Value::K::str && c.arg_preview.empty()) c.arg_preview = shorten(args.s);
    if (args.k == Value::K::bytes && args.b.size() >= 2) c.bytes_args.push_back(args.b);
    if ((args.k == Value::K::tuple || args.k == Value::K::list) && args.items) {
      for (const auto& it : *args.items) collect_args(it, c, depth + 1);
    }
  }

  // Record a call and push its (symbolic) result.
  void call(const Value& callable, Value args, const char* op) {
    Call c;
    c.offset = op_start_;
    c.op = op;
    if (callable.k == Value::K::global) {
      c.target = static_cast<int>(callable.i);
    } else {
      c.callable = describe(callable);
    }
    collect_args(args, c);
    // copyreg.add_extension(module, name, code) populates the registry that EXT* opcodes read.
    if (c.target >= 0) {
      const auto& im = run_.imports[static_cast<std::size_t>(c.target)];
      if ((im.module == "copyreg" || im.module == "copy_reg") && im.name == "add_extension" &&
          args.k == Value::K::tuple && args.items && args.items->size() == 3 &&
          (*args.items)[0].k == Value::K::str && (*args.items)[1].k == Value::K::str &&
          (*args.items)[2].k == Value::K::integer) {
        ext_[(*args.items)[2].i] = {(*args.items)[0].s, (*args.items)[1].s};
      }
    }
    Value result = make(Value::K::object);
    result.i = callable.k == Value::K::global ? callable.i : -1;
    result.s = describe(callable);
    result.items = std::make_shared<Items>();
    result.items->push_back(std::move(args));
    result.items->push_back(make(Value::K::none));  // state, set by BUILD
    run_.calls.push_back(std::move(c));
    stack_.push_back(std::move(result));
  }

  void mutate_target(const Value& target, const char* what) {
    if (target.k == Value::K::global) {
      anomaly(Severity::dangerous, "pickle.mutates-global", describe(target),
              std::string(what) + " applied to the global " + describe(target) +
                  " itself: the loader calls a method on (or sets attributes of) a module or class");
    }
  }

  void str_value(std::string_view s) { stack_.push_back(make_str(s)); }

  void joblib_array(const Value& wrapper);

  void step();
};

bool is_wrapper(const Run& run, const Value& v) {
  if (v.k != Value::K::object || v.i < 0) return false;
  const auto& im = run.imports[static_cast<std::size_t>(v.i)];
  return im.module == "joblib.numpy_pickle" && im.name == "NumpyArrayWrapper";
}

const Value* dict_get(const Value& d, std::string_view key) {
  if (d.k != Value::K::dict || !d.items) return nullptr;
  for (std::size_t i = 0; i + 1 < d.items->size(); i += 2) {
    const Value& k = (*d.items)[i];
    if (k.k == Value::K::str && k.s == key) return &(*d.items)[i + 1];
  }
  return nullptr;
}

// joblib writes an array's bytes (or, for object arrays, a protocol-2 pickle) right after the
// BUILD of its NumpyArrayWrapper; NumpyUnpickler.load_build reads them from the file there.
void Vm::joblib_array(const Value& wrapper) {
  const Value& state = (*wrapper.items)[1];
  const Value* dtype = dict_get(state, "dtype");
  const Value* shape = dict_get(state, "shape");
  if (!dtype || !shape || dtype->k != Value::K::object || !dtype->items || shape->k != Value::K::tuple) {
    fail("joblib NumpyArrayWrapper without a readable dtype/shape");
    return;
  }
  const Value& dargs = (*dtype->items)[0];
  const Value& dstate = (*dtype->items)[1];
  if (dargs.k != Value::K::tuple || !dargs.items || dargs.items->empty() || (*dargs.items)[0].k != Value::K::str) {
    fail("joblib array dtype is not numpy.dtype(<str>, ...)");
    return;
  }
  std::string descr = (*dargs.items)[0].s;
  bool has_fields = dstate.k == Value::K::tuple && dstate.items && dstate.items->size() > 3 &&
                    (*dstate.items)[3].k != Value::K::none;
  if (!descr.empty() && descr[0] == 'O') {
    std::size_t start = pos_;
    VmOptions sub = opt_;
    sub.joblib = false;
    Run inner = Vm(data_.subspan(pos_), sub, ext_).run();
    std::size_t base = run_.imports.size();
    for (auto& im : inner.imports) {
      im.offset += start;
      run_.imports.push_back(std::move(im));
    }
    for (auto& c : inner.calls) {
      c.offset += start;
      if (c.target >= 0) c.target += static_cast<int>(base);
      run_.calls.push_back(std::move(c));
    }
    for (auto& a : inner.anomalies) {
      a.offset += start;
      run_.anomalies.push_back(std::move(a));
    }
    run_.nested.emplace_back(start, inner.end);
    if (inner.error) {
      fail_at(start + inner.error_offset, "in the object array's pickle: " + *inner.error);
      return;
    }
    pos_ = start + inner.end;
    frame_end_ = 0;
    return;
  }
  if (has_fields) {
    fail("joblib array with a structured dtype (not followed)");
    return;
  }
  std::uint64_t item = 0;
  if (dstate.k == Value::K::tuple && dstate.items && dstate.items->size() > 5 &&
      (*dstate.items)[5].k == Value::K::integer && (*dstate.items)[5].i > 0) {
    item = static_cast<std::uint64_t>((*dstate.items)[5].i);
  } else {
    std::size_t d = 0;
    while (d < descr.size() && !(descr[d] >= '0' && descr[d] <= '9')) ++d;
    auto n = parse_decimal(std::string_view(descr).substr(d));
    if (!n || *n <= 0) {
      fail("joblib array dtype '" + shorten(descr) + "' has no item size");
      return;
    }
    item = static_cast<std::uint64_t>(*n);
    if (descr[0] == 'U') item *= 4;
  }
  std::uint64_t count = 1;
  for (const auto& dim : *shape->items) {
    if (dim.k != Value::K::integer || dim.i < 0) {
      fail("joblib array shape is not a tuple of non-negative ints");
      return;
    }
    if (dim.i != 0 && count > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(dim.i)) {
      fail("joblib array shape overflows");
      return;
    }
    count *= static_cast<std::uint64_t>(dim.i);
  }
  if (item != 0 && count > std::numeric_limits<std::uint64_t>::max() / item) {
    fail("joblib array size overflows");
    return;
  }
  frame_end_ = 0;
  const Value* align = dict_get(state, "numpy_array_alignment_bytes");
  if (align && align->k == Value::K::integer) {
    auto pad = read(1);
    if (!pad) return;
    if (!read((*pad)[0])) return;
  }
  if (!read(count * item)) return;
}

void Vm::step() {
  op_start_ = pos_;
  auto opb = read(1);
  if (!opb) return;
  std::uint8_t op = (*opb)[0];
  switch (op) {
    case '(': marks_.push_back(stack_.size()); break;
    case '.': run_.stopped = true; break;
    case '0':
      if (!marks_.empty() && marks_.back() == stack_.size()) {
        marks_.pop_back();
      } else if (need(1)) {
        stack_.pop_back();
      }
      break;
    case '1':
      pop_mark();
      break;
    case '2':
      if (need(1)) stack_.push_back(top());
      break;
    case 'F': {
      if (auto l = line()) stack_.push_back(make(Value::K::floating));
      break;
    }
    case 'G':
      if (read(8)) stack_.push_back(make(Value::K::floating));
      break;
    case 'I': {
      auto l = line();
      if (!l) break;
      if (*l == "00" || *l == "01") {
        Value v = make(Value::K::boolean);
        v.i = *l == "01";
        stack_.push_back(v);
      } else if (auto n = parse_decimal(*l)) {
        stack_.push_back(make_int(*n));
      } else {
        fail("invalid literal for INT: '" + shorten(*l) + "'");
      }
      break;
    }
    case 'J':
      if (auto v = read_le<std::int32_t>()) stack_.push_back(make_int(*v));
      break;
    case 'K':
      if (auto v = read_le<std::uint8_t>()) stack_.push_back(make_int(*v));
      break;
    case 'M':
      if (auto v = read_le<std::uint16_t>()) stack_.push_back(make_int(*v));
      break;
    case 'L': {
      auto l = line();
      if (!l) break;
      std::string_view s = *l;
      if (!s.empty() && s.back() == 'L') s.remove_suffix(1);
      if (auto n = parse_decimal(s)) {
        stack_.push_back(make_int(*n));
      } else {
        bool digits = !s.empty();
        for (std::size_t i = (s.size() && (s[0] == '-' || s[0] == '+')) ? 1 : 0; i < s.size(); ++i)
          digits = digits && s[i] >= '0' && s[i] <= '9';
        if (!digits) {
          fail("invalid literal for LONG: '" + shorten(*l) + "'");
          break;
        }
        Value v = make(Value::K::integer);
        v.big = true;
        stack_.push_back(v);
      }
      break;
    }
    case 0x8a:
    case 0x8b: {
      std::int64_t n = 0;
      if (op == 0x8a) {
        auto b = read_le<std::uint8_t>();
        if (!b) break;
        n = *b;
      } else {
        auto b = read_le<std::int32_t>();
        if (!b) break;
        if (*b < 0) {
          fail("LONG pickle has negative byte count");
          break;
        }
        n = *b;
      }
      auto bytes = read(static_cast<std::uint64_t>(n));
      if (!bytes) break;
      Value v = make(Value::K::integer);
      if (n <= 8) {
        std::uint64_t u = 0;
        for (std::int64_t k = n - 1; k >= 0; --k) u = (u << 8) | (*bytes)[static_cast<std::size_t>(k)];
        if (n > 0 && n < 8 && ((*bytes)[static_cast<std::size_t>(n - 1)] & 0x80)) u |= ~0ull << (8 * n);
        v.i = static_cast<std::int64_t>(u);
      } else {
        v.big = true;
      }
      stack_.push_back(v);
      break;
    }
    case 'N': stack_.push_back(make(Value::K::none)); break;
    case 0x88:
    case 0x89: {
      Value v = make(Value::K::boolean);
      v.i = op == 0x88;
      stack_.push_back(v);
      break;
    }
    case 'P':
      if (line()) stack_.push_back(make(Value::K::persistent));
      break;
    case 'Q':
      if (need(1)) {
        stack_.pop_back();
        stack_.push_back(make(Value::K::persistent));
      }
      break;
    case 'R': {
      if (!need(2)) break;
      Value args = pop();
      Value callable = pop();
      call(callable, std::move(args), "REDUCE");
      break;
    }
    case 'S': {
      auto l = line();
      if (!l) break;
      std::string_view s = *l;
      while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
      if (s.size() < 2 || s.front() != s.back() || (s.front() != '\'' && s.front() != '"')) {
        fail("the STRING opcode argument must be quoted");
        break;
      }
      auto d = escape_decode(s.substr(1, s.size() - 2));
      if (!d) {
        fail("invalid escape in STRING");
        break;
      }
      str_value(*d);
      break;
    }
    case 'T': {
      auto n = read_le<std::int32_t>();
      if (!n) break;
      if (*n < 0) {
        fail("BINSTRING pickle has negative byte count");
        break;
      }
      if (auto b = read(static_cast<std::uint64_t>(*n))) str_value(as_chars(*b));
      break;
    }
    case 'U': {
      auto n = read_le<std::uint8_t>();
      if (!n) break;
      if (auto b = read(*n)) str_value(as_chars(*b));
      break;
    }
    case 'V': {
      auto l = line();
      if (!l) break;
      auto d = raw_unicode_decode(*l);
      if (!d) {
        fail("invalid raw-unicode-escape in UNICODE");
        break;
      }
      str_value(*d);
      break;
    }
    case 'X':
    case 0x8c:
    case 0x8d: {
      std::uint64_t n = 0;
      if (op == 'X') {
        auto v = read_le<std::uint32_t>();
        if (!v) break;
        n = *v;
      } else if (op == 0x8c) {
        auto v = read_le<std::uint8_t>();
        if (!v) break;
        n = *v;
      } else {
        auto v = read_le<std::uint64_t>();
        if (!v) break;
        n = *v;
      }
      auto b = read(n);
      if (!b) break;
      if (!valid_utf8(as_chars(*b))) {
        fail("invalid UTF-8 in a unicode string");
        break;
      }
      str_value(as_chars(*b));
      break;
    }
    case 'B':
    case 'C':
    case 0x8e:
    case 0x96: {
      if (op == 0x96 && py37_) {
        fail("invalid load key 0x96");
        break;
      }
      std::uint64_t n = 0;
      if (op == 'B') {
        auto v = read_le<std::uint32_t>();
        if (!v) break;
        n = *v;
      } else if (op == 'C') {
        auto v = read_le<std::uint8_t>();
        if (!v) break;
        n = *v;
      } else {
        auto v = read_le<std::uint64_t>();
        if (!v) break;
        n = *v;
      }
      auto b = read_into(n);
      if (!b) break;
      Value v = make(Value::K::bytes);
      v.b = *b;
      stack_.push_back(v);
      break;
    }
    case 'a': {
      if (!need(2)) break;
      Value v = pop();
      mutate_target(top(), "APPEND");
      if (top().k == Value::K::list) push_item(top(), std::move(v));
      break;
    }
    case 'e': {
      auto items = pop_mark();
      if (!items) break;
      if (!need(1)) break;
      mutate_target(top(), "APPENDS");
      if (top().k == Value::K::list)
        for (auto& it : *items) push_item(top(), std::move(it));
      break;
    }
    case 'b': {
      if (!need(2)) break;
      Value state = pop();
      Value& inst = top();
      if (inst.k == Value::K::global) {
        mutate_target(inst, "BUILD");
        Value callable = inst;
        stack_.pop_back();
        call(callable, std::move(state), "BUILD");
        break;
      }
      if (inst.k == Value::K::object && inst.items && inst.items->size() == 2) {
        (*inst.items)[1] = std::move(state);
        if (opt_.joblib && is_wrapper(run_, inst)) {
          Value w = inst;
          joblib_array(w);
        }
      }
      break;
    }
    case 'c':
    case 'i': {
      auto m = line();
      if (!m) break;
      std::string module(*m);
      auto n = line();
      if (!n) break;
      std::string name(*n);
      if (!valid_utf8(module) || !valid_utf8(name)) {
        fail("invalid UTF-8 in a global name");
        break;
      }
      if (op == 'c') {
        import(std::move(module), std::move(name), "GLOBAL");
      } else {
        auto items = pop_mark();
        if (!items) break;
        import(std::move(module), std::move(name), "INST");
        Value cls = pop();
        call(cls, container_of(Value::K::tuple, std::move(*items)), "INST");
      }
      break;
    }
    case 'd': {
      if (auto items = pop_mark()) stack_.push_back(container_of(Value::K::dict, std::move(*items)));
      break;
    }
    case '}': stack_.push_back(make_container(Value::K::dict)); break;
    case 's': {
      if (!need(3)) break;
      Value v = pop();
      Value k = pop();
      mutate_target(top(), "SETITEM");
      if (top().k == Value::K::dict) {
        push_item(top(), std::move(k));
        push_item(top(), std::move(v));
      }
      break;
    }
    case 'u': {
      auto items = pop_mark();
      if (!items || !need(1)) break;
      mutate_target(top(), "SETITEMS");
      if (top().k == Value::K::dict)
        for (auto& it : *items) push_item(top(), std::move(it));
      break;
    }
    case 'g':
    case 'h':
    case 'j': {
      std::uint64_t idx = 0;
      if (op == 'g') {
        auto l = line();
        if (!l) break;
        auto n = parse_decimal(*l);
        if (!n || *n < 0) {
          fail("invalid GET index");
          break;
        }
        idx = static_cast<std::uint64_t>(*n);
      } else if (op == 'h') {
        auto v = read_le<std::uint8_t>();
        if (!v) break;
        idx = *v;
      } else {
        auto v = read_le<std::uint32_t>();
        if (!v) break;
        idx = *v;
      }
      auto it = memo_.find(idx);
      if (it == memo_.end()) {
        fail("memo value not found at index " + std::to_string(idx));
        break;
      }
      stack_.push_back(it->second);
      break;
    }
    case 'l': {
      if (auto items = pop_mark()) stack_.push_back(container_of(Value::K::list, std::move(*items)));
      break;
    }
    case ']': stack_.push_back(make_container(Value::K::list)); break;
    case 'o': {
      auto items = pop_mark();
      if (!items) break;
      if (items->empty()) {
        fail("OBJ without a class");
        break;
      }
      Value cls = std::move((*items)[0]);
      items->erase(items->begin());
      call(cls, container_of(Value::K::tuple, std::move(*items)), "OBJ");
      break;
    }
    case 'p':
    case 'q':
    case 'r':
    case 0x94: {
      std::uint64_t idx = 0;
      if (op == 'p') {
        auto l = line();
        if (!l) break;
        auto n = parse_decimal(*l);
        if (!n || *n < 0) {
          fail("invalid PUT index");
          break;
        }
        idx = static_cast<std::uint64_t>(*n);
      } else if (op == 'q') {
        auto v = read_le<std::uint8_t>();
        if (!v) break;
        idx = *v;
      } else if (op == 'r') {
        auto v = read_le<std::uint32_t>();
        if (!v) break;
        idx = *v;
      } else {
        idx = memo_.size();
      }
      if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size())) {
        fail("memo store with an empty stack");
        break;
      }
      memo_[idx] = top();
      break;
    }
    case 't': {
      if (auto items = pop_mark()) stack_.push_back(container_of(Value::K::tuple, std::move(*items)));
      break;
    }
    case ')': stack_.push_back(make_container(Value::K::tuple)); break;
    case 0x85:
    case 0x86:
    case 0x87: {
      std::size_t n = static_cast<std::size_t>(op - 0x84);
      if (!need(n)) break;
      std::vector<Value> items(std::make_move_iterator(stack_.end() - static_cast<long>(n)),
                               std::make_move_iterator(stack_.end()));
      stack_.resize(stack_.size() - n);
      stack_.push_back(container_of(Value::K::tuple, std::move(items)));
      break;
    }
    case 0x80: {
      auto v = read_le<std::uint8_t>();
      if (!v) break;
      if (*v > (py37_ ? 4 : 5)) {
        fail("unsupported pickle protocol: " + std::to_string(*v));
        break;
      }
      run_.protocol = *v;
      break;
    }
    case 0x81: {
      if (!need(2)) break;
      Value args = pop();
      Value cls = pop();
      call(cls, std::move(args), "NEWOBJ");
      break;
    }
    case 0x92: {
      if (!need(3)) break;
      Value kwargs = pop();
      Value args = pop();
      Value cls = pop();
      call(cls, std::move(args), "NEWOBJ_EX");
      break;
    }
    case 0x82:
    case 0x83:
    case 0x84: {
      std::int64_t code = 0;
      if (op == 0x82) {
        auto v = read_le<std::uint8_t>();
        if (!v) break;
        code = *v;
      } else if (op == 0x83) {
        auto v = read_le<std::uint16_t>();
        if (!v) break;
        code = *v;
      } else {
        auto v = read_le<std::int32_t>();
        if (!v) break;
        code = *v;
      }
      const char* via = op == 0x82 ? "EXT1" : op == 0x83 ? "EXT2" : "EXT4";
      if (code <= 0) {
        fail("EXT specifies code <= 0");
        break;
      }
      auto it = ext_.find(code);
      if (it == ext_.end()) {
        anomaly(Severity::suspicious, "pickle.unregistered-extension", "extension code " + std::to_string(code),
                std::string(via) + " names extension code " + std::to_string(code) +
                    ", which is not registered by default: the global it loads depends on the loading process");
        fail("unregistered extension code " + std::to_string(code));
        break;
      }
      import(it->second.first, it->second.second, via);
      break;
    }
    case 0x8f: stack_.push_back(make_container(Value::K::set)); break;
    case 0x90: {
      auto items = pop_mark();
      if (!items || !need(1)) break;
      mutate_target(top(), "ADDITEMS");
      if (top().k == Value::K::set)
        for (auto& it : *items) push_item(top(), std::move(it));
      break;
    }
    case 0x91: {
      if (auto items = pop_mark()) stack_.push_back(container_of(Value::K::set, std::move(*items)));
      break;
    }
    case 0x93: {
      if (!need(2)) break;
      Value name = pop();
      Value module = pop();
      if (name.k != Value::K::str || module.k != Value::K::str) {
        fail("STACK_GLOBAL requires str (got " + describe(module) + " and " + describe(name) + ")");
        break;
      }
      import(module.s + (module.truncated ? "..." : ""), name.s + (name.truncated ? "..." : ""), "STACK_GLOBAL");
      break;
    }
    case 0x95: {
      auto n = read_le<std::uint64_t>();
      if (!n) break;
      if (frame_end_ != 0 && pos_ < frame_end_) {
        // A FRAME inside an unfinished frame: the C unpickler goes on, the Python one stops.
        ++run_.frame_crossings;
        diverge();
        if (python()) {
          fail("beginning of a new frame before end of current frame");
          break;
        }
      }
      if (python()) {
        if (*n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          fail("frame size > sys.maxsize");
          break;
        }
        if (*n > data_.size() - pos_) {  // io.BytesIO(file.read(n)) is just shorter
          run_.frame_truncated = true;
          diverge();
        }
        frame_end_ = *n == 0 ? 0 : pos_ + std::min<std::uint64_t>(*n, data_.size() - pos_);
        if (frame_end_ == pos_) frame_end_ = 0;
        break;
      }
      // C: the frame's bytes must be readable (c_file: read into the buffer), then it rewinds.
      rebuffer(*n);
      if (*n > data_.size() - pos_) {
        run_.frame_truncated = true;
        diverge();
        fail("pickle data was truncated (FRAME of " + std::to_string(*n) + " bytes, " +
             std::to_string(data_.size() - pos_) + " left)");
        break;
      }
      if (pos_ + *n > buf_end_) buf_end_ = pos_ + *n;
      frame_end_ = *n == 0 ? 0 : pos_ + *n;
      break;
    }
    case 0x97:
      if (py37_) {
        fail("invalid load key 0x97");
        break;
      }
      fail("NEXT_BUFFER: out-of-band buffer without a buffers argument");
      break;
    case 0x98:
      if (py37_) {
        fail("invalid load key 0x98");
        break;
      }
      need(1);
      break;
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", op);
      fail(std::string("invalid load key ") + hex);
      break;
    }
  }
}

bool identifier_path(std::string_view s) {
  if (s.empty()) return false;
  bool start = true;
  for (char c : s) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (start) return false;
      start = true;
      continue;
    }
    if (!(alpha || (digit && !start))) return false;
    start = false;
  }
  return !start;
}

}  // namespace

Run simulate_pickle(ByteView data, const VmOptions& opt, ExtRegistry& ext) {
  return Vm(data, opt, ext).run();
}

const char* reading_name(Reading r) {
  switch (r) {
    case Reading::c_buffer: return "C unpickler on a buffer (pickle.loads)";
    case Reading::c_file: return "C unpickler on a file object (torch.load, pickle.load)";
    case Reading::c_file_py37: return "C unpickler of CPython 3.7 or older on a file object";
    case Reading::python: return "Python unpickler (joblib.load, dill.load)";
  }
  return "";
}

bool looks_like_pickle(ByteView data) {
  if (data.size() < 2) return false;
  if (data[0] == 0x80) return data[1] >= 2 && data[1] <= 5;
  static constexpr std::string_view kStart = "(c]}) NILFSVXKJMUTGBCPdlt";
  if (kStart.find(static_cast<char>(data[0])) == std::string_view::npos || data[0] == ' ') return false;
  VmOptions opt;
  opt.max_ops = 4096;
  opt.max_entries = 4096;
  ExtRegistry ext;
  Run r = simulate_pickle(data.first(std::min<std::size_t>(data.size(), 1 << 16)), opt, ext);
  for (const auto& im : r.imports)
    if (!identifier_path(im.module) || !identifier_path(im.name)) return false;
  if (!r.imports.empty()) return true;
  return r.stopped && !r.error && r.ops >= 2;
}

}  // namespace hubgate::scan::pickle
