// Fuzz the pickle machine simulator (every protocol, every loader reading) and its grading, plus
// joblib mode.
#include <cstdint>

#include "scan/internal.hpp"
#include "scan/pickle_vm.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hubgate::scan;
  hubgate::ByteView in(data, size);
  pickle::ExtRegistry ext;
  pickle::VmOptions opt;
  opt.max_ops = 100000;
  opt.joblib = size > 0 && (data[0] & 1);
  // Every loader reading (C on a buffer, C on a file object, Python): they part on FRAME misuse.
  opt.reading = static_cast<pickle::Reading>(size > 0 ? (data[size - 1] % 3) : 0);
  auto run = pickle::simulate_pickle(in, opt, ext);
  if (run.end > size) __builtin_trap();
  (void)pickle::looks_like_pickle(in);
  Report report;
  Limits limits;
  limits.max_pickle_ops = 100000;
  Context ctx(report, limits);
  scan_pickle(ctx, in);
  return 0;
}
