// Building a new commit from a parent snapshot and a list of file operations (pure logic).
//
// Operations apply in order: `put` adds or replaces a file, `delete_file` removes one (not_found
// when absent), `delete_folder` removes every file below a folder (not_found when none). The
// result must be a consistent tree: no path may be both a file and a folder (invalid_argument).
// Then folder trees, the commit id and each changed file's `last_commit` are computed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "repo/model.hpp"

namespace hubgate::repo {

struct FileOp {
  enum class Kind { put, delete_file, delete_folder };
  Kind kind = Kind::put;
  FileEntry entry;  // for put: path, size, blob_sha1, sha256, lfs, pointer_size
  std::string path; // for deletes
};

struct CommitMeta {
  std::string title;
  std::string description;
  std::string author = "hubgate <hubgate@localhost>";
  std::int64_t time = 0;
};

// `parent` may be null (root commit). Returns the complete new snapshot.
Result<Snapshot> build_commit(const Snapshot* parent, const std::vector<FileOp>& ops, const CommitMeta& meta);

// A put operation for content already hashed. LFS entries get the pointer's blob id and size.
FileOp put_op(std::string path, std::uint64_t size, std::string sha256, std::string git_blob_sha1_of_content,
              bool lfs);

// Revision + path split (spec §0): the longest '/'-separated prefix of `decoded` accepted by
// `is_revision` is the revision, the rest the path (may be empty).
struct RevPath {
  std::string rev;
  std::string path;
};
template <class F>
std::optional<RevPath> split_rev_path(std::string_view decoded, F&& is_revision) {
  std::size_t end = decoded.size();
  for (;;) {
    std::string_view cand = decoded.substr(0, end);
    if (!cand.empty() && is_revision(cand)) {
      std::string_view rest = end < decoded.size() ? decoded.substr(end + 1) : std::string_view{};
      return RevPath{std::string(cand), std::string(rest)};
    }
    auto slash = cand.rfind('/');
    if (slash == std::string_view::npos) return std::nullopt;
    end = slash;
  }
}

// True for 7..40 lowercase hex characters (a possible commit id or abbreviation).
bool is_commit_prefix(std::string_view s);

}  // namespace hubgate::repo
