// Reconstruction parsing and term planning (algorithm in the header). Parsing checks every
// field's type and range before use; planning works per fetch_info entry: collect the missing
// chunk indices of all terms inside it, cut them into runs, widen each run to known record
// boundaries, merge runs that overlap or touch, then point every missing chunk at its fetch.
#include "upstream/xet_plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

namespace hubgate::upstream {

using json = nlohmann::json;

namespace {

Error bad(const std::string& what) { return Error(Errc::corrupt, "upstream reconstruction: " + what); }

std::optional<std::uint64_t> u64_of(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    if (it != j.end() && it->is_number_integer() && it->get<std::int64_t>() >= 0) return it->get<std::uint64_t>();
    return std::nullopt;
  }
  return it->get<std::uint64_t>();
}

// {"start": a, "end": b}
std::optional<std::pair<std::uint64_t, std::uint64_t>> range_of(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  auto a = u64_of(*it, "start"), b = u64_of(*it, "end");
  if (!a || !b) return std::nullopt;
  return std::pair{*a, *b};
}

Result<xet::MerkleHash> hash_of(const std::string& s) {
  auto h = xet::MerkleHash::from_hex(s);
  if (!h) return fail(bad("malformed xorb hash '" + s.substr(0, 80) + "'"));
  return *h;
}

}  // namespace

Result<XetReconstruction> parse_reconstruction_v1(std::string_view body, const XetLimits& lim) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(bad("not a JSON object"));
  XetReconstruction r;
  r.offset_into_first_range = u64_of(j, "offset_into_first_range").value_or(0);
  auto terms = j.find("terms");
  if (terms == j.end() || !terms->is_array()) return fail(bad("no terms array"));
  if (terms->size() > lim.max_terms) return fail(bad("too many terms"));
  for (const auto& t : *terms) {
    if (!t.is_object() || !t.contains("hash") || !t["hash"].is_string()) return fail(bad("term without a hash"));
    XetTerm term;
    HG_TRY(term.xorb, hash_of(t["hash"].get<std::string>()));
    auto rg = range_of(t, "range");
    auto len = u64_of(t, "unpacked_length");
    if (!rg || !len) return fail(bad("term without range or unpacked_length"));
    if (rg->first >= rg->second || rg->second > lim.max_chunks_per_xorb) return fail(bad("term chunk range out of bounds"));
    if (*len == 0 || *len > (64ull << 20)) return fail(bad("term unpacked_length out of bounds"));
    term.start = static_cast<std::uint32_t>(rg->first);
    term.end = static_cast<std::uint32_t>(rg->second);
    term.unpacked_length = *len;
    r.terms.push_back(term);
  }
  auto fi = j.find("fetch_info");
  if (fi == j.end() || !fi->is_object()) {
    if (r.terms.empty()) return r;
    return fail(bad("no fetch_info object"));
  }
  for (auto it = fi->begin(); it != fi->end(); ++it) {
    HG_TRY(auto xorb, hash_of(it.key()));
    if (!it.value().is_array()) return fail(bad("fetch_info entry list is not an array"));
    for (const auto& e : it.value()) {
      if (r.fetch.size() >= lim.max_entries) return fail(bad("too many fetch_info entries"));
      XetFetchEntry f;
      f.xorb = xorb;
      auto rg = range_of(e, "range");
      auto ur = range_of(e, "url_range");
      if (!rg || !ur || !e.contains("url") || !e["url"].is_string()) return fail(bad("fetch_info entry lacks range, url or url_range"));
      if (rg->first >= rg->second || rg->second > lim.max_chunks_per_xorb) return fail(bad("fetch_info chunk range out of bounds"));
      if (ur->first > ur->second || ur->second - ur->first >= lim.max_range_bytes) return fail(bad("fetch_info url_range out of bounds"));
      // At least one 8-byte record header per chunk.
      if (ur->second - ur->first + 1 < 8 * (rg->second - rg->first)) return fail(bad("fetch_info url_range too short for its chunks"));
      f.url = e["url"].get<std::string>();
      if (!f.url.starts_with("http://") && !f.url.starts_with("https://")) return fail(bad("fetch_info url is not absolute http(s)"));
      f.start = static_cast<std::uint32_t>(rg->first);
      f.end = static_cast<std::uint32_t>(rg->second);
      f.first = ur->first;
      f.last = ur->second;
      r.fetch.push_back(std::move(f));
    }
  }
  return r;
}

Result<XetPlan> plan_terms(const XetReconstruction& rec, const XetRowLookup& lookup, const XetHeldCheck& held) {
  XetPlan plan;
  // Per entry: the missing chunk indices (all terms together).
  std::map<std::size_t, std::set<std::uint32_t>> missing;
  std::vector<std::size_t> entry_of_term;
  for (const auto& t : rec.terms) {
    std::optional<std::size_t> entry;
    for (std::size_t e = 0; e < rec.fetch.size(); ++e) {
      const auto& f = rec.fetch[e];
      if (f.xorb == t.xorb && f.start <= t.start && t.end <= f.end) {
        entry = e;
        break;
      }
    }
    if (!entry) return fail(Errc::corrupt, "upstream reconstruction: term [" + std::to_string(t.start) + ", " + std::to_string(t.end) +
                                               ") of xorb " + t.xorb.hex() + " lies in no fetch_info entry");
    entry_of_term.push_back(*entry);
    for (std::uint32_t i = t.start; i < t.end; ++i) {
      XetPlannedChunk c;
      c.xorb = t.xorb;
      c.index = i;
      if (auto row = lookup(t.xorb, i); row && held(row->chunk)) {
        c.local = true;
        c.hash = row->chunk;
        plan.local_chunks++;
      } else {
        missing[*entry].insert(i);
      }
      plan.chunks.push_back(c);
    }
  }
  // Runs -> byte ranges, widened to known boundaries, merged per entry.
  std::map<std::pair<std::size_t, std::uint32_t>, std::size_t> fetch_of;  // (entry, chunk) -> fetch
  for (auto& [e, idx] : missing) {
    const auto& f = rec.fetch[e];
    auto known_start = [&](std::uint32_t c) -> std::optional<std::uint64_t> {
      if (c == f.start) return f.first;
      if (auto r = lookup(f.xorb, c); r && r->offset) return *r->offset;
      if (auto r = lookup(f.xorb, c - 1); r && r->offset && r->length) return *r->offset + *r->length;
      return std::nullopt;
    };
    auto known_last = [&](std::uint32_t d) -> std::optional<std::uint64_t> {  // last byte of chunk d-1
      if (d == f.end) return f.last;
      if (auto r = lookup(f.xorb, d - 1); r && r->offset && r->length && *r->length > 0) return *r->offset + *r->length - 1;
      if (auto r = lookup(f.xorb, d); r && r->offset && *r->offset > 0) return *r->offset - 1;
      return std::nullopt;
    };
    std::vector<XetFetch> runs;
    for (auto it = idx.begin(); it != idx.end();) {
      std::uint32_t c = *it, d = c + 1;
      ++it;
      while (it != idx.end() && *it == d) {
        ++d;
        ++it;
      }
      std::optional<std::uint64_t> first, last;
      while (!(first = known_start(c))) --c;  // terminates at f.start
      while (!(last = known_last(d))) ++d;    // terminates at f.end
      if (*first < f.first || *last > f.last || *first > *last)
        return fail(Errc::corrupt, "xet index: recorded offsets of xorb " + f.xorb.hex() + " disagree with the upstream byte range");
      runs.push_back(XetFetch{f.xorb, f.url, c, d, *first, *last});
    }
    std::sort(runs.begin(), runs.end(), [](const XetFetch& a, const XetFetch& b) { return a.chunk_start < b.chunk_start; });
    std::vector<XetFetch> merged;
    for (auto& r : runs) {
      if (!merged.empty() && r.chunk_start <= merged.back().chunk_end) {
        auto& m = merged.back();
        if (r.chunk_end > m.chunk_end) {
          m.chunk_end = r.chunk_end;
          m.last = r.last;
        }
      } else {
        merged.push_back(std::move(r));
      }
    }
    for (auto& m : merged) {
      for (std::uint32_t i = m.chunk_start; i < m.chunk_end; ++i) fetch_of[{e, i}] = plan.fetches.size();
      plan.fetches.push_back(std::move(m));
    }
  }
  std::size_t k = 0;
  for (std::size_t t = 0; t < rec.terms.size(); ++t) {
    for (std::uint32_t i = rec.terms[t].start; i < rec.terms[t].end; ++i, ++k) {
      if (!plan.chunks[k].local) plan.chunks[k].fetch = fetch_of.at({entry_of_term[t], i});
    }
  }
  return plan;
}

}  // namespace hubgate::upstream
