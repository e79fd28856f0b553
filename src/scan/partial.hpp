// Early verdicts: what the scan of a whole file is bound to report, known from part of it.
//
// A gateway that downloads a file can refuse it before the download ends when the file's
// danger shows early:
//  - pickle streams, legacy torch files and plain joblib files are read by their loaders from
//    the start, so a dangerous global, an indirect call or a mutated global in the first bytes
//    is reported by the whole file's scan too. Only findings before the first point where the
//    prefix could read differently from the whole file count (a FRAME cut by the end of the
//    prefix); a pickle merely cut short is never judged (`pickle.malformed` is not taken).
//  - zip archives (PyTorch checkpoints, TorchScript, npz, .keras) keep their index at the end:
//    the central directory is read by ranges, then every member that is not a tensor storage
//    (data.pkl, constants.pkl, config.json, .npy members …), and those members are scanned
//    exactly as in the whole archive (a sparse view of the file: the members that were not read
//    are holes, which the zip scanner skips). Dangerous findings inside the members read count.
// `dangerous` carries a Report holding only the findings that count (the worst one names the
// rule); `clear` means nothing dangerous shows early (the whole file's scan still decides);
// `need_more` asks for a longer prefix. Thread-safety: pure functions (the reader is called on
// the calling thread).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "scan/scan.hpp"

namespace hubgate::scan {

enum class PartialState { need_more, clear, dangerous };

struct PartialVerdict {
  PartialState state = PartialState::clear;
  Report report;  // when dangerous: the findings that count
};

// Bytes [first, first + length) of the file being judged (e.g. an HTTP Range request).
using RangeReader = std::function<Result<std::string>(std::uint64_t first, std::uint64_t length)>;

// Limits on what an early zip verdict reads by ranges.
struct PartialLimits {
  std::uint64_t tail_bytes = 1u << 20;        // first read at the end (EOCD, usually the directory)
  std::uint64_t max_directory = 64u << 20;    // a larger central directory: no early verdict
  std::uint64_t max_member = 32u << 20;       // larger members are left to the whole scan
  std::uint64_t max_total = 64u << 20;        // bytes read by ranges in all
};

// `prefix`: the first bytes of a file of `size` bytes; `last`: no longer prefix will come (the
// answer is then clear or dangerous). `read` may be empty (no zip verdict).
PartialVerdict scan_partial(ByteView prefix, std::uint64_t size, bool last, const RangeReader& read,
                            std::string file, Limits limits = {}, PartialLimits partial = {});

}  // namespace hubgate::scan
