// The pickle opcode interpreter (Vm::step): one opcode per call, read through the chosen
// reading's buffering model and applied to the symbolic stack, marks and memo (pickle_vm.cpp
// has the algorithm, pickle_vm_impl.hpp the machine's state).
#include "scan/pickle_vm_impl.hpp"

namespace hubgate::scan::pickle::detail {

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
      auto index = memo_index(op == 'g' ? 0 : op == 'h' ? 1 : 4, "GET");
      if (!index) break;
      const std::uint64_t idx = *index;
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
      std::uint64_t idx = memo_.size();  // MEMOIZE (0x94): the next free index
      if (op != 0x94) {
        auto index = memo_index(op == 'p' ? 0 : op == 'q' ? 1 : 4, "PUT");
        if (!index) break;
        idx = *index;
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

}  // namespace hubgate::scan::pickle::detail
