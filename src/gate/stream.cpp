// classify_prefix: may a file being filled stream to clients before its verdict?
//
// Only formats whose loaders execute no code and whose structure can be checked from the first
// bytes stream early:
//   safetensors — u64 LE header length N (2 <= N <= 100 MiB, 8 + N <= total), then N bytes of
//     strict JSON (object; no duplicate keys) whose tensor entries have a string dtype, an array
//     shape and data_offsets [begin, end] that, sorted, tile [0, total - 8 - N) exactly. We need
//     the whole header, so the answer is need_more until 8 + N bytes are in (or hold when the
//     header is larger than kMaxClassifyPrefix).
//   GGUF — magic "GGUF" and version 1..3 (its chat template is checked by the final scan, before
//     the last byte is released).
// Everything else (pickle, zip/torch/npz/keras, numpy, joblib, compressed, text, unknown) is
// held: the final verdict is the only thing that releases its bytes.
#include <algorithm>
#include <cstring>
#include <vector>

#include "gate/gate.hpp"
#include "scan/json_strict.hpp"

namespace hubgate::gate {

namespace {

std::uint64_t le64(ByteView b, std::size_t at) {
  std::uint64_t v = 0;
  std::memcpy(&v, b.data() + at, 8);
  return v;  // little-endian hosts only (x86-64, arm64)
}

EarlyRelease classify_safetensors(ByteView prefix, std::uint64_t total) {
  const std::uint64_t n = le64(prefix, 0);
  if (n < 2 || n > (100ull << 20) || n > total - 8) return EarlyRelease::hold;
  if (8 + n > kMaxClassifyPrefix) return EarlyRelease::hold;
  if (prefix.size() < 8 + n) return EarlyRelease::need_more;
  std::string_view header(reinterpret_cast<const char*>(prefix.data() + 8), static_cast<std::size_t>(n));
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  auto parsed = scan::parse_json_strict(header);
  if (!parsed || !parsed->is_object()) return EarlyRelease::hold;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  for (auto it = parsed->begin(); it != parsed->end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const auto& e = *it;
    if (!e.is_object() || !e.contains("dtype") || !e["dtype"].is_string() || !e.contains("shape") ||
        !e["shape"].is_array() || !e.contains("data_offsets") || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2 || !e["data_offsets"][0].is_number_unsigned() ||
        !e["data_offsets"][1].is_number_unsigned()) {
      return EarlyRelease::hold;
    }
    std::uint64_t b = e["data_offsets"][0].get<std::uint64_t>(), en = e["data_offsets"][1].get<std::uint64_t>();
    if (en < b) return EarlyRelease::hold;
    spans.emplace_back(b, en);
  }
  std::sort(spans.begin(), spans.end());
  std::uint64_t expect = 0;
  for (const auto& [b, en] : spans) {
    if (b != expect) return EarlyRelease::hold;
    expect = en;
  }
  return expect == total - 8 - n ? EarlyRelease::stream : EarlyRelease::hold;
}

}  // namespace

EarlyRelease classify_prefix(ByteView prefix, std::uint64_t total) {
  if (prefix.size() < 8) return prefix.size() < total ? EarlyRelease::need_more : EarlyRelease::hold;
  if (std::memcmp(prefix.data(), "GGUF", 4) == 0) {
    std::uint32_t version = 0;
    std::memcpy(&version, prefix.data() + 4, 4);
    return version >= 1 && version <= 3 ? EarlyRelease::stream : EarlyRelease::hold;
  }
  if (prefix.size() >= 9 && prefix[8] == '{') return classify_safetensors(prefix, total);
  if (prefix.size() < 9 && prefix.size() < total) return EarlyRelease::need_more;
  return EarlyRelease::hold;
}

}  // namespace hubgate::gate
