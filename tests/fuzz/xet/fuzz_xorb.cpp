// Fuzz target: xorb reader (layout walk, footer, LZ4/BG4 decoding, record ranges).
#include <cstdint>
#include <string>

#include "xet/xorb.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubgate;
  ByteView in(data, size);
  auto lay = xet::parse_xorb_layout(in);
  auto dec = xet::decode_xorb(in);
  if (dec && (!lay || dec->chunks.size() != lay->records.size())) __builtin_trap();
  std::string out;
  (void)xet::decode_records(in, out);
  // Any payload under any scheme with a small declared size.
  if (size > 4) {
    std::string o;
    (void)xet::decode_payload(in.subspan(4), data[0] % 4, (data[1] | data[2] << 8) % 70000, o);
  }
  return 0;
}
