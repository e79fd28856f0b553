// Scanning framework: severity/format names, the Context that container scanners recurse
// through, and the dispatch from detected format to per-format scanner.
#include "scan/scan.hpp"

#include <algorithm>

#include "scan/formats.hpp"
#include "util/mapped_file.hpp"

namespace hubgate::scan {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::safe: return "safe";
    case Severity::suspicious: return "suspicious";
    case Severity::dangerous: return "dangerous";
  }
  return "unknown";
}

const char* format_name(Format f) {
  switch (f) {
    case Format::unknown: return "unknown";
    case Format::pickle: return "pickle";
    case Format::pytorch_zip: return "pytorch-zip";
    case Format::pytorch_legacy: return "pytorch-legacy";
    case Format::torchscript: return "torchscript";
    case Format::numpy_npy: return "npy";
    case Format::numpy_npz: return "npz";
    case Format::joblib: return "joblib";
    case Format::keras_v3: return "keras";
    case Format::hdf5: return "hdf5";
    case Format::onnx: return "onnx";
    case Format::gguf: return "gguf";
    case Format::safetensors: return "safetensors";
    case Format::zip: return "zip";
    case Format::tar: return "tar";
    case Format::gzip: return "gzip";
    case Format::bzip2: return "bzip2";
    case Format::xz: return "xz";
    case Format::zstd: return "zstd";
    case Format::lz4: return "lz4";
    case Format::text: return "text";
    case Format::executable: return "executable";
  }
  return "unknown";
}

Severity Report::verdict() const {
  Severity worst = Severity::safe;
  for (const auto& f : findings) worst = std::max(worst, f.severity);
  return worst;
}

void Context::add(Severity s, std::string rule, std::string subject, std::string message,
                  std::optional<std::uint64_t> offset) {
  report_.findings.push_back(Finding{s, std::move(rule), report_.file, member_, offset,
                                     std::move(subject), std::move(message)});
}

bool Context::charge_expansion(std::uint64_t compressed, std::uint64_t expanded) {
  expanded_ += expanded;
  if (expanded_ > limits_.max_expanded_bytes) {
    add(Severity::suspicious, "container.limit", "", "decompressed size exceeds the scan limit of " +
        std::to_string(limits_.max_expanded_bytes) + " bytes; the rest was not scanned");
    return false;
  }
  if (compressed > 0 && expanded > 4096 &&
      static_cast<double>(expanded) / static_cast<double>(compressed) > limits_.max_expansion_ratio) {
    add(Severity::suspicious, "container.expansion-ratio", "",
        "member expands " + std::to_string(expanded / compressed) + "x (limit " +
            std::to_string(static_cast<int>(limits_.max_expansion_ratio)) + "x): possible decompression bomb");
    return false;
  }
  return true;
}

namespace {

void dispatch(Context& ctx, ByteView data, Format f) {
  switch (f) {
    case Format::pickle: scan_pickle(ctx, data); break;
    case Format::pytorch_zip:
    case Format::torchscript:
    case Format::numpy_npz:
    case Format::keras_v3:
    case Format::zip: scan_zip(ctx, data); break;
    case Format::pytorch_legacy: scan_torch_legacy(ctx, data); break;
    case Format::numpy_npy: scan_npy(ctx, data); break;
    case Format::joblib: scan_joblib(ctx, data); break;
    case Format::hdf5: scan_hdf5(ctx, data); break;
    case Format::onnx: scan_onnx(ctx, data); break;
    case Format::gguf: scan_gguf(ctx, data); break;
    case Format::safetensors: scan_safetensors(ctx, data); break;
    case Format::tar: scan_tar(ctx, data); break;
    case Format::gzip:
    case Format::bzip2:
    case Format::xz:
    case Format::zstd:
    case Format::lz4: scan_compressed(ctx, data, f); break;
    case Format::executable:
      ctx.add(Severity::dangerous, "file.executable", "", "native executable or script inside a model artifact");
      break;
    case Format::text: scan_text(ctx, data); break;  // formats.hpp: index.json, chat templates
    case Format::unknown: break;
  }
}

}  // namespace

bool Context::in_member(std::string_view member_name, const std::function<void()>& fn) {
  if (++entries_ > limits_.max_entries) {
    if (entries_ == limits_.max_entries + 1) {
      add(Severity::suspicious, "container.limit", "", "more than " + std::to_string(limits_.max_entries) +
          " members; the rest were not scanned");
    }
    return false;
  }
  if (depth_ + 1 > limits_.max_depth) {
    add(Severity::suspicious, "container.limit", std::string(member_name),
        "nesting deeper than " + std::to_string(limits_.max_depth) + " levels; not scanned");
    return false;
  }
  std::string saved = member_;
  member_ = member_.empty() ? std::string(member_name) : member_ + "/" + std::string(member_name);
  ++depth_;
  fn();
  --depth_;
  member_ = std::move(saved);
  return true;
}

void Context::scan_nested(ByteView data, std::string_view member_name) {
  in_member(member_name, [&] { dispatch(*this, data, detect(data, member_name)); });
}

void Context::scan_nested_as(ByteView data, std::string_view member_name, Format f) {
  in_member(member_name, [&] { dispatch(*this, data, f); });
}

void Context::add_import(std::string_view module, std::string_view name, Severity safety) {
  std::string key = std::string(module) + "\n" + std::string(name);
  auto it = import_index_.find(key);
  if (it != import_index_.end()) {
    auto& im = report_.imports[it->second];
    im.safety = std::max(im.safety, safety);
    return;
  }
  if (report_.imports.size() >= 100000) return;  // bounded report on hostile input
  import_index_.emplace(std::move(key), report_.imports.size());
  report_.imports.push_back(ImportSeen{std::string(module), std::string(name), safety});
}

Report scan_file(const std::string& path, Limits limits) {
  auto mapped = MappedFile::open(path);
  if (!mapped) {
    Report r;
    r.file = path;
    r.error = mapped.error();
    return r;
  }
  return scan_bytes(mapped->bytes(), path, limits);
}

Report scan_bytes(ByteView data, std::string file, Limits limits) {
  Report report;
  report.file = std::move(file);
  report.format = detect(data, report.file);
  Context ctx(report, limits);
  dispatch(ctx, data, report.format);
  return report;
}

}  // namespace hubgate::scan
