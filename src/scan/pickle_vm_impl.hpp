// Internals of the pickle machine simulator, shared by pickle_vm.cpp (the machine's entry
// points, joblib arrays) and pickle_ops.cpp (the opcode interpreter, Vm::step). Not part of the
// scanner's interface: pickle_vm.hpp has the contract, pickle_vm.cpp the algorithm.
#pragma once

#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "scan/pickle_vm.hpp"
#include "scan/text_codec.hpp"

namespace hubgate::scan::pickle::detail {

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

inline Value make(Value::K k) {
  Value v;
  v.k = k;
  return v;
}
inline Value make_container(Value::K k) {
  Value v = make(k);
  v.items = std::make_shared<Items>();
  return v;
}
inline Value make_str(std::string_view s) {
  Value v = make(Value::K::str);
  v.truncated = s.size() > kMaxStr;
  v.s.assign(s.substr(0, kMaxStr));
  return v;
}
inline Value make_int(std::int64_t i) {
  Value v = make(Value::K::integer);
  v.i = i;
  return v;
}

inline void push_item(Value& container, Value v) {
  if (container.items && container.items->size() < kMaxItems) container.items->push_back(std::move(v));
}

inline std::string shorten(std::string_view s, std::size_t n = 80) {
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
  // The memo index argument of GET/PUT (`what`): a decimal line (`width` 0), one byte (1) or a
  // little-endian u32 (4). nullopt after fail() or at the end of the data.
  std::optional<std::uint64_t> memo_index(int width, const char* what) {
    if (width == 1) {
      auto v = read_le<std::uint8_t>();
      return v ? std::optional<std::uint64_t>(*v) : std::nullopt;
    }
    if (width == 4) {
      auto v = read_le<std::uint32_t>();
      return v ? std::optional<std::uint64_t>(*v) : std::nullopt;
    }
    auto l = line();
    if (!l) return std::nullopt;
    auto n = parse_decimal(*l);
    if (!n || *n < 0) {
      fail(std::string("invalid ") + what + " index");
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(*n);
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

// The object is a joblib NumpyArrayWrapper (its array bytes follow its BUILD).
bool is_wrapper(const Run& run, const Value& v);

}  // namespace hubgate::scan::pickle::detail
