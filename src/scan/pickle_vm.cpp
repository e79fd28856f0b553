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
#include "scan/pickle_vm_impl.hpp"

namespace hubgate::scan::pickle {
namespace detail {

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

}  // namespace detail

namespace {

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

using detail::Vm;

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