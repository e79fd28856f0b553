// build_commit: copy the parent's files into a map, apply ops, check that no file path is a
// prefix folder of another file, then compute folder trees (git.cpp) and the commit id. A file
// counts as changed when it is new or its blob id differs from the parent's; changed files get
// the new commit as `last_commit`, unchanged ones keep theirs.
#include "repo/edit.hpp"

#include <map>

#include "repo/git.hpp"
#include "crypto/sha.hpp"

namespace hubgate::repo {

FileOp put_op(std::string path, std::uint64_t size, std::string sha256, std::string git_blob_sha1_of_content, bool lfs) {
  FileOp op;
  op.kind = FileOp::Kind::put;
  op.entry.path = std::move(path);
  op.entry.size = size;
  op.entry.lfs = lfs;
  if (lfs) {
    std::string ptr = lfs_pointer(sha256, size);
    op.entry.pointer_size = ptr.size();
    op.entry.blob_sha1 = crypto::git_blob_sha1_hex(ptr);
  } else {
    op.entry.blob_sha1 = std::move(git_blob_sha1_of_content);
  }
  op.entry.sha256 = std::move(sha256);
  return op;
}

bool is_commit_prefix(std::string_view s) {
  if (s.size() < 7 || s.size() > 40) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Result<Snapshot> build_commit(const Snapshot* parent, const std::vector<FileOp>& ops, const CommitMeta& meta) {
  std::map<std::string, FileEntry> files;
  if (parent)
    for (const auto& f : parent->files) files.emplace(f.path, f);
  std::map<std::string, bool> changed;
  for (const auto& op : ops) {
    switch (op.kind) {
      case FileOp::Kind::put: {
        HG_TRY_VOID(validate_path(op.entry.path));
        auto it = files.find(op.entry.path);
        bool differs = it == files.end() || it->second.blob_sha1 != op.entry.blob_sha1;
        FileEntry e = op.entry;
        if (!differs) e.last_commit = it->second.last_commit;
        files[op.entry.path] = std::move(e);
        changed[op.entry.path] = differs || changed[op.entry.path];
        break;
      }
      case FileOp::Kind::delete_file: {
        if (files.erase(op.path) == 0) return fail(Errc::not_found, "cannot delete '" + op.path + "': no such file");
        changed.erase(op.path);
        break;
      }
      case FileOp::Kind::delete_folder: {
        std::string prefix = op.path;
        while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
        if (prefix.empty()) return fail(Errc::invalid_argument, "cannot delete the root folder");
        prefix += '/';
        std::size_t n = 0;
        for (auto it = files.lower_bound(prefix); it != files.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
          changed.erase(it->first);
          it = files.erase(it);
          ++n;
        }
        if (n == 0) return fail(Errc::not_found, "cannot delete folder '" + op.path + "': no such folder");
        break;
      }
    }
  }
  // A path cannot be both a file and a folder: with sorted keys, "a" is followed by "a/..." only
  // after keys like "a-b" ('-' < '/'), so check each file's folder prefixes directly.
  for (const auto& [path, _] : files) {
    for (auto slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
      if (files.count(path.substr(0, slash))) {
        return fail(Errc::invalid_argument, "'" + path.substr(0, slash) + "' would be both a file and a folder");
      }
    }
  }
  Snapshot s;
  s.files.reserve(files.size());
  for (auto& [_, f] : files) s.files.push_back(std::move(f));
  s.dirs = compute_trees(s.files);
  s.commit.parent = parent ? parent->commit.id : "";
  s.commit.tree = s.dirs[""];
  s.commit.title = meta.title;
  s.commit.description = meta.description;
  s.commit.author = meta.author;
  s.commit.time = meta.time;
  s.commit.id = commit_id(s.commit);
  for (auto& f : s.files) {
    auto it = changed.find(f.path);
    if ((it != changed.end() && it->second) || f.last_commit.empty()) f.last_commit = s.commit.id;
  }
  return s;
}

}  // namespace hubgate::repo
