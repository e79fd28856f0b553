// scan_zip: every zip-based artifact (generic zip, PyTorch, TorchScript, npz, .keras).
//
// Members come from the relaxed reader (zip_reader.hpp), so flag bits, CRCs and name mismatches
// do not hide anything; the reader's observations become findings. Each member's bytes (stored:
// a view of the input; deflate: inflated with the scan's expansion limits; other methods: a
// finding) are then scanned the way a loader would reach them:
//  - any member whose bytes look like a pickle, or whose name ends in .pkl, is scanned as a pickle
//    (torch unpickles data.pkl / constants.pkl whatever they contain);
//  - PyTorch storage members (`…/data/<n>`) are raw tensor bytes: only a speculative pickle check;
//  - a .keras config.json goes to scan_keras_config; everything else is detected and dispatched.
// CRCs are checked for the members that are scanned (not for tensor storages, to keep big
// checkpoints fast); a mismatch is suspicious (PyTorch ignores CRCs; strict tools refuse).
// Members whose local header disagrees with the central directory (name, method, size) are
// scanned under both views, so the verdict covers every reader.
#include <zlib.h>

#include <algorithm>

#include "scan/internal.hpp"
#include "scan/pickle_vm.hpp"
#include "scan/zip_reader.hpp"

namespace hubgate::scan {

bool zip::is_storage_name(std::string_view n) {
  // <archive>/data/<digits> (torch.save) or <archive>/constants/<digits>, or serialization ids.
  auto slash = n.rfind('/');
  std::string_view base = slash == std::string_view::npos ? n : n.substr(slash + 1);
  std::string_view dir = slash == std::string_view::npos ? std::string_view{} : n.substr(0, slash);
  if (base.empty()) return false;
  bool digits = std::all_of(base.begin(), base.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && (dir.ends_with("data") || dir.ends_with("constants"))) return true;
  return false;
}

namespace {

std::uint32_t crc_of(ByteView b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t pos = 0;
  while (pos < b.size()) {
    std::size_t n = std::min<std::size_t>(b.size() - pos, 1u << 30);
    crc = crc32(crc, b.data() + pos, static_cast<uInt>(n));
    pos += n;
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

void scan_zip(Context& ctx, ByteView data) {
  zip::Listing listing = zip::read_zip(data, ctx.limits().max_entries);
  for (const auto& n : listing.notes) ctx.add(n.severity, n.rule, n.subject, n.message, n.offset);
  bool keras = false;
  for (const auto& e : listing.entries)
    if (e.name == "config.json") keras = true;
  bool encrypted_reported = false;
  // Where the local header and the central directory disagree, the member is scanned once per
  // view (central first, then the local header's name, method and size).
  std::vector<zip::Entry> views;
  views.reserve(listing.entries.size());
  for (const auto& e : listing.entries) {
    views.push_back(e);
    if (e.local_ok && e.views_differ) {
      zip::Entry local = e;
      local.name = e.local_name;
      local.method = e.local_method;
      local.compressed = e.local_compressed;
      views.push_back(std::move(local));
    }
  }
  for (const auto& e : views) {
    if (!e.local_ok) continue;
    if (e.name.ends_with("/") && e.compressed == 0) continue;  // directory
    if ((e.flags & 0x1) && !encrypted_reported) {
      encrypted_reported = true;
      ctx.add(Severity::suspicious, "zip.encrypted-flag", e.name,
              "member '" + e.name + "' has the 'encrypted' flag bit set; PyTorch ignores it and reads the member "
              "as plain data (strict zip readers refuse the archive)", e.header_offset);
    }
    if (e.data_offset > data.size()) continue;
    std::uint64_t avail = data.size() - e.data_offset;
    std::uint64_t csize = e.compressed;
    if (csize > avail) {
      ctx.add(Severity::suspicious, "zip.truncated", e.name,
              "member '" + e.name + "' declares " + std::to_string(csize) + " bytes but only " +
                  std::to_string(avail) + " remain", e.header_offset);
      csize = avail;
    }
    ByteView raw = data.subspan(e.data_offset, csize);
    bool cut = false;  // inflation stopped at the expansion limit: `bytes` is a prefix
    std::vector<std::uint8_t> inflated;
    ByteView bytes;
    if (e.method == 0) {
      bytes = raw;
    } else if (e.method == 8) {
      std::uint64_t cap = std::min<std::uint64_t>(
          ctx.limits().max_expanded_bytes,
          static_cast<std::uint64_t>(ctx.limits().max_expansion_ratio * static_cast<double>(csize)) + 4096);
      auto out = decompress(raw, Codec::deflate_raw, cap);
      if (!out) {
        ctx.add(Severity::suspicious, "zip.malformed", e.name, "member '" + e.name + "': " + out.error().message,
                e.header_offset);
        continue;
      }
      if (!ctx.charge_expansion(csize, out->truncated ? cap + 1 : out->bytes.size())) {
        if (!out->truncated) continue;  // total budget exhausted
      }
      inflated = std::move(out->bytes);
      bytes = inflated;
      cut = out->truncated;
    } else {
      ctx.add(Severity::suspicious, "zip.unsupported-method", e.name,
              "member '" + e.name + "' uses compression method " + std::to_string(e.method) + "; not scanned",
              e.header_offset);
      continue;
    }
    PrefixScope prefix_scope(cut);
    bool storage = zip::is_storage_name(e.name);
    if (storage) {
      if (pickle::looks_like_pickle(bytes)) {
        PickleScanOptions opt;
        opt.speculative = true;
        ctx.in_member(e.name, [&] { scan_pickles(ctx, bytes, opt); });
      }
      continue;
    }
    if (!cut && (e.method == 0 || !inflated.empty())) {
      if (crc_of(bytes) != e.crc && !(e.flags & 0x8 && e.crc == 0)) {
        ctx.add(Severity::suspicious, "zip.crc-mismatch", e.name,
                "member '" + e.name + "' fails its CRC-32 (PyTorch does not check it; strict readers refuse)",
                e.header_offset);
      }
    }
    if (keras && e.name == "config.json") {
      ctx.in_member(e.name, [&] { scan_keras_config(ctx, bytes); });
      continue;
    }
    if (e.name.ends_with(".pkl") || pickle::looks_like_pickle(bytes)) {
      Format f = detect(bytes, e.name);
      if (f == Format::joblib || f == Format::pytorch_legacy) {
        ctx.scan_nested_as(bytes, e.name, f);
      } else {
        ctx.scan_nested_as(bytes, e.name, Format::pickle);
      }
      continue;
    }
    ctx.scan_nested(bytes, e.name);
  }
}

}  // namespace hubgate::scan
