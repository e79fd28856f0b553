// Internal: a simulator of the pickle virtual machine (protocols 0-5, every opcode).
//
// `simulate_pickle` walks one pickle from the start of `data` to its STOP opcode the way
// CPython's C unpickler (`_pickle.c`) reads it, but instead of building objects it tracks
// symbolic values: strings (for STACK_GLOBAL operands), globals, call results, containers (small
// ones), persistent ids. Every import (GLOBAL, STACK_GLOBAL, INST, EXT*) and every call (REDUCE,
// OBJ, INST, NEWOBJ, NEWOBJ_EX, BUILD on a bare global) is recorded with its offset, whether or not
// its result is later discarded. On malformed input it stops at the first error and returns what
// it saw up to there (the loader would have executed exactly that much). Limits: opcodes, stack +
// memo entries, string bytes kept per value. Thread-safety: pure function.
//
// Real loaders read FRAME differently (`Reading`): a pickle whose opcodes respect its frames reads
// the same under all of them; one that does not is simulated once per reading by the caller
// (pickle.cpp), which judges every reading.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scan/scan.hpp"

namespace hubgate::scan::pickle {

struct Import {
  std::string module;
  std::string name;
  std::uint64_t offset = 0;  // offset of the opcode (relative to the data given)
  const char* via = "";      // "GLOBAL", "STACK_GLOBAL", "INST", "EXT1"...
};

struct Call {
  int target = -1;           // index into imports; -1 when the callable is not a global
  std::string callable;      // description when target < 0 ("result of a call to os.getcwd", ...)
  std::uint64_t offset = 0;
  const char* op = "";       // "REDUCE", "NEWOBJ", "BUILD", ...
  std::string arg_preview;   // first string argument, shortened
  std::vector<ByteView> bytes_args;  // bytes arguments that may hold a nested pickle
};

struct Anomaly {
  Severity severity = Severity::suspicious;
  std::string rule;
  std::string subject;
  std::string message;
  std::uint64_t offset = 0;
};

// The extension registry (copyreg.add_extension), shared by the pickles of one file.
using ExtRegistry = std::map<std::int64_t, std::pair<std::string, std::string>>;

// How the loader reads the bytes. They agree on every pickle whose opcodes end inside their FRAME.
//  - c_buffer: CPython's C unpickler on an in-memory buffer (`pickle.loads`) or a file whose peek
//    window covers the frame: FRAME only checks that its bytes exist; opcodes are read linearly
//    whatever the frame boundaries.
//  - c_file: the C unpickler on a file object without `peek` (`torch.load` reads data.pkl from an
//    io.BytesIO) or a frame larger than the peek window: FRAME reads the frame into its buffer with
//    `read(n)`; a read that crosses the end of the buffer discards the buffer's rest and reads
//    afresh from the file after it, so the bytes of the frame's tail are skipped. Bytes payloads
//    (BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8) are the exception since CPython 3.8: they
//    are read with readinto, straight on.
//  - c_file_py37: the same on CPython 3.7 and older, where bytes payloads are skipped over like
//    every other operand (and protocol 5 does not exist).
//  - python: `pickle._Unpickler` (subclassed by joblib and dill): each frame is read into its own
//    buffer; an opcode crossing its end, or a FRAME inside an unfinished frame, is an error; a
//    frame running past the end of the data is accepted (the rest is read until it runs out).
enum class Reading : std::uint8_t { c_buffer, c_file, c_file_py37, python };
const char* reading_name(Reading r);

struct VmOptions {
  Reading reading = Reading::c_buffer;
  std::uint64_t max_ops = 50'000'000;
  std::uint64_t max_entries = 1'000'000;  // stack + memo entries
  // joblib: after BUILD of a joblib.numpy_pickle.NumpyArrayWrapper the raw array bytes (or, for
  // object arrays, a nested pickle) follow inline in the stream; skip/scan them like joblib does.
  bool joblib = false;
};

struct Run {
  std::vector<Import> imports;
  std::vector<Call> calls;
  std::vector<Anomaly> anomalies;
  // joblib object arrays: offsets (relative to data) and lengths of inline nested pickles.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> nested;
  bool stopped = false;          // reached STOP
  std::optional<std::string> error;
  std::uint64_t error_offset = 0;
  std::uint64_t end = 0;         // offset just past STOP (or where it failed)
  std::uint64_t ops = 0;
  int protocol = 0;
  bool limit_hit = false;
  // FRAME misuse seen (the readings may differ from here on): an opcode crossing the end of its
  // frame, a FRAME inside an unfinished frame, a frame running past the end of the data.
  std::uint64_t frame_crossings = 0;   // opcodes (and nested FRAMEs) crossing a frame's end
  bool frame_truncated = false;        // a FRAME longer than the data left
  std::optional<std::uint64_t> divergence;  // offset of the first such event
};

Run simulate_pickle(ByteView data, const VmOptions& opt, ExtRegistry& ext);

// Cheap content test used by detection and container scanners: does `data` start like a pickle
// (PROTO 2-5, or a protocol 0/1 opcode stream that parses for a while / names a global)?
bool looks_like_pickle(ByteView data);

}  // namespace hubgate::scan::pickle
