// Fuzzes the README front-matter reader behind listings and repo info (hub/card.hpp): any text
// gives an object whose values are strings or arrays of strings, tags are unique and non-empty,
// and the result serializes (invalid UTF-8 replaced) without throwing.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "hub/card.hpp"

using namespace hubgate;

#define CHECK(c) \
  if (!(c)) std::abort()

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto fm = hub::parse_front_matter(in);
  CHECK(fm.is_object());
  for (const auto& [k, v] : fm.items()) {
    CHECK(v.is_string() || v.is_array());
    if (v.is_array())
      for (const auto& e : v) CHECK(e.is_string());
  }
  if (!in.starts_with("---")) CHECK(fm.empty());
  for (auto type : {repo::RepoType::model, repo::RepoType::dataset}) {
    auto card = hub::card_from(fm, type);
    std::set<std::string> seen;
    for (const auto& t : card.tags) {
      CHECK(!t.empty());
      CHECK(seen.insert(t).second);
    }
    (void)card.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return 0;
}
