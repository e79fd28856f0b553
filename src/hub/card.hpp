// Model and dataset card metadata: the README's YAML front matter and the Hub-style tags built
// from it, for listings and repo info (pure functions of the README text; thread-safe).
//
// Only a subset of YAML is read: top-level `key: value`, `key: [a, b]` and `key:` followed by
// `- item` lines; quotes around scalars are removed; nested mappings and everything else are
// skipped. The front matter must start at the first byte ("---") and ends at the next "---"
// line (or the end of the text). Values are strings or arrays of strings.
// Tags: library_name, pipeline_tag, `tags`, `task_categories:X`, `task_ids:X`,
// `size_categories:X`, languages (plain for models, `language:X` for datasets), `dataset:X`,
// `base_model:X`, `license:X`; each once, in that order.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "repo/model.hpp"

namespace hubgate::hub {

struct Card {
  nlohmann::json data = nlohmann::json::object();  // the front matter
  std::vector<std::string> tags;
  std::string pipeline_tag, library_name;
};

nlohmann::json parse_front_matter(std::string_view readme);
Card card_from(const nlohmann::json& front_matter, repo::RepoType type);

}  // namespace hubgate::hub
