// Listing and search of hosted repositories (spec hub-repo-api.md §5): GET /api/models,
// /api/datasets, /api/spaces with author, search, filter, pipeline_tag, gated, sort, direction,
// limit, full, cardData, expand / expand[], and cursor pagination through `Link`.
//
// Only repositories the caller may read are listed (private ones need a token whose patterns
// match). Tags, pipeline_tag, library_name and cardData come from the README's YAML front matter
// at the default branch's head (a small subset of YAML: `key: value`, `key: [a, b]` and `- item`
// lists), cached by commit. `downloads` (last 30 days), `downloadsAllTime` and `likes` are the
// catalog's counts (hub/stats.cpp); ties keep the id order. The cursor is the offset into the
// sorted list; the next-page link repeats every other query parameter. On an edge,
// listing_edge.cpp adds upstream's repositories.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <mutex>

#include "hub/card.hpp"
#include "hub/context.hpp"
#include "http/url.hpp"
#include "util/atomic_file.hpp"
#include "util/parse.hpp"

namespace hubgate::hub {

namespace {

struct Entry {
  repo::RepoRecord rec;
  std::shared_ptr<const repo::Snapshot> snap;
  std::shared_ptr<const Card> card;
};

// Cards by commit (commit ids are content addresses: an entry is never stale). A listing
// finds the cards of unchanged repositories here without loading their snapshots.
std::mutex card_mu;
std::map<std::string, std::shared_ptr<const Card>> card_cache;

std::string card_key(const repo::RepoRecord& r, const std::string& commit) {
  return std::to_string(int(r.id.type)) + ":" + commit;
}

std::shared_ptr<const Card> cached_card(const repo::RepoRecord& r, const std::string& commit) {
  std::lock_guard lk(card_mu);
  auto it = card_cache.find(card_key(r, commit));
  return it == card_cache.end() ? nullptr : it->second;
}

std::shared_ptr<const Card> load_card(Ctx& c, const repo::RepoRecord& r, const repo::Snapshot& s) {
  if (auto hit = cached_card(r, s.commit.id)) return hit;
  json fm = json::object();
  if (const auto* f = s.find("README.md"); f && f->size < (1 << 20)) {
    if (auto b = c.hub.store.open(f->sha256)) {
      std::string text;
      if (b->data) {
        text = *b->data;
      } else if (auto t = read_file(b->path)) {
        text = *t;
      }
      fm = parse_front_matter(text);
    }
  }
  auto card = std::make_shared<const Card>(card_from(fm, r.id.type));
  std::lock_guard lk(card_mu);
  if (card_cache.size() > 65536) card_cache.clear();
  card_cache[card_key(r, s.commit.id)] = card;
  return card;
}

std::vector<std::string> multi(const Ctx& c, std::initializer_list<const char*> keys) {
  std::vector<std::string> out;
  for (const char* k : keys)
    for (const auto& v : http::query_all(c.query, k)) {
      std::string_view rest = v;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        if (comma) out.emplace_back(rest.substr(0, comma));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
  return out;
}

bool truthy(std::string_view v) { return v == "1" || v == "true" || v == "True"; }

std::string lower(std::string s) {
  for (auto& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

json gated_json(const std::string& g) { return g.empty() ? json(false) : json(g); }

}  // namespace

std::shared_ptr<const Card> card_of(Ctx& c, const repo::RepoRecord& r, const repo::Snapshot& s) {
  return load_card(c, r, s);
}

void add_card_fields(Ctx& c, const repo::RepoRecord& r, const repo::Snapshot& s, json& j) {
  auto card = load_card(c, r, s);
  j["tags"] = card->tags;
  j["cardData"] = card->data.empty() ? json(nullptr) : card->data;
  if (r.id.type == repo::RepoType::model) {
    j["pipeline_tag"] = card->pipeline_tag.empty() ? json(nullptr) : json(card->pipeline_tag);
    j["library_name"] = card->library_name.empty() ? json(nullptr) : json(card->library_name);
  }
}

http::Response list_repos(Ctx& c, repo::RepoType type) {
  auto all = c.hub.catalog.list_repos(type);
  if (!all) return error_from(all.error());
  const std::string author = http::query_get(c.query, "author");
  const auto searches = http::query_all(c.query, "search");
  const auto filters = multi(c, {"filter"});
  const std::string pipeline = http::query_get(c.query, "pipeline_tag");
  const std::string gated_q = http::query_get(c.query, "gated");
  const std::string sort = http::query_get(c.query, "sort");
  const bool ascending = http::query_get(c.query, "direction") == "1";
  const bool full = truthy(http::query_get(c.query, "full"));
  const bool card_data = truthy(http::query_get(c.query, "cardData"));
  const auto expand = multi(c, {"expand", "expand[]"});
  std::size_t limit = 1000;
  if (auto l = http::query_get(c.query, "limit"); !l.empty()) {
    auto v = parse_u64(l);
    if (!v) return error(400, "", "limit must be a non-negative integer");
    limit = std::size_t(std::clamp<std::uint64_t>(*v, 1, 1000));
  }
  std::size_t offset = 0;
  const std::string cursor = http::query_get(c.query, "cursor");
  // On an edge with a sort order, hosted and upstream repositories are merged in that order
  // (listing_edge.cpp); without one, upstream's pages follow the hosted ones.
  const bool merged = c.hub.opts.remote && !sort.empty();
  if (!merged && cursor.starts_with("u:")) {
    return upstream_page(c, type, cursor.substr(2));  // the hosted pages are done: upstream's
  } else if (!merged && !cursor.empty()) {
    auto cur = cursor;
    auto v = parse_u64(cur);
    if (!v) return error(400, "", "malformed cursor");
    offset = std::size_t(*v);
  }
  const bool need_card = !filters.empty() || !pipeline.empty() || full || card_data || expand.empty() ||
                         std::any_of(expand.begin(), expand.end(), [](const std::string& e) {
                           return e == "tags" || e == "pipeline_tag" || e == "library_name" || e == "cardData";
                         });
  const bool need_files = full || std::any_of(expand.begin(), expand.end(), [](const std::string& e) {
                             return e == "siblings" || e == "usedStorage";
                           });

  std::vector<Entry> hits;
  for (auto& rec : *all) {
    if (!auth::can_read(c.tok(), rec.id.qualified(), rec.is_private)) continue;
    if (!author.empty() && rec.id.ns != author) continue;
    bool ok = true;
    for (const auto& s : searches)
      if (lower(rec.id.full()).find(lower(s)) == std::string::npos) ok = false;
    if (!gated_q.empty() && truthy(gated_q) == rec.gated.empty()) ok = false;
    if (!ok) continue;
    Entry e{rec, nullptr, nullptr};
    if (need_card && !rec.sha.empty()) {
      e.card = cached_card(rec, rec.sha);
      if (!e.card) {
        auto s = c.hub.catalog.snapshot(rec.key, rec.sha);
        if (!s) return error_from(s.error());
        e.snap = *s;
        e.card = load_card(c, rec, **s);
      }
    }
    if (!e.card) e.card = std::make_shared<const Card>();
    for (const auto& f : filters)
      if (std::find(e.card->tags.begin(), e.card->tags.end(), f) == e.card->tags.end())
        ok = false;
    if (!pipeline.empty() && e.card->pipeline_tag != pipeline) ok = false;
    if (ok) hits.push_back(std::move(e));
  }
  auto key = [&](const Entry& e) -> std::int64_t {
    if (sort == "lastModified") return e.rec.last_modified;
    if (sort == "createdAt") return e.rec.created;
    if (sort == "downloads") return e.rec.downloads;
    if (sort == "downloadsAllTime") return e.rec.downloads_all_time;
    if (sort == "likes") return e.rec.likes;
    return 0;
  };
  std::stable_sort(hits.begin(), hits.end(), [&](const Entry& a, const Entry& b) {
    if (sort.empty() || sort == "id") {
      return ascending || sort.empty() ? a.rec.id.full() < b.rec.id.full() : a.rec.id.full() > b.rec.id.full();
    }
    auto ka = key(a), kb = key(b);
    if (ka != kb) return ascending ? ka < kb : ka > kb;
    return a.rec.id.full() < b.rec.id.full();
  });

  const bool is_model = type == repo::RepoType::model;
  auto render = [&](Entry& e) -> Reply<json> {
    const auto& r = e.rec;
    if (need_files && !e.snap && !r.sha.empty()) {  // files only for the page's items
      auto s = c.hub.catalog.snapshot(r.key, r.sha);
      if (!s) return std::unexpected(error_from(s.error()));
      e.snap = *s;
    }
    std::uint64_t used = 0;
    json siblings = json::array();
    if (e.snap)
      for (const auto& f : e.snap->files) {
        used += f.size;
        siblings.push_back({{"rfilename", f.path}});
      }
    json all_fields = {{"author", r.id.ns},
                       {"private", r.is_private},
                       {"gated", gated_json(r.gated)},
                       {"disabled", false},
                       {"downloads", r.downloads},
                       {"downloadsAllTime", r.downloads_all_time},
                       {"likes", r.likes},
                       {"trendingScore", 0},
                       {"tags", e.card->tags},
                       {"createdAt", repo::iso_date(r.created)},
                       {"lastModified", repo::iso_date(r.last_modified ? r.last_modified : r.created)},
                       {"sha", r.sha},
                       {"siblings", siblings},
                       {"usedStorage", used},
                       {"cardData", e.card->data}};
    if (is_model) {
      all_fields["modelId"] = r.id.full();
      if (!e.card->pipeline_tag.empty()) all_fields["pipeline_tag"] = e.card->pipeline_tag;
      if (!e.card->library_name.empty()) all_fields["library_name"] = e.card->library_name;
    }
    json item = {{"_id", repo_object_id(r)}, {"id", r.id.full()}};
    if (!expand.empty()) {
      for (const auto& x : expand)
        if (all_fields.contains(x)) item[x] = all_fields[x];
    } else {
      for (const char* k : {"author", "private", "gated", "disabled", "downloads", "likes", "trendingScore", "tags",
                            "createdAt", "lastModified", "modelId", "pipeline_tag", "library_name"})
        if (all_fields.contains(k)) item[k] = all_fields[k];
      if (full)
        for (const char* k : {"sha", "siblings", "usedStorage"}) item[k] = all_fields[k];
      if (full || card_data) item["cardData"] = all_fields["cardData"];
    }
    return item;
  };
  if (merged) {
    HostedList hosted;
    hosted.size = hits.size();
    hosted.render = [&](std::size_t i) { return render(hits[i]); };
    hosted.sort_value = [&](std::size_t i) -> json {
      const auto& r = hits[i].rec;
      if (sort == "lastModified") return repo::iso_date(r.last_modified ? r.last_modified : r.created);
      if (sort == "createdAt") return repo::iso_date(r.created);
      if (sort == "id") return r.id.full();
      return key(hits[i]);
    };
    return merged_page(c, type, sort, ascending, limit, cursor, hosted);
  }
  json out = json::array();
  for (std::size_t i = offset; i < hits.size() && i < offset + limit; ++i) {
    auto item = render(hits[i]);
    if (!item) return item.error();
    out.push_back(std::move(*item));
  }
  auto res = json_reply(200, out);
  if (offset + limit < hits.size())
    res.headers.set("Link", "<" + next_link(c, "cursor", std::to_string(offset + limit)) + ">; rel=\"next\"");
  else if (c.hub.opts.remote)  // an edge: upstream's repositories follow the hosted ones
    res.headers.set("Link", "<" + next_link(c, "cursor", "u:") + ">; rel=\"next\"");
  return res;
}

}  // namespace hubgate::hub
