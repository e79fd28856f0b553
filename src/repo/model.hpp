// The repository model: repository ids, commits, file entries and immutable snapshots.
//
// A repository is `namespace/name` of a type (model, dataset, space). Each commit records a
// full snapshot: the sorted list of files (path, size, git blob sha1, content sha256, and for
// LFS files the pointer's size) plus the git tree id of every folder. Ids are real git ids:
// blob = sha1("blob <n>\0" + content) where an LFS file's git content is its pointer text;
// tree = sha1 over git's tree encoding (mode "100644"/"40000", name, NUL, raw sha1; entries in
// git order, folders compared as "name/"); commit = sha1 over "commit <n>\0" + the usual
// "tree/parent/author/committer" text (author "hubgate <hubgate@localhost>" unless given, UTC).
// So `git` would agree with every id. Values; thread-safe to share once built (const).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace hubgate::repo {

enum class RepoType { model = 0, dataset = 1, space = 2 };  // persisted: do not renumber

struct RepoId {
  RepoType type = RepoType::model;
  std::string ns;    // namespace (user or organisation)
  std::string name;
  std::string full() const { return ns + "/" + name; }
  // URL prefix: "" for models, "datasets/", "spaces/".
  std::string url_prefix() const;
  // API plural: "models", "datasets", "spaces".
  std::string api_plural() const;
  // Used in access patterns: "org/name" or "datasets/org/name".
  std::string qualified() const { return url_prefix() + full(); }
  bool operator==(const RepoId&) const = default;
};

const char* type_name(RepoType t);  // "model", "dataset", "space"
std::optional<RepoType> type_from_name(std::string_view s);     // singular
std::optional<RepoType> type_from_plural(std::string_view s);   // "models", ...

// One segment of a repo id: 1..96 chars of [A-Za-z0-9._-], not starting/ending with '.' or '-',
// no "--" or "..". Reserved first segments are refused for namespaces.
Result<void> validate_repo_segment(std::string_view s, std::string_view what);
Result<RepoId> make_repo_id(RepoType t, std::string_view ns, std::string_view name);

// A file path inside a repository: relative, '/'-separated, no empty, "." or ".." segments,
// no backslash, NUL or control characters, at most 1024 bytes (255 per segment).
Result<void> validate_path(std::string_view path);

struct LfsInfo {
  std::uint64_t pointer_size = 0;
};

struct FileEntry {
  std::string path;
  std::uint64_t size = 0;
  std::string blob_sha1;     // git blob id (of the pointer for LFS files)
  std::string sha256;        // content sha256 (the store key)
  bool lfs = false;
  std::uint64_t pointer_size = 0;  // LFS pointer length, when lfs
  std::string last_commit;   // id of the commit that last changed this path
};

struct DirEntry {
  std::string path;
  std::string oid;  // git tree id
};

struct Commit {
  std::string id;
  std::string parent;  // empty for a root commit
  std::string tree;
  std::string title;
  std::string description;
  std::string author;  // "Name <email>"
  std::int64_t time = 0;  // unix seconds, UTC
};

// "2024-05-01T10:20:30.000Z"
std::string iso_date(std::int64_t unix_seconds);

// An immutable view of a commit's files. `files` sorted by path; `dirs` keyed by path ("" = root).
struct Snapshot {
  Commit commit;
  std::vector<FileEntry> files;
  std::map<std::string, std::string> dirs;  // path -> tree oid

  const FileEntry* find(std::string_view path) const;
  bool is_dir(std::string_view path) const { return dirs.count(std::string(path)) > 0; }
};

// A tree listing item: a file or a folder.
struct TreeItem {
  bool is_dir = false;
  const FileEntry* file = nullptr;  // when !is_dir
  std::string path;
  std::string oid;                  // tree oid when is_dir
};

// Lists `dir` ("" = root): one level, or everything below it when `recursive` (folders
// included, each before its contents, in path order). Errc::not_found if `dir` is no folder.
Result<std::vector<TreeItem>> list_tree(const Snapshot& s, std::string_view dir, bool recursive);

}  // namespace hubgate::repo
