// Persistent small-value store for upstream metadata (file metadata per commit+path, branch ->
// commit mappings, cached API replies, repo visibility), so that an edge restarted offline still
// answers what it learned before.
//
// Format: one file per key, `<root>/<h[0:2]>/<h>` with h = sha256(key) in hex; the content is
// `hgmeta1 <sha256 hex of the rest>\n<key>\n<value>` (the key is repeated to detect hash
// collisions and for debugging). Files are renamed into place without fsync (an fsync on the
// request path costs milliseconds, and everything here can be asked again): a file that a
// crash left empty or torn fails its checksum and reads as absent; files of an older format
// (no `hgmeta1` line) read as absent too.
// An in-memory map fronts the files. With an empty root the store is memory-only (tests).
// Thread-safety: all methods are thread-safe. Persistence failures are reported to the caller
// but leave the in-memory value set (the answer is still correct for this process).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "util/error.hpp"

namespace hubgate::upstream {

class MetaStore {
 public:
  static Result<std::unique_ptr<MetaStore>> open_dir(std::string root);
  std::optional<std::string> get(const std::string& key);
  Result<void> put(const std::string& key, std::string value);

 private:
  explicit MetaStore(std::string root) : root_(std::move(root)) {}
  std::string path_of(const std::string& key) const;
  std::string root_;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> mem_;
};

}  // namespace hubgate::upstream
