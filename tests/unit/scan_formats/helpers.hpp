// Test helpers for the format validators: run a scanner on bytes, query findings, and small
// writers for the binary formats (safetensors, GGUF, protobuf, tar) the tests build by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "scan/formats.hpp"
#include "scan/scan.hpp"

namespace hubgate::scan::test {

using ScanFn = std::function<void(Context&, ByteView)>;

Report run(const ScanFn& fn, std::string_view bytes, std::string file = "test");
bool has(const Report& r, std::string_view rule);
int count(const Report& r, std::string_view rule);
const Finding* find(const Report& r, std::string_view rule);
std::string dump(const Report& r);  // for failure messages

// safetensors: header JSON + data bytes.
std::string safetensors(std::string_view header_json, std::string_view data);

// GGUF writer (v2/v3 layout, 64-bit lengths).
class Gguf {
 public:
  explicit Gguf(std::uint32_t version = 3) : version_(version) {}
  Gguf& kv_u32(std::string_view k, std::uint32_t v);
  Gguf& kv_str(std::string_view k, std::string_view v);
  Gguf& kv_str_array(std::string_view k, const std::vector<std::string>& v);
  Gguf& kv_f32_array(std::string_view k, std::size_t n);
  Gguf& kv_i32_array(std::string_view k, std::size_t n);
  Gguf& kv_raw(std::string_view k, std::uint32_t type, std::string_view raw_value);
  Gguf& tensor(std::string_view name, std::vector<std::uint64_t> dims, std::uint32_t type, std::uint64_t offset);
  // Layout: header, KVs, tensor infos, padding to `alignment`, `data`.
  std::string build(std::string_view data, std::uint64_t alignment = 32) const;
  std::size_t tensors() const { return n_tensors_; }

 private:
  std::uint32_t version_;
  std::string kvs_, infos_;
  std::size_t n_kv_ = 0, n_tensors_ = 0;
};

// Protobuf encoding.
std::string pb_varint(std::uint64_t v);
std::string pb_len(std::uint32_t field, std::string_view bytes);
std::string pb_int(std::uint32_t field, std::uint64_t v);

// tar (ustar) entry: header + padded content. type '0' file, '2' symlink, '5' dir, ...
std::string tar_entry(std::string_view name, std::string_view content, char type = '0',
                      std::string_view link = {}, std::uint32_t mode = 0644);
std::string tar_end();

}  // namespace hubgate::scan::test
