// Which file requests count as a download of a repository — the Hub's rule
// (docs/spec/hub-repo-api.md §13):
// - models: every GET or HEAD of a "query file". Without a library (or for a library without
//   its own rule) the query files are config.json, config.yaml, hyperparams.yaml, params.json and
//   meta.yaml at the repository root; a library's own `countDownloads` query replaces them
//   (download_queries.inc, generated from @huggingface/tasks); `diffusers` counts
//   model_index.json and top-level .safetensors/.ckpt/.bin files; .gguf files always count.
// - datasets: a series of file requests by one user within 5 minutes is one download.
// - spaces: not counted.
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "repo/model.hpp"

namespace hubgate::hub {

// Does a GET/HEAD of `path` count for a model whose card names `library` ("" = none)?
bool model_query_file(std::string_view library, std::string_view path);

// Evaluates one `countDownloads` query (`path:"x"`, `path_extension:"x"`, `path_filename:"x"`,
// `path_prefix:"x"`, `_exists_:"path_prefix"`, AND, OR, parentheses; AND binds tighter) against
// a file path; false for a query it cannot parse.
bool query_matches(std::string_view query, std::string_view path);

// The dataset series window: requests by one user less than this apart from the series' first
// request are the same download.
inline constexpr long kDatasetSeriesSeconds = 300;

}  // namespace hubgate::hub
