// Git object ids for hubgate's repository model (see model.hpp for the encoding).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "repo/model.hpp"

namespace hubgate::repo {

// The git-lfs pointer text for a sha256 and size.
std::string lfs_pointer(std::string_view sha256, std::uint64_t size);

// The version headers of a `resolve` or `raw` reply (hub-api.md §1), as (name, value) pairs,
// shared by hosted repositories (hub/) and pull-through ones (upstream/). An LFS file (`sha256`
// not empty) answered by resolve: `ETag` and `X-Linked-Etag` "<sha256>", `X-Linked-Size`
// `size`. The raw reply of an LFS file (its pointer) and any regular file: `ETag`
// "<blob_sha1>", the git blob id (for an LFS file, that of its pointer).
std::vector<std::pair<std::string, std::string>> version_headers(bool raw, std::string_view sha256,
                                                                 std::uint64_t size, std::string_view blob_sha1);

// Computes every folder's tree id for a sorted, valid file list. Result maps folder path
// ("" = root) to its tree id.
std::map<std::string, std::string> compute_trees(const std::vector<FileEntry>& files);

// The commit object id (sha1 of "commit <n>\0<body>").
std::string commit_id(const Commit& c);

}  // namespace hubgate::repo
