// Xet fill planning: the upstream reconstruction (spec/xet.md §5, v1 JSON) parsed strictly, and
// the decision, per chunk of each term, whether the edge already holds it (read locally) or
// which upstream xorb byte range fetches it.
//
// Planning (`plan_terms`). Every term must lie inside one fetch_info entry of its xorb. A chunk
// (xorb, i) is *local* when the XetIndex has a row for it and the chunk store holds that chunk
// hash. Missing chunks of one entry form runs of consecutive indices; each run becomes a byte
// range of whole records: its start is the entry's start when the run starts the entry, else
// the row's recorded offset of its first chunk (or the end of the previous chunk's record); its
// end likewise. Where no boundary is known the run is widened chunk by chunk towards the
// entry's edges (in the worst case to the whole entry). Runs of one entry that then overlap or
// touch are merged into one fetch. Each missing chunk names its fetch; a chunk needed by
// several terms is fetched once.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "upstream/xet_index.hpp"
#include "util/error.hpp"
#include "xet/hash.hpp"

namespace hubgate::upstream {

struct XetTerm {
  xet::MerkleHash xorb;
  std::uint32_t start = 0, end = 0;  // chunk range [start, end)
  std::uint64_t unpacked_length = 0;
};

struct XetFetchEntry {
  xet::MerkleHash xorb;
  std::uint32_t start = 0, end = 0;  // chunk range [start, end)
  std::string url;                    // absolute http(s) URL (self-authorizing)
  std::uint64_t first = 0, last = 0;  // byte range, inclusive
};

struct XetReconstruction {
  std::uint64_t offset_into_first_range = 0;
  std::vector<XetTerm> terms;
  std::vector<XetFetchEntry> fetch;
};

struct XetLimits {
  std::size_t max_terms = 1u << 20;
  std::size_t max_entries = 1u << 20;
  std::uint32_t max_chunks_per_xorb = 8192;
  std::uint64_t max_range_bytes = 80ull << 20;  // one fetch_info byte range
};

// Parses a v1 reconstruction body ("terms" + "fetch_info"). Errc::corrupt on anything
// malformed or out of limits (hashes, ranges, URLs, counts).
Result<XetReconstruction> parse_reconstruction_v1(std::string_view body, const XetLimits& limits = {});

// One upstream byte range to fetch: chunks [chunk_start, chunk_end) of `xorb`, whose whole
// records are the bytes [first, last] (inclusive) at `url`.
struct XetFetch {
  xet::MerkleHash xorb;
  std::string url;
  std::uint32_t chunk_start = 0, chunk_end = 0;
  std::uint64_t first = 0, last = 0;
  bool operator==(const XetFetch&) const = default;
};

// One chunk of the file, in file order.
struct XetPlannedChunk {
  xet::MerkleHash xorb;      // upstream xorb
  std::uint32_t index = 0;   // chunk index in it
  bool local = false;
  xet::MerkleHash hash;      // when local: the chunk hash (from the index)
  std::size_t fetch = 0;     // when not local: index into XetPlan::fetches
};

struct XetPlan {
  std::vector<XetPlannedChunk> chunks;
  std::vector<XetFetch> fetches;
  std::uint64_t local_chunks = 0;
};

using XetRowLookup = std::function<std::optional<XetIndexRow>(const xet::MerkleHash& xorb, std::uint32_t index)>;
using XetHeldCheck = std::function<bool(const xet::MerkleHash& chunk)>;

Result<XetPlan> plan_terms(const XetReconstruction& rec, const XetRowLookup& lookup, const XetHeldCheck& held);

}  // namespace hubgate::upstream
