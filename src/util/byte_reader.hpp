// Bounds-checked reading of untrusted binary input.
//
// `ByteReader` is a cursor over a `std::span<const std::byte>`-like view. Every read checks
// the remaining length first and fails with `Errc::corrupt` ("<what>: need N bytes at offset O,
// M left") instead of reading past the end. Multi-byte integers are read with memcpy (no
// unaligned casts) and converted from little- or big-endian. The reader never owns the bytes.
// Not thread-safe (a cursor); cheap to copy.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace hubgate {

using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

class ByteReader {
 public:
  explicit ByteReader(ByteView data, std::string_view what = "input") : data_(data), what_(what) {}

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  ByteView rest() const { return data_.subspan(pos_); }

  // Fails unless at least n bytes remain.
  Result<void> need(std::size_t n) const {
    if (n > remaining()) {
      return fail(Errc::corrupt, std::string(what_) + ": need " + std::to_string(n) +
                                     " bytes at offset " + std::to_string(pos_) + ", " +
                                     std::to_string(remaining()) + " left");
    }
    return {};
  }

  Result<ByteView> bytes(std::size_t n) {
    HG_TRY_VOID(need(n));
    ByteView out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  Result<void> skip(std::size_t n) {
    HG_TRY_VOID(need(n));
    pos_ += n;
    return {};
  }
  Result<void> seek(std::size_t pos) {
    if (pos > data_.size()) {
      return fail(Errc::corrupt, std::string(what_) + ": seek to " + std::to_string(pos) +
                                     " past end " + std::to_string(data_.size()));
    }
    pos_ = pos;
    return {};
  }

  template <class T>
  Result<T> le() {
    static_assert(std::is_integral_v<T> || std::is_floating_point_v<T>);
    if (sizeof(T) > data_.size() - pos_) return fail(need(sizeof(T)).error());
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    if constexpr (std::endian::native == std::endian::big && std::is_integral_v<T>) v = std::byteswap(v);
    return v;
  }
  template <class T>
  Result<T> be() {
    static_assert(std::is_integral_v<T>);
    if (sizeof(T) > data_.size() - pos_) return fail(need(sizeof(T)).error());
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    if constexpr (std::endian::native == std::endian::little) v = std::byteswap(v);
    return v;
  }
  Result<std::uint8_t> u8() { return le<std::uint8_t>(); }
  Result<std::uint16_t> u16le() { return le<std::uint16_t>(); }
  Result<std::uint32_t> u32le() { return le<std::uint32_t>(); }
  Result<std::uint64_t> u64le() { return le<std::uint64_t>(); }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
  std::string_view what_;
};

// Little-endian stores into a growing buffer (for writers of binary formats).
template <class T>
void put_le(std::string& out, T v) {
  static_assert(std::is_integral_v<T>);
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

}  // namespace hubgate
