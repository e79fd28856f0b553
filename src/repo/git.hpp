// Git object ids for hubgate's repository model (see model.hpp for the encoding).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "repo/model.hpp"

namespace hubgate::repo {

// The git-lfs pointer text for a sha256 and size.
std::string lfs_pointer(std::string_view sha256, std::uint64_t size);

// Computes every folder's tree id for a sorted, valid file list. Result maps folder path
// ("" = root) to its tree id.
std::map<std::string, std::string> compute_trees(const std::vector<FileEntry>& files);

// The commit object id (sha1 of "commit <n>\0<body>").
std::string commit_id(const Commit& c);

}  // namespace hubgate::repo
