// Format validators beyond the per-format entry points declared in scan.hpp: helpers that other
// scanners (zip for .keras, the gate for text files) and the CLI call, and the limits the format
// validators apply. Rules and rule ids are documented in docs/scan-formats.md.
//
// Contract: like every scanner, these append findings to the Context, never throw, never read
// outside the given view, and bound every length read from input by the input's size and by the
// constants below. Thread-safety: as Context (one thread per Context); scan_hdf5 serialises its
// calls into the (non-thread-safe) HDF5 library internally.
#pragma once

#include <cstdint>
#include <string_view>

#include "scan/scan.hpp"

namespace hubgate::scan {

// safetensors: the reference library's header cap (100 MB); the Hub's JS parser stops at 25 MB,
// so headers between the two are reported as suspicious (some readers cannot open them).
inline constexpr std::uint64_t kSafetensorsMaxHeader = 100'000'000;
inline constexpr std::uint64_t kSafetensorsHubHeader = 25'000'000;

// GGUF: most dimensions a tensor may have (ggml's GGML_MAX_DIMS), deepest nested array, and the
// most tensors / KVs one file may declare (counts are also bounded by the bytes left).
inline constexpr std::uint32_t kGgufMaxDims = 4;
inline constexpr int kGgufMaxArrayDepth = 4;
inline constexpr std::uint64_t kGgufMaxTensors = 1'000'000;
inline constexpr std::uint64_t kGgufMaxKvs = 1'000'000;

// ONNX: deepest nesting of graphs (If/Loop/Scan bodies, functions, training graphs).
inline constexpr int kOnnxMaxGraphDepth = 32;

// Compressed streams are decompressed into memory for the nested scan; more than this in one
// stream is reported (container.limit) and not scanned.
inline constexpr std::uint64_t kMaxInMemoryExpansion = 4ull << 30;

// `model.safetensors.index.json` (sharded checkpoints): every shard name in `weight_map` must be
// a plain relative file name: no `..`, no leading `/` or `\`, no drive letter, no URL scheme.
void scan_safetensors_index(Context& ctx, ByteView json_text);

// A file detect() classed as text, judged by its name (the current member, or the report's file
// at top level): `*.safetensors.index.json` (shard paths), `*tokenizer_config.json`
// (`chat_template`), `*.jinja` (a chat template). Other text is not judged. Called by dispatch.
void scan_text(Context& ctx, ByteView data);

// A Jinja2 chat template (GGUF `tokenizer.chat_template*`, tokenizer_config.json
// `chat_template`): flags template-injection shapes that reach Python internals
// (CVE-2024-34359). `subject` names the field in findings.
void check_chat_template(Context& ctx, std::string_view tmpl, std::string_view subject);

// A Keras model config already parsed from JSON text (config.json of .keras, `model_config` /
// `training_config` of .h5): module allowlist, Lambda and other code-carrying layers,
// registered-name tricks. `where` names the source in findings ("config.json",
// "model_config").
void scan_keras_config_text(Context& ctx, std::string_view json_text, std::string_view where);

}  // namespace hubgate::scan
