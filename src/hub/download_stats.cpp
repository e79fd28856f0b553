// The Hub's download-count rule (see download_stats.hpp).
#include "hub/download_stats.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <utility>

namespace hubgate::hub {

namespace {

struct LibraryQuery {
  const char* library;
  const char* query;
};

constexpr LibraryQuery kQueries[] = {
#include "hub/download_queries.inc"
};

std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// "model.safetensors" -> ("model", "safetensors"); no dot -> (name, "").
std::pair<std::string_view, std::string_view> split_ext(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {name, {}};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

// Recursive descent over the query text: or := and ("OR" and)*; and := atom ("AND" atom)*;
// atom := "(" or ")" | field ":" "\"" value "\"".
class Eval {
 public:
  Eval(std::string_view q, std::string_view path) : q_(q), path_(path) {}

  std::optional<bool> run() {
    auto v = disjunction();
    skip_space();
    if (!v || pos_ != q_.size()) return std::nullopt;
    return v;
  }

 private:
  void skip_space() {
    while (pos_ < q_.size() && q_[pos_] == ' ') ++pos_;
  }
  bool keyword(std::string_view k) {
    skip_space();
    if (q_.substr(pos_, k.size()) != k) return false;
    std::size_t end = pos_ + k.size();
    if (end < q_.size() && q_[end] != ' ' && q_[end] != '(') return false;
    pos_ = end;
    return true;
  }
  std::optional<bool> disjunction() {
    auto v = conjunction();
    while (v && keyword("OR")) {
      auto w = conjunction();
      if (!w) return std::nullopt;
      v = *v || *w;
    }
    return v;
  }
  std::optional<bool> conjunction() {
    auto v = atom();
    while (v && keyword("AND")) {
      auto w = atom();
      if (!w) return std::nullopt;
      v = *v && *w;
    }
    return v;
  }
  std::optional<bool> atom() {
    skip_space();
    if (pos_ < q_.size() && q_[pos_] == '(') {
      ++pos_;
      auto v = disjunction();
      skip_space();
      if (!v || pos_ >= q_.size() || q_[pos_] != ')') return std::nullopt;
      ++pos_;
      return v;
    }
    auto colon = q_.find(':', pos_);
    if (colon == std::string_view::npos || colon + 1 >= q_.size() || q_[colon + 1] != '"') return std::nullopt;
    std::string_view field = q_.substr(pos_, colon - pos_);
    auto close = q_.find('"', colon + 2);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view value = q_.substr(colon + 2, close - colon - 2);
    pos_ = close + 1;
    return term(field, value);
  }
  std::optional<bool> term(std::string_view field, std::string_view value) const {
    auto [stem, ext] = split_ext(base_name(path_));
    if (field == "path") return path_ == value;
    if (field == "path_extension") return ext == (value.starts_with('.') ? value.substr(1) : value);
    if (field == "path_filename") return stem == value;
    if (field == "path_prefix") return path_.starts_with(value);
    if (field == "_exists_") {
      if (value == "path_prefix") return path_.find('/') != std::string_view::npos;
      return std::nullopt;
    }
    return std::nullopt;
  }

  std::string_view q_, path_;
  std::size_t pos_ = 0;
};

bool default_query_file(std::string_view path) {
  for (std::string_view f : {"config.json", "config.yaml", "hyperparams.yaml", "params.json", "meta.yaml"})
    if (path == f) return true;
  return false;
}

bool diffusers_query_file(std::string_view path) {
  if (path == "model_index.json") return true;
  if (path.find('/') != std::string_view::npos) return false;  // nested weights: loaded by the library
  auto ext = split_ext(path).second;
  return ext == "safetensors" || ext == "ckpt" || ext == "bin";
}

}  // namespace

bool query_matches(std::string_view query, std::string_view path) {
  return Eval(query, path).run().value_or(false);
}

bool model_query_file(std::string_view library, std::string_view path) {
  if (split_ext(base_name(path)).second == "gguf") return true;
  if (library == "diffusers") return diffusers_query_file(path);
  auto it = std::find_if(std::begin(kQueries), std::end(kQueries),
                         [&](const LibraryQuery& q) { return library == q.library; });
  if (it != std::end(kQueries)) return query_matches(it->query, path);
  return default_query_file(path);
}

}  // namespace hubgate::hub
