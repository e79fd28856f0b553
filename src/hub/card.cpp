// Card metadata from a README's YAML front matter (see card.hpp).
#include "hub/card.hpp"

#include <algorithm>

namespace hubgate::hub {

namespace {

std::string unquote(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) v = v.substr(1, v.size() - 2);
  return std::string(v);
}

std::vector<std::string> strings(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace

nlohmann::json parse_front_matter(std::string_view text) {
  nlohmann::json out = nlohmann::json::object();
  if (!text.starts_with("---")) return out;
  text.remove_prefix(3);
  std::string key;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.starts_with("---")) break;
    std::string_view t = line;
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    if (t.empty() || t.front() == '#') continue;
    if (t.starts_with("- ") && !key.empty()) {
      if (!out[key].is_array()) out[key] = nlohmann::json::array();
      out[key].push_back(unquote(t.substr(2)));
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') continue;  // nested mappings: not kept
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    key = unquote(line.substr(0, colon));
    std::string v = unquote(line.substr(colon + 1));
    if (v.empty()) continue;
    if (v.front() == '[' && v.back() == ']') {
      nlohmann::json arr = nlohmann::json::array();
      std::string_view items = std::string_view(v).substr(1, v.size() - 2);
      while (!items.empty()) {
        auto comma = items.find(',');
        std::string item = unquote(items.substr(0, comma));
        if (!item.empty()) arr.push_back(item);
        if (comma == std::string_view::npos) break;
        items.remove_prefix(comma + 1);
      }
      out[key] = arr;
    } else {
      out[key] = v;
    }
  }
  return out;
}

Card card_from(const nlohmann::json& fm, repo::RepoType type) {
  Card c;
  c.data = fm;
  auto add = [&](std::string t) {
    if (!t.empty() && std::find(c.tags.begin(), c.tags.end(), t) == c.tags.end()) c.tags.push_back(std::move(t));
  };
  if (fm.contains("library_name") && fm["library_name"].is_string()) {
    c.library_name = fm["library_name"].get<std::string>();
    add(c.library_name);
  }
  if (fm.contains("pipeline_tag") && fm["pipeline_tag"].is_string()) {
    c.pipeline_tag = fm["pipeline_tag"].get<std::string>();
    add(c.pipeline_tag);
  }
  if (fm.contains("tags"))
    for (auto& t : strings(fm["tags"])) add(t);
  bool ds = type == repo::RepoType::dataset;
  for (const char* k : {"task_categories", "task_ids", "size_categories"})
    if (fm.contains(k))
      for (auto& t : strings(fm[k])) add(std::string(k) + ":" + t);
  if (fm.contains("language"))
    for (auto& t : strings(fm["language"])) add(ds ? "language:" + t : t);
  if (fm.contains("datasets"))
    for (auto& t : strings(fm["datasets"])) add("dataset:" + t);
  if (fm.contains("base_model"))
    for (auto& t : strings(fm["base_model"])) add("base_model:" + t);
  if (fm.contains("license"))
    for (auto& t : strings(fm["license"])) add("license:" + t);
  return c;
}

}  // namespace hubgate::hub
