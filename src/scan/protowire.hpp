// A bounds-checked reader for the protobuf wire format (no protobuf library): iterates the
// fields of one message held in a byte view. Each field yields its number, wire type and either
// a varint/fixed value or a length-delimited sub-view (validated to lie inside the message).
// Groups (wire types 3/4) and wire types 6/7 are reported as errors: no message we read uses
// them and protobuf itself rejects the latter. Not thread-safe (a cursor); never allocates.
#pragma once

#include <cstdint>
#include <string>

#include "util/byte_reader.hpp"

namespace hubgate::scan {

enum class WireType : std::uint8_t { varint = 0, i64 = 1, len = 2, sgroup = 3, egroup = 4, i32 = 5 };

struct ProtoField {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  std::uint64_t value = 0;   // varint, i64, i32
  ByteView bytes;            // len
  std::uint64_t offset = 0;  // of the tag, relative to the message start
};

class ProtoReader {
 public:
  explicit ProtoReader(ByteView msg) : d_(msg) {}

  // Next field: true and `f` filled; false at the end or on an error (then error() is set).
  bool next(ProtoField& f) {
    if (pos_ >= d_.size() || !error_.empty()) return false;
    f.offset = pos_;
    std::uint64_t tag;
    if (!varint(tag)) return false;
    f.number = static_cast<std::uint32_t>(tag >> 3);
    std::uint32_t wt = tag & 7;
    if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) return set_error("invalid field number");
    f.type = static_cast<WireType>(wt);
    f.bytes = {};
    switch (wt) {
      case 0: return varint(f.value);
      case 1: return fixed(8, f.value);
      case 5: return fixed(4, f.value);
      case 2: {
        std::uint64_t n;
        if (!varint(n)) return false;
        if (n > d_.size() - pos_) {
          return set_error("length " + std::to_string(n) + " of field " + std::to_string(f.number) + " exceeds the " +
                           std::to_string(d_.size() - pos_) + " bytes left");
        }
        f.bytes = d_.subspan(pos_, n);
        pos_ += n;
        return true;
      }
      default: return set_error("unsupported wire type " + std::to_string(wt) + " for field " + std::to_string(f.number));
    }
  }

  const std::string& error() const { return error_; }
  std::uint64_t offset() const { return pos_; }

 private:
  bool set_error(std::string e) {
    error_ = "offset " + std::to_string(pos_) + ": " + std::move(e);
    return false;
  }
  bool varint(std::uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= d_.size()) return set_error("truncated varint");
      std::uint8_t b = d_[pos_++];
      out |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return set_error("varint longer than 10 bytes");
  }
  bool fixed(int n, std::uint64_t& out) {
    if (static_cast<std::size_t>(n) > d_.size() - pos_) return set_error("truncated fixed-width field");
    out = 0;
    for (int i = 0; i < n; ++i) out |= static_cast<std::uint64_t>(d_[pos_ + i]) << (8 * i);
    pos_ += n;
    return true;
  }

  ByteView d_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace hubgate::scan
