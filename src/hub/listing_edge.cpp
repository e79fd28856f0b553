// An edge's repository listing: hosted repositories plus upstream's (through HubOptions::remote,
// route "list" = upstream::Edge::list), without the upstream ids hosted here (local wins).
//
// Without a sort order the hosted pages come first, then upstream's pages (`upstream_page`,
// upstream's cursor carried as "u:<cursor>"). With one (`merged_page`), each page merges the
// hosted list, sorted by that key, with upstream's pages, which upstream sorted by the same key:
// the next item is the hosted one unless upstream's next item comes before it (ties: hosted
// first). Upstream's page size is the client's `limit`; a page fetches at most
// kMaxUpstreamFetches upstream pages. The cursor records where both lists stand — the hosted
// offset, the index in the current upstream page and that page's upstream cursor — so every item
// is listed exactly once across pages. Upstream items lacking the sort field (an `expand` that
// leaves it out) sort as 0 / "". When upstream cannot be asked the listing goes on with the hosted
// repositories alone (X-Hubgate-Upstream: unavailable); upstream's 401/403 are passed on.
#include "hub/context.hpp"
#include "http/url.hpp"
#include "util/parse.hpp"

namespace hubgate::hub {

namespace {

constexpr int kMaxUpstreamFetches = 4;

struct UpstreamPage {
  bool ok = false;          // false: upstream could not be asked
  json items = json::array();
  std::string next;         // decoded upstream cursor of the next page ("" = last page)
};

// One page of upstream's listing for the client's query (cursor replaced); 401/403 as an error.
Reply<UpstreamPage> fetch_upstream(Ctx& c, repo::RepoType type, const std::string& cursor) {
  std::string query;
  for (const auto& [k, v] : c.query) {
    if (k == "cursor") continue;
    query += (query.empty() ? "" : "&") + http::percent_encode(k, false) + "=" + http::percent_encode(v, false);
  }
  if (!cursor.empty()) query += (query.empty() ? "" : "&") + std::string("cursor=") + http::percent_encode(cursor, false);
  repo::RepoId none{type, "", ""};
  auto up = c.hub.opts.remote("list", c.req, none.api_plural(), "", query, c.base_url);
  if (up.status == 401 || up.status == 403) return std::unexpected(std::move(up));
  UpstreamPage page;
  const auto* text = std::get_if<std::string>(&up.body);
  json items = up.status == 200 && text ? json::parse(*text, nullptr, false) : json();
  if (!items.is_array()) return page;
  page.ok = true;
  for (auto& item : items) {
    if (!item.is_object() || !item.contains("id") || !item["id"].is_string()) continue;
    std::string id = item["id"].get<std::string>();
    auto slash = id.find('/');
    if (slash != std::string::npos) {
      auto rid = repo::make_repo_id(type, id.substr(0, slash), id.substr(slash + 1));
      if (rid) {
        auto found = c.hub.catalog.find_repo(*rid);
        if (found && *found) continue;  // listed with the hosted repositories
      }
    }
    page.items.push_back(std::move(item));
  }
  if (auto next = up.headers.get("X-Hubgate-Upstream-Cursor")) {
    auto decoded = http::percent_decode(*next);
    if (decoded) page.next = *decoded;
  }
  return page;
}

json upstream_value(const json& item, const std::string& sort) {
  bool text = sort == "id" || sort == "lastModified" || sort == "createdAt";
  auto it = item.find(sort);
  if (it == item.end() || (text ? !it->is_string() : !it->is_number())) return text ? json("") : json(0);
  return *it;
}

struct MergeCursor {
  std::size_t hosted = 0, index = 0;
  bool upstream_done = false;
  std::string upstream;  // upstream cursor of the current upstream page
};

std::optional<MergeCursor> parse_merge_cursor(std::string_view s) {
  MergeCursor m;
  if (s.empty()) return m;
  if (!s.starts_with("m:")) return std::nullopt;
  s.remove_prefix(2);
  auto c1 = s.find(':');
  if (c1 == std::string_view::npos) return std::nullopt;
  auto c2 = s.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return std::nullopt;
  auto h = parse_u64(s.substr(0, c1)), i = parse_u64(s.substr(c1 + 1, c2 - c1 - 1));
  std::string_view state = s.substr(c2 + 1);
  if (!h || !i || state.empty() || (state[0] != 'u' && state != "x")) return std::nullopt;
  m.hosted = std::size_t(*h);
  m.index = std::size_t(*i);
  m.upstream_done = state == "x";
  if (!m.upstream_done) m.upstream = std::string(state.substr(1));
  return m;
}

}  // namespace

http::Response upstream_page(Ctx& c, repo::RepoType type, const std::string& cursor) {
  auto page = fetch_upstream(c, type, cursor);
  if (!page) return page.error();
  auto res = json_reply(200, page->items);
  if (!page->ok) {
    res.headers.set("X-Hubgate-Upstream", "unavailable");
    return res;
  }
  if (!page->next.empty()) res.headers.set("Link", "<" + next_link(c, "cursor", "u:" + page->next) + ">; rel=\"next\"");
  return res;
}

http::Response merged_page(Ctx& c, repo::RepoType type, const std::string& sort, bool ascending, std::size_t limit,
                           const std::string& cursor, const HostedList& hosted) {
  auto cur = parse_merge_cursor(cursor);
  if (!cur) return error(400, "", "malformed cursor");
  bool unavailable = false;
  UpstreamPage page;
  int fetches = 0;
  auto load = [&]() -> std::optional<http::Response> {
    auto p = fetch_upstream(c, type, cur->upstream);
    ++fetches;
    if (!p) return std::move(p.error());
    if (!p->ok) {  // upstream is gone for this listing: the hosted repositories alone
      unavailable = true;
      cur->upstream_done = true;
      cur->index = 0;
      page = UpstreamPage{};
      return std::nullopt;
    }
    page = std::move(*p);
    return std::nullopt;
  };
  if (!cur->upstream_done)
    if (auto refused = load()) return std::move(*refused);
  // Does hosted item `h` come before upstream item `u`? (ties: hosted first)
  auto hosted_first = [&](std::size_t h, const json& u) {
    json hv = hosted.sort_value(h), uv = upstream_value(u, sort);
    return ascending ? !(uv < hv) : !(hv < uv);
  };
  json out = json::array();
  while (out.size() < limit) {
    const bool have_hosted = cur->hosted < hosted.size;
    if (!cur->upstream_done && cur->index >= page.items.size()) {
      if (page.next.empty()) {
        cur->upstream_done = true;
        continue;
      }
      cur->upstream = page.next;
      cur->index = 0;
      if (fetches >= kMaxUpstreamFetches) {  // this page ends here; the cursor names upstream's next page
        page.items = json::array();
        break;
      }
      if (auto refused = load()) return std::move(*refused);
      continue;
    }
    if (!cur->upstream_done && !(have_hosted && hosted_first(cur->hosted, page.items[cur->index]))) {
      out.push_back(page.items[cur->index++]);
      continue;
    }
    if (!have_hosted) break;
    auto item = hosted.render(cur->hosted++);
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  auto res = json_reply(200, out);
  if (unavailable) res.headers.set("X-Hubgate-Upstream", "unavailable");
  const bool more_upstream = !cur->upstream_done && (cur->index < page.items.size() || !page.next.empty());
  if (cur->hosted < hosted.size || more_upstream) {
    std::string state = cur->upstream_done ? "x" : "u" + cur->upstream;
    std::string next = "m:" + std::to_string(cur->hosted) + ":" + std::to_string(cur->index) + ":" + state;
    res.headers.set("Link", "<" + next_link(c, "cursor", next) + ">; rel=\"next\"");
  }
  return res;
}

}  // namespace hubgate::hub
