// Fuzz the relaxed zip reader and scan_zip (members are then detected and dispatched).
#include <cstdint>

#include "scan/scan.hpp"
#include "scan/zip_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubgate::scan;
  hubgate::ByteView in(data, size);
  auto listing = zip::read_zip(in, 1000);
  for (const auto& e : listing.entries)
    if (e.local_ok && e.data_offset > size) __builtin_trap();
  (void)zip::member_names(in);
  Limits limits;
  limits.max_entries = 1000;
  limits.max_expanded_bytes = 64 << 20;
  limits.max_pickle_ops = 100000;
  Report report = scan_bytes(in, "fuzz.zip", limits);
  (void)report.verdict();
  return 0;
}
