// Early verdicts from part of a file (see partial.hpp).
//
// Prefixes: the prefix is scanned as if it were the file; findings of the rules that do not
// depend on what follows (a global named, a call through a computed callable, a global mutated)
// count when they lie before the offset of a `pickle.frame-divergence` finding (from there on,
// the cut may make the readings part where the whole file's do not).
// Zips: a memfd of the file's size (holes cost nothing) receives the prefix, the tail, the
// central directory when it lies before the tail, and the members that decide; the zip scanner
// then runs on that view. Members whose local header is a hole are skipped by the scanner, so
// only the members read are judged, byte for byte as in the whole file.
#include "scan/partial.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "scan/zip_reader.hpp"

namespace hubgate::scan {
namespace {

bool counts_early(const Finding& f) {
  return f.severity == Severity::dangerous &&
         (f.rule == "pickle.dangerous-global" || f.rule == "pickle.indirect-call" || f.rule == "pickle.mutates-global");
}

PartialVerdict dangerous_only(Report&& r, const std::function<bool(const Finding&)>& counts) {
  PartialVerdict out;
  std::vector<Finding> kept;
  for (auto& f : r.findings)
    if (counts(f)) kept.push_back(std::move(f));
  if (kept.empty()) return out;
  out.state = PartialState::dangerous;
  out.report = std::move(r);
  out.report.findings = std::move(kept);
  out.report.error.reset();
  return out;
}

PartialVerdict scan_pickle_prefix(ByteView prefix, std::uint64_t size, bool last, std::string file, Limits limits) {
  Report r = scan_bytes(prefix, std::move(file), limits);
  std::uint64_t parts_at = UINT64_MAX;
  for (const auto& f : r.findings)
    if (f.rule == "pickle.frame-divergence" && f.offset) parts_at = std::min(parts_at, *f.offset);
  auto v = dangerous_only(std::move(r), [&](const Finding& f) {
    return counts_early(f) && f.member.empty() && f.offset && *f.offset < parts_at;
  });
  if (v.state == PartialState::clear && !last && prefix.size() < size) v.state = PartialState::need_more;
  return v;
}

std::uint32_t u32_at(const std::string& d, std::size_t off) {
  std::uint32_t v;
  std::memcpy(&v, d.data() + off, 4);
  return v;
}
std::uint64_t u64_at(const std::string& d, std::size_t off) {
  std::uint64_t v;
  std::memcpy(&v, d.data() + off, 8);
  return v;
}

// The central directory's [offset, offset + size) from the end of the archive (EOCD, ZIP64).
std::optional<std::pair<std::uint64_t, std::uint64_t>> directory_span(const std::string& tail) {
  if (tail.size() < 22) return std::nullopt;
  std::size_t lo = tail.size() > 65557 ? tail.size() - 65557 : 0;
  for (std::size_t p = tail.size() - 22 + 1; p-- > lo;) {
    if (u32_at(tail, p) != 0x06054b50) continue;
    std::uint64_t cd_size = u32_at(tail, p + 12), cd_off = u32_at(tail, p + 16);
    if (p >= 76 && u32_at(tail, p - 20) == 0x07064b50 && u32_at(tail, p - 76) == 0x06064b50) {
      cd_size = u64_at(tail, p - 76 + 40);
      cd_off = u64_at(tail, p - 76 + 48);
    }
    return std::pair{cd_off, cd_size};
  }
  return std::nullopt;
}

class SparseFile {
 public:
  static std::optional<SparseFile> create(std::uint64_t size) {
    int fd = ::memfd_create("hubgate-partial", MFD_CLOEXEC);
    if (fd < 0) return std::nullopt;
    SparseFile f;
    f.fd_ = fd;
    f.size_ = size;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) return std::nullopt;
    return f;
  }
  SparseFile(SparseFile&& o) noexcept : fd_(std::exchange(o.fd_, -1)), size_(o.size_) {}
  SparseFile& operator=(SparseFile&&) = delete;
  ~SparseFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool write(std::uint64_t at, ByteView b) {
    std::size_t done = 0;
    while (done < b.size()) {
      ssize_t n = ::pwrite(fd_, b.data() + done, b.size() - done, static_cast<off_t>(at + done));
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Scans the view (mapped read-only for the duration of `fn`).
  template <class Fn>
  bool with_view(Fn&& fn) const {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return false;
    fn(ByteView(static_cast<const std::uint8_t*>(p), size_));
    ::munmap(p, size_);
    return true;
  }

 private:
  SparseFile() = default;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

PartialVerdict scan_zip_by_ranges(ByteView prefix, std::uint64_t size, const RangeReader& read, std::string file,
                                  Limits limits, PartialLimits pl) {
  PartialVerdict clear;
  if (!read || size == 0) return clear;
  auto sparse = SparseFile::create(size);
  if (!sparse || !sparse->write(0, prefix)) return clear;
  // Byte ranges present in the view: the prefix, then whatever is read.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> have{{0, prefix.size()}};
  auto present = [&](std::uint64_t a, std::uint64_t b) {
    for (const auto& [x, y] : have)
      if (x <= a && b <= y) return true;
    return false;
  };
  std::uint64_t budget = pl.max_total;
  auto fetch = [&](std::uint64_t a, std::uint64_t b) -> bool {
    if (present(a, b)) return true;
    if (b - a > budget) return false;
    auto got = read(a, b - a);
    if (!got || got->size() != b - a) return false;
    budget -= b - a;
    if (!sparse->write(a, ByteView(reinterpret_cast<const std::uint8_t*>(got->data()), got->size()))) return false;
    have.emplace_back(a, b);
    return true;
  };
  const std::uint64_t tail_len = std::min(size, pl.tail_bytes);
  auto tail = read(size - tail_len, tail_len);
  if (!tail || tail->size() != tail_len) return clear;
  budget -= std::min(budget, tail_len);
  if (!sparse->write(size - tail_len, ByteView(reinterpret_cast<const std::uint8_t*>(tail->data()), tail->size())))
    return clear;
  have.emplace_back(size - tail_len, size);
  auto cd = directory_span(*tail);
  if (!cd || cd->second > pl.max_directory || cd->first > size || cd->second > size - cd->first) return clear;
  if (!fetch(cd->first, cd->first + cd->second)) return clear;

  // The members that decide: everything but tensor storages and folders, whole.
  std::vector<std::string> judged;
  bool listed = sparse->with_view([&](ByteView view) {
    zip::Listing listing = zip::read_zip(view, limits.max_entries);
    for (const auto& e : listing.entries) {
      if (!e.in_central || zip::is_storage_name(e.name) || (e.name.ends_with("/") && e.compressed == 0)) continue;
      if (e.compressed > pl.max_member || e.header_offset >= size) continue;
      // Local header (30 bytes, name and extra field of up to 64 KiB each), then the data.
      std::uint64_t end = std::min(size, e.header_offset + 30 + 0x10000 + 0x10000 + e.compressed);
      if (fetch(e.header_offset, end)) judged.push_back(e.name);
    }
  });
  if (!listed || judged.empty()) return clear;
  PartialVerdict out;
  sparse->with_view([&](ByteView view) {
    Report r = scan_bytes(view, std::move(file), limits);
    out = dangerous_only(std::move(r), [&](const Finding& f) {
      if (f.severity != Severity::dangerous || f.member.empty()) return false;
      for (const auto& n : judged)
        if (f.member == n || f.member.starts_with(n + "/")) return true;
      return false;
    });
  });
  return out;
}

}  // namespace

PartialVerdict scan_partial(ByteView prefix, std::uint64_t size, bool last, const RangeReader& read, std::string file,
                            Limits limits, PartialLimits partial) {
  PartialVerdict out;
  if (prefix.size() < 16 && prefix.size() < size && !last) {
    out.state = PartialState::need_more;
    return out;
  }
  if (prefix.size() >= 4 && std::memcmp(prefix.data(), "PK\x03\x04", 4) == 0)
    return scan_zip_by_ranges(prefix, size, read, std::move(file), limits, partial);
  switch (detect(prefix)) {
    case Format::pickle:
    case Format::pytorch_legacy:
    case Format::joblib:
      return scan_pickle_prefix(prefix, size, last, std::move(file), limits);
    default:
      return out;
  }
}

}  // namespace hubgate::scan
