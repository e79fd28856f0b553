// Relaxed ZIP reader (see zip_reader.hpp).
//
// Algorithm: search the last 64 KiB + 22 bytes for the EOCD signature (the last one that parses);
// follow the ZIP64 locator when a field is saturated; compute the prepended-bytes shift as
// Python's zipfile does (eocd_pos - cd_size - cd_offset); parse the central directory entries,
// applying ZIP64 extra fields; then parse each entry's local header to find its data. Finally
// walk local headers from offset 0 (and after each member's data) to list members that the
// central directory does not mention. Nothing is decompressed here.
#include "scan/zip_reader.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include "util/byte_reader.hpp"

namespace hubgate::scan::zip {
namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEocdSig = 0x06054b50;
constexpr std::uint32_t kZip64EocdSig = 0x06064b50;
constexpr std::uint32_t kZip64LocSig = 0x07064b50;

std::uint32_t u32_at(ByteView d, std::size_t off) {
  std::uint32_t v;
  std::memcpy(&v, d.data() + off, 4);
  return v;
}

struct Eocd {
  std::uint64_t pos = 0;
  std::uint64_t cd_offset = 0;
  std::uint64_t cd_size = 0;
  std::uint64_t count = 0;
};

std::optional<Eocd> find_eocd(ByteView d) {
  if (d.size() < 22) return std::nullopt;
  std::size_t lo = d.size() > 65557 ? d.size() - 65557 : 0;
  for (std::size_t p = d.size() - 22 + 1; p-- > lo;) {
    if (u32_at(d, p) != kEocdSig) continue;
    ByteReader r(d.subspan(p), "zip eocd");
    (void)r.skip(4);
    auto disk = r.u16le(), cd_disk = r.u16le(), n_here = r.u16le(), n_total = r.u16le();
    auto cd_size = r.u32le(), cd_off = r.u32le();
    auto comment = r.u16le();
    if (!comment || !disk) continue;
    (void)cd_disk;
    (void)n_here;
    Eocd e{p, *cd_off, *cd_size, *n_total};
    // A ZIP64 locator right before the EOCD (PyTorch always writes one): its record holds the
    // authoritative values, and the prepended-bytes shift is measured from it.
    if (p >= 20 && u32_at(d, p - 20) == kZip64LocSig) {
      // Like Python's zipfile, expect the record right before the locator (its stored offset
      // would be wrong when bytes are prepended).
      std::optional<std::uint64_t> z;
      if (p >= 76) z = p - 76;
      if (z && u32_at(d, *z) == kZip64EocdSig) {
        ByteReader r64(d.subspan(*z), "zip64 eocd");
        (void)r64.skip(24);
        auto n = r64.u64le();
        (void)r64.u64le();
        auto sz = r64.u64le(), off = r64.u64le();
        if (n && sz && off) {
          e.count = *n;
          e.cd_size = *sz;
          e.cd_offset = *off;
          // The shift is measured from the ZIP64 record, not the classic EOCD.
          e.pos = *z;
        }
      }
    }
    return e;
  }
  return std::nullopt;
}

// Parse the local header at `off`; fills name and data offset. False if none there.
bool parse_local(ByteView d, std::uint64_t off, Entry& e, std::uint64_t* sizes_c = nullptr,
                 std::uint64_t* sizes_u = nullptr, std::uint16_t* flags = nullptr, std::uint16_t* method = nullptr,
                 std::uint32_t* crc = nullptr) {
  if (off > d.size() || d.size() - off < 30 || u32_at(d, off) != kLocalSig) return false;
  ByteReader r(d.subspan(off), "zip local header");
  (void)r.skip(6);
  auto fl = r.u16le(), m = r.u16le();
  (void)r.skip(4);
  auto c = r.u32le(), cs = r.u32le(), us = r.u32le();
  auto nl = r.u16le(), xl = r.u16le();
  if (!xl) return false;
  auto name = r.bytes(*nl);
  if (!name) return false;
  auto extra = r.bytes(*xl);
  if (!extra) return false;
  e.local_name = std::string(as_chars(*name));
  e.data_offset = off + 30 + *nl + *xl;
  std::uint64_t csz = *cs, usz = *us;
  // ZIP64 extra in the local header: uncompressed then compressed.
  ByteReader x(*extra, "zip local extra");
  while (x.remaining() >= 4) {
    auto id = x.u16le(), len = x.u16le();
    auto body = x.bytes(*len);
    if (!body) break;
    if (*id == 1) {
      ByteReader b(*body, "zip64 local");
      if (usz == 0xFFFFFFFF) {
        if (auto v = b.u64le()) usz = *v;
      }
      if (csz == 0xFFFFFFFF) {
        if (auto v = b.u64le()) csz = *v;
      }
    }
  }
  if (sizes_c) *sizes_c = csz;
  if (sizes_u) *sizes_u = usz;
  if (flags) *flags = *fl;
  if (method) *method = *m;
  if (crc) *crc = *c;
  return true;
}

}  // namespace

Listing read_zip(ByteView d, std::uint64_t max_entries) {
  Listing out;
  std::set<std::uint64_t> known_headers;
  auto eocd = find_eocd(d);
  std::uint64_t shift = 0;
  if (eocd) {
    out.has_central = true;
    if (eocd->cd_offset + eocd->cd_size <= eocd->pos) shift = eocd->pos - eocd->cd_size - eocd->cd_offset;
    if (shift > 0) {
      out.notes.push_back({Severity::suspicious, "zip.prefixed", "",
                           std::to_string(shift) + " bytes precede the archive (another format glued in front)", 0});
    }
    std::uint64_t p = eocd->cd_offset + shift;
    for (std::uint64_t i = 0; i < eocd->count && i < max_entries; ++i) {
      if (p > d.size() || d.size() - p < 46 || u32_at(d, p) != kCentralSig) {
        out.notes.push_back({Severity::suspicious, "zip.malformed", "",
                             "central directory entry " + std::to_string(i) + " is missing or truncated", p});
        break;
      }
      ByteReader r(d.subspan(p), "zip central entry");
      (void)r.skip(8);
      auto flags = r.u16le(), method = r.u16le();
      (void)r.skip(4);
      auto crc = r.u32le(), cs = r.u32le(), us = r.u32le();
      auto nl = r.u16le(), xl = r.u16le(), cl = r.u16le();
      (void)r.skip(8);
      auto lh = r.u32le();
      if (!lh) break;
      auto name = r.bytes(*nl);
      auto extra = name ? r.bytes(*xl) : decltype(name)(std::unexpected(name.error()));
      if (!name || !extra || !r.skip(*cl)) {
        out.notes.push_back({Severity::suspicious, "zip.malformed", "", "central directory entry " +
                             std::to_string(i) + " runs past the end", p});
        break;
      }
      Entry e;
      e.name = std::string(as_chars(*name));
      e.flags = *flags;
      e.method = *method;
      e.crc = *crc;
      e.compressed = *cs;
      e.uncompressed = *us;
      e.header_offset = *lh;
      ByteReader x(*extra, "zip64 extra");
      while (x.remaining() >= 4) {
        auto id = x.u16le(), len = x.u16le();
        auto body = x.bytes(*len);
        if (!body) break;
        if (*id == 1) {
          ByteReader b(*body, "zip64");
          if (e.uncompressed == 0xFFFFFFFF) {
            if (auto v = b.u64le()) e.uncompressed = *v;
          }
          if (e.compressed == 0xFFFFFFFF) {
            if (auto v = b.u64le()) e.compressed = *v;
          }
          if (e.header_offset == 0xFFFFFFFF) {
            if (auto v = b.u64le()) e.header_offset = *v;
          }
        }
      }
      e.header_offset += shift;
      p += 46 + *nl + *xl + *cl;
      std::uint64_t lcs = 0, lus = 0;
      std::uint16_t lflags = 0, lmethod = 0;
      if (!parse_local(d, e.header_offset, e, &lcs, &lus, &lflags, &lmethod)) {
        e.local_ok = false;
        out.notes.push_back({Severity::suspicious, "zip.bad-local-header", e.name,
                             "no local header where the central directory says member '" + e.name + "' starts",
                             e.header_offset});
      } else {
        e.local_method = lmethod;
        // Sizes deferred to a data descriptor (flag 0x8, zeros in the header) are not a claim.
        bool deferred = (lflags & 0x8) != 0 && lcs == 0;
        e.local_compressed = deferred ? e.compressed : lcs;
        if (e.local_name != e.name) {
          e.views_differ = true;
          out.notes.push_back({Severity::suspicious, "zip.name-mismatch", e.name,
                               "local header names the member '" + e.local_name + "' but the central directory says '" +
                                   e.name + "' (loaders disagree on which name counts; both are scanned)",
                               e.header_offset});
        }
        if (lmethod != e.method || e.local_compressed != e.compressed) {
          e.views_differ = true;
          out.notes.push_back({Severity::suspicious, "zip.header-mismatch", e.name,
                               "member '" + e.name + "': the local header says method " + std::to_string(lmethod) +
                                   ", " + std::to_string(e.local_compressed) + " bytes; the central directory says method " +
                                   std::to_string(e.method) + ", " + std::to_string(e.compressed) +
                                   " bytes (streaming and central-directory readers read different bytes; both are scanned)",
                               e.header_offset});
        }
      }
      known_headers.insert(e.header_offset);
      out.entries.push_back(std::move(e));
    }
    if (eocd->count > max_entries) {
      out.notes.push_back({Severity::suspicious, "container.limit", "", "zip declares " +
                           std::to_string(eocd->count) + " members; only the first " + std::to_string(max_entries) +
                           " were read", eocd->pos});
    }
  } else {
    out.notes.push_back({Severity::suspicious, "zip.no-central-directory", "",
                         "no end-of-central-directory record: members found from local headers only", 0});
  }

  // Walk local headers for members the central directory does not list.
  std::uint64_t p = 0;
  std::size_t walked = 0;
  while (p + 30 <= d.size() && walked < max_entries) {
    if (u32_at(d, p) != kLocalSig) break;
    ++walked;
    Entry e;
    std::uint64_t cs = 0, us = 0;
    if (!parse_local(d, p, e, &cs, &us, &e.flags, &e.method, &e.crc)) break;
    bool descriptor = (e.flags & 0x8) != 0;
    std::uint64_t next = 0;
    if (!known_headers.contains(p)) {
      e.name = e.local_name;
      e.in_central = false;
      e.header_offset = p;
      e.compressed = cs;
      e.uncompressed = us;
      if (descriptor && cs == 0) {
        // Size unknown from the local header: the data runs up to the next signature.
        const std::uint8_t sig[] = {'P', 'K'};
        std::uint64_t q = e.data_offset;
        e.compressed = d.size() - std::min<std::uint64_t>(q, d.size());
        while (q + 4 <= d.size()) {
          auto it = std::search(d.begin() + static_cast<long>(q), d.end(), sig, sig + 2);
          if (it == d.end()) break;
          q = static_cast<std::uint64_t>(it - d.begin());
          if (q + 4 <= d.size()) {
            std::uint32_t s = u32_at(d, q);
            if (s == kLocalSig || s == kCentralSig || s == 0x08074b50) {
              e.compressed = q - e.data_offset;
              break;
            }
          }
          ++q;
        }
      }
      if (eocd) {
        out.notes.push_back({Severity::suspicious, "zip.hidden-member", e.name,
                             "member '" + e.name + "' has a local header but is not in the central directory", p});
      }
      out.entries.push_back(e);
      next = e.data_offset + e.compressed;
    } else {
      // Step over its data like a streaming reader: by the local header's size when it states
      // one, else by the central directory's.
      auto it = std::find_if(out.entries.begin(), out.entries.end(),
                             [&](const Entry& x) { return x.header_offset == p; });
      bool stated = !(descriptor && cs == 0);
      next = e.data_offset + (stated || it == out.entries.end() ? cs : it->compressed);
    }
    if (next > d.size() || next <= p) break;
    if (descriptor && next + 4 <= d.size() && u32_at(d, next) == 0x08074b50) next += 16;
    else if (descriptor && next + 12 <= d.size() && u32_at(d, next) != kLocalSig) next += 12;
    p = next;
  }
  return out;
}

std::vector<std::string> member_names(ByteView d, std::size_t max) {
  std::vector<std::string> names;
  auto eocd = find_eocd(d);
  if (eocd) {
    std::uint64_t shift = 0;
    if (eocd->cd_offset + eocd->cd_size <= eocd->pos) shift = eocd->pos - eocd->cd_size - eocd->cd_offset;
    std::uint64_t p = eocd->cd_offset + shift;
    for (std::uint64_t i = 0; i < eocd->count && names.size() < max; ++i) {
      if (p > d.size() || d.size() - p < 46 || u32_at(d, p) != kCentralSig) break;
      ByteReader r(d.subspan(p), "zip central entry");
      (void)r.skip(28);
      auto nl = r.u16le(), xl = r.u16le(), cl = r.u16le();
      (void)r.skip(12);
      auto name = nl ? r.bytes(*nl) : decltype(r.bytes(0))(std::unexpected(Error()));
      if (!name || !cl) break;
      names.emplace_back(as_chars(*name));
      p += 46 + *nl + *xl + *cl;
    }
  }
  if (names.empty()) {
    // No usable central directory: walk the local headers.
    std::uint64_t p = 0;
    while (p + 30 <= d.size() && names.size() < max) {
      Entry e;
      std::uint64_t cs = 0;
      if (!parse_local(d, p, e, &cs)) break;
      names.push_back(e.local_name);
      if (cs == 0) break;
      p = e.data_offset + cs;
    }
  }
  return names;
}

}  // namespace hubgate::scan::zip
