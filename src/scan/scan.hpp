// The scanner library's public types: findings, reports, the scanning context.
//
// A scan takes the bytes of one artifact (a whole file, usually mmapped) and produces a
// `Report`: the detected format, every `Finding`, and a verdict (the worst severity). Scanners
// for containers (zip, tar, torch archives, npz, …) recurse into members through
// `Context::scan_nested`, which enforces the depth/entries/size/expansion limits. Scanners never
// throw and never read outside the view they are given; a structure they cannot parse is a
// finding (rule `*.malformed`), and "could not scan at all" is `Report::error`.
// Thread-safety: a Context is used by one thread; different scans may run in parallel.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/byte_reader.hpp"
#include "util/error.hpp"

namespace hubgate::scan {

// Version of the scanner's rules. Bump it whenever a rule changes what it reports: the gate
// stores verdicts per (content, version) and rescans content whose verdict is older.
inline constexpr int kScannerVersion = 1;

// Persisted in the verdict database: do not renumber.
enum class Severity : int { safe = 0, suspicious = 1, dangerous = 2 };
const char* severity_name(Severity s);

// Formats recognised by content (magic bytes and structure), never by extension alone.
// Persisted: do not renumber; append new values at the end.
enum class Format : int {
  unknown = 0,
  pickle = 1,
  pytorch_zip = 2,      // torch.save since 1.6: zip with data.pkl
  pytorch_legacy = 3,   // torch.save legacy: magic-number pickle + sys info + storages
  torchscript = 4,      // zip with constants.pkl / code/
  numpy_npy = 5,
  numpy_npz = 6,
  joblib = 7,
  keras_v3 = 8,         // .keras zip with config.json
  hdf5 = 9,             // includes Keras .h5
  onnx = 10,
  gguf = 11,
  safetensors = 12,
  zip = 13,
  tar = 14,
  gzip = 15,
  bzip2 = 16,
  xz = 17,
  zstd = 18,
  lz4 = 19,
  text = 20,            // JSON, YAML, plain text
  executable = 21,      // ELF, PE, Mach-O, shebang scripts
};
const char* format_name(Format f);

struct Finding {
  Severity severity = Severity::suspicious;
  std::string rule;     // stable rule id, e.g. "pickle.dangerous-global", "safetensors.overlap"
  std::string file;     // the scanned file's path (as given to the scanner)
  std::string member;   // path inside a container, "/"-joined through nesting; empty at top level
  std::optional<std::uint64_t> offset;  // byte offset within the member (or file) where seen
  std::string subject;  // the global (e.g. "os.system") or field (e.g. "tensor 'w'") involved
  std::string message;  // one precise sentence
};

// A global named by a pickle, with its grade (the Hub's pickleImportScan.imports shape).
struct ImportSeen {
  std::string module;
  std::string name;
  Severity safety = Severity::suspicious;
};

struct Report {
  std::string file;
  Format format = Format::unknown;
  std::vector<Finding> findings;
  std::vector<ImportSeen> imports;  // every distinct pickle global seen, in order of first sight
  std::optional<Error> error;  // set when the file could not be scanned at all

  Severity verdict() const;  // worst finding; safe when none
};

// Hard limits for one scan (defaults documented; all enforced).
struct Limits {
  int max_depth = 8;                                  // nesting of containers
  std::uint64_t max_entries = 100000;                 // members across all archives in one scan
  std::uint64_t max_expanded_bytes = 64ull << 30;     // total decompressed bytes in one scan
  double max_expansion_ratio = 200.0;                 // decompressed / compressed, per member
  std::uint64_t max_pickle_ops = 50'000'000;          // opcodes simulated per pickle
  std::uint64_t max_pickle_stack = 1'000'000;         // stack + memo entries per pickle
};

class Context {
 public:
  using NestedScanner = std::function<void(Context&, ByteView, std::string_view member)>;

  Context(Report& report, Limits limits = {}) : report_(report), limits_(limits) {}

  const Limits& limits() const { return limits_; }
  Report& report() { return report_; }
  int depth() const { return depth_; }
  const std::string& member() const { return member_; }

  // Record a finding at the current member (file and member are filled in).
  void add(Severity s, std::string rule, std::string subject, std::string message,
           std::optional<std::uint64_t> offset = std::nullopt);

  // Record a pickle global (deduplicated by module+name, worst grade kept).
  void add_import(std::string_view module, std::string_view name, Severity safety);

  // Scan bytes found inside the current member (detect their format, dispatch). Enforces depth
  // and entry limits, recording a `container.limit` finding instead of recursing too far.
  void scan_nested(ByteView data, std::string_view member_name);
  // Same, with the format chosen by the caller (a container that knows how the loader reads it).
  void scan_nested_as(ByteView data, std::string_view member_name, Format f);
  // Run `fn` with `member_name` as the current member (same limits as scan_nested); false when
  // a limit stopped it.
  bool in_member(std::string_view member_name, const std::function<void()>& fn);

  // Account for decompressed bytes; false (and a finding) once a limit is exceeded.
  bool charge_expansion(std::uint64_t compressed, std::uint64_t expanded);

 private:
  Report& report_;
  Limits limits_;
  int depth_ = 0;
  std::uint64_t entries_ = 0;
  std::uint64_t expanded_ = 0;
  std::string member_;
  std::map<std::string, std::size_t, std::less<>> import_index_;  // "module\nname" -> report_.imports index
};

// Detect the format of bytes by content. `name` is only a hint for ambiguous cases (never
// trusted alone).
Format detect(ByteView data, std::string_view name = {});

// Scan one in-memory artifact; the top-level entry point used by the CLI and the gate.
// Streaming use (the gate): bytes of an upload or fill arrive in order into a temporary file;
// the gate calls scan_bytes on the complete temporary file (mmapped) before publishing it.
Report scan_bytes(ByteView data, std::string file, Limits limits = {});

// Scan a file on disk (mapped read-only). Report::error is set when it cannot be read.
Report scan_file(const std::string& path, Limits limits = {});

// Per-format scanners, dispatched by `detect`. Each appends findings to ctx; none throws.
void scan_pickle(Context& ctx, ByteView data);
void scan_zip(Context& ctx, ByteView data);          // generic zip, PyTorch zip, TorchScript, npz, .keras
void scan_torch_legacy(Context& ctx, ByteView data);
void scan_npy(Context& ctx, ByteView data);
void scan_joblib(Context& ctx, ByteView data);
void scan_safetensors(Context& ctx, ByteView data);
void scan_gguf(Context& ctx, ByteView data);
void scan_onnx(Context& ctx, ByteView data);
void scan_keras_config(Context& ctx, ByteView config_json);  // config.json of a .keras archive
void scan_hdf5(Context& ctx, ByteView data);                 // incl. Keras .h5 model_config
void scan_tar(Context& ctx, ByteView data);
void scan_compressed(Context& ctx, ByteView data, Format f);  // gzip/bz2/xz/zstd/lz4 streams

}  // namespace hubgate::scan
