#include "helpers.hpp"

#include <cstdio>
#include <cstring>

#include "util/byte_reader.hpp"

namespace hubgate::scan::test {

Report run(const ScanFn& fn, std::string_view bytes, std::string file) {
  Report r;
  r.file = std::move(file);
  Context ctx(r);
  fn(ctx, as_bytes(bytes));
  return r;
}

bool has(const Report& r, std::string_view rule) { return find(r, rule) != nullptr; }

int count(const Report& r, std::string_view rule) {
  int n = 0;
  for (const auto& f : r.findings) n += f.rule == rule;
  return n;
}

const Finding* find(const Report& r, std::string_view rule) {
  for (const auto& f : r.findings) {
    if (f.rule == rule) return &f;
  }
  return nullptr;
}

std::string dump(const Report& r) {
  std::string out;
  for (const auto& f : r.findings) {
    out += std::string(severity_name(f.severity)) + " " + f.rule + " [" + f.member + "] " + f.message + "\n";
  }
  return out.empty() ? "(no findings)" : out;
}

std::string safetensors(std::string_view header, std::string_view data) {
  std::string out;
  put_le<std::uint64_t>(out, header.size());
  out += header;
  out += data;
  return out;
}

namespace {
void gstr(std::string& o, std::string_view s, bool v1 = false) {
  if (v1) put_le<std::uint32_t>(o, static_cast<std::uint32_t>(s.size()));
  else put_le<std::uint64_t>(o, s.size());
  o += s;
}
}  // namespace

Gguf& Gguf::kv_u32(std::string_view k, std::uint32_t v) {
  std::string raw;
  put_le<std::uint32_t>(raw, v);
  return kv_raw(k, 4, raw);
}
Gguf& Gguf::kv_str(std::string_view k, std::string_view v) {
  std::string raw;
  gstr(raw, v, version_ == 1);
  return kv_raw(k, 8, raw);
}
Gguf& Gguf::kv_str_array(std::string_view k, const std::vector<std::string>& v) {
  std::string raw;
  put_le<std::uint32_t>(raw, 8);
  put_le<std::uint64_t>(raw, v.size());
  for (const auto& s : v) gstr(raw, s);
  return kv_raw(k, 9, raw);
}
Gguf& Gguf::kv_f32_array(std::string_view k, std::size_t n) {
  std::string raw;
  put_le<std::uint32_t>(raw, 6);
  put_le<std::uint64_t>(raw, n);
  raw.append(n * 4, '\0');
  return kv_raw(k, 9, raw);
}
Gguf& Gguf::kv_i32_array(std::string_view k, std::size_t n) {
  std::string raw;
  put_le<std::uint32_t>(raw, 5);
  put_le<std::uint64_t>(raw, n);
  raw.append(n * 4, '\1');
  return kv_raw(k, 9, raw);
}
Gguf& Gguf::kv_raw(std::string_view k, std::uint32_t type, std::string_view raw) {
  gstr(kvs_, k, version_ == 1);
  put_le<std::uint32_t>(kvs_, type);
  kvs_ += raw;
  ++n_kv_;
  return *this;
}
Gguf& Gguf::tensor(std::string_view name, std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset) {
  gstr(infos_, name, version_ == 1);
  put_le<std::uint32_t>(infos_, static_cast<std::uint32_t>(dims.size()));
  for (auto d : dims) {
    if (version_ == 1) put_le<std::uint32_t>(infos_, static_cast<std::uint32_t>(d));
    else put_le<std::uint64_t>(infos_, d);
  }
  put_le<std::uint32_t>(infos_, type);
  put_le<std::uint64_t>(infos_, offset);
  ++n_tensors_;
  return *this;
}
std::string Gguf::build(std::string_view data, std::uint64_t alignment) const {
  std::string o = "GGUF";
  put_le<std::uint32_t>(o, version_);
  if (version_ == 1) {
    put_le<std::uint32_t>(o, static_cast<std::uint32_t>(n_tensors_));
    put_le<std::uint32_t>(o, static_cast<std::uint32_t>(n_kv_));
  } else {
    put_le<std::uint64_t>(o, n_tensors_);
    put_le<std::uint64_t>(o, n_kv_);
  }
  o += kvs_;
  o += infos_;
  while (o.size() % alignment) o += '\0';
  o += data;
  return o;
}

std::string pb_varint(std::uint64_t v) {
  std::string o;
  while (v >= 0x80) {
    o += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  o += static_cast<char>(v);
  return o;
}
std::string pb_len(std::uint32_t field, std::string_view bytes) {
  return pb_varint((static_cast<std::uint64_t>(field) << 3) | 2) + pb_varint(bytes.size()) + std::string(bytes);
}
std::string pb_int(std::uint32_t field, std::uint64_t v) {
  return pb_varint(static_cast<std::uint64_t>(field) << 3) + pb_varint(v);
}

std::string tar_entry(std::string_view name, std::string_view content, char type, std::string_view link,
                      std::uint32_t mode) {
  char h[512] = {0};
  std::memcpy(h, name.data(), std::min<std::size_t>(name.size(), 100));
  std::snprintf(h + 100, 8, "%07o", mode);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011o", static_cast<unsigned>(content.size()));
  std::snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  std::memcpy(h + 157, link.data(), std::min<std::size_t>(link.size(), 100));
  std::memcpy(h + 257, "ustar\0" "00", 8);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  std::string out(h, 512);
  out += content;
  out.append((512 - content.size() % 512) % 512, '\0');
  return out;
}
std::string tar_end() { return std::string(1024, '\0'); }

}  // namespace hubgate::scan::test
