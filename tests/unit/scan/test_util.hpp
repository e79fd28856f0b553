// Helpers for the scanner's unit tests: scanning strings, querying findings, building zips.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "scan/scan.hpp"
#include "util/byte_reader.hpp"

namespace hubgate::scan::test {

inline Report scan_str(const std::string& bytes) { return scan_bytes(as_bytes(bytes), "t"); }

inline const Finding* find(const Report& r, std::string_view rule, std::string_view subject = {}) {
  for (const auto& f : r.findings)
    if (f.rule == rule && (subject.empty() || f.subject == subject)) return &f;
  return nullptr;
}

inline std::string u16(std::uint16_t v) {
  std::string s;
  put_le(s, v);
  return s;
}
inline std::string u32(std::uint32_t v) {
  std::string s;
  put_le(s, v);
  return s;
}
inline std::string u64(std::uint64_t v) {
  std::string s;
  put_le(s, v);
  return s;
}

struct ZipMember {
  ZipMember(std::string n, std::string d, std::uint16_t f = 0, std::string local = {}, bool central = true,
            bool crc_bad = false, bool defl = false)
      : name(std::move(n)), data(std::move(d)), flags(f), local_name(std::move(local)), in_central(central),
        bad_crc(crc_bad), deflate(defl) {}
  std::string name;
  std::string data;
  std::uint16_t flags = 0;
  std::string local_name;  // empty: same as name
  bool in_central = true;
  bool bad_crc = false;
  bool deflate = false;
  // The central directory's own view, when it must differ from the local header's.
  std::optional<std::uint16_t> central_method;
  std::optional<std::uint32_t> central_size;  // compressed and uncompressed
};

inline std::string deflate_raw(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A small zip writer with knobs for the relaxed-reader edge cases.
inline std::string make_zip(const std::vector<ZipMember>& members, const std::string& prefix = {}) {
  std::string out = prefix, central;
  std::uint16_t count = 0;
  for (const auto& m : members) {
    std::uint32_t crc = static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(m.data.data()),
                                                         static_cast<uInt>(m.data.size())));
    if (m.bad_crc) crc ^= 0xdeadbeef;
    std::string body = m.deflate ? deflate_raw(m.data) : m.data;
    std::uint16_t method = m.deflate ? 8 : 0;
    std::string lname = m.local_name.empty() ? m.name : m.local_name;
    std::uint32_t off = static_cast<std::uint32_t>(out.size() - prefix.size());
    out += u32(0x04034b50) + u16(20) + u16(m.flags) + u16(method) + u32(0) + u32(crc) +
           u32(static_cast<std::uint32_t>(body.size())) + u32(static_cast<std::uint32_t>(m.data.size())) +
           u16(static_cast<std::uint16_t>(lname.size())) + u16(0) + lname + body;
    if (!m.in_central) continue;
    ++count;
    std::uint32_t csize = m.central_size.value_or(static_cast<std::uint32_t>(body.size()));
    std::uint32_t usize = m.central_size.value_or(static_cast<std::uint32_t>(m.data.size()));
    central += u32(0x02014b50) + u16(20) + u16(20) + u16(m.flags) + u16(m.central_method.value_or(method)) + u32(0) +
               u32(crc) + u32(csize) + u32(usize) +
               u16(static_cast<std::uint16_t>(m.name.size())) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) +
               u32(off) + m.name;
  }
  std::uint32_t cd_off = static_cast<std::uint32_t>(out.size() - prefix.size());
  out += central;
  out += u32(0x06054b50) + u16(0) + u16(0) + u16(count) + u16(count) + u32(static_cast<std::uint32_t>(central.size())) +
         u32(cd_off) + u16(0);
  return out;
}

// Hand-built pickle pieces.
inline std::string sbu(const std::string& s) { return "\x8c" + std::string(1, static_cast<char>(s.size())) + s; }
inline std::string glob(const std::string& m, const std::string& n) { return "c" + m + "\n" + n + "\n"; }
inline const std::string kProto2 = std::string("\x80\x02", 2);
inline const std::string kProto4 = std::string("\x80\x04", 2);
inline std::string os_system_call() { return glob("os", "system") + sbu("ls") + "\x85R"; }

}  // namespace hubgate::scan::test
