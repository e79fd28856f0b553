// Git ids. compute_trees builds a folder tree from the sorted file list, then hashes it bottom
// up; within a tree git orders entries by name bytes where a folder's name is compared as if it
// ended in '/'.
#include "repo/git.hpp"

#include <algorithm>

#include "crypto/sha.hpp"
#include "util/hex.hpp"

namespace hubgate::repo {

std::string lfs_pointer(std::string_view sha256, std::uint64_t size) {
  return "version https://git-lfs.github.com/spec/v1\noid sha256:" + std::string(sha256) + "\nsize " +
         std::to_string(size) + "\n";
}

std::vector<std::pair<std::string, std::string>> version_headers(bool raw, std::string_view sha256,
                                                                 std::uint64_t size, std::string_view blob_sha1) {
  auto quoted = [](std::string_view v) { return "\"" + std::string(v) + "\""; };
  if (raw || sha256.empty()) return {{"ETag", quoted(blob_sha1)}};
  return {{"ETag", quoted(sha256)}, {"X-Linked-Etag", quoted(sha256)}, {"X-Linked-Size", std::to_string(size)}};
}

namespace {
struct Node {
  std::map<std::string, Node> dirs;
  std::vector<std::pair<std::string, const FileEntry*>> files;
};

std::string hash_node(const Node& n, const std::string& path, std::map<std::string, std::string>& out) {
  struct Item {
    std::string key, name, mode, sha1hex;
  };
  std::vector<Item> items;
  for (const auto& [name, f] : n.files) items.push_back({name, name, "100644", f->blob_sha1});
  for (const auto& [name, child] : n.dirs) {
    std::string sub = path.empty() ? name : path + "/" + name;
    items.push_back({name + "/", name, "40000", hash_node(child, sub, out)});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.key < b.key; });
  std::string body;
  for (const auto& it : items) {
    body += it.mode;
    body += ' ';
    body += it.name;
    body.push_back('\0');
    auto raw = from_hex(it.sha1hex);
    if (raw) body.append(reinterpret_cast<const char*>(raw->data()), raw->size());
  }
  crypto::Sha1 h;
  h.update("tree " + std::to_string(body.size()));
  h.update(std::string_view("\0", 1));
  h.update(body);
  std::string id = to_hex(h.final());
  out[path] = id;
  return id;
}
}  // namespace

std::map<std::string, std::string> compute_trees(const std::vector<FileEntry>& files) {
  Node root;
  for (const auto& f : files) {
    Node* n = &root;
    std::string_view p = f.path;
    for (;;) {
      auto slash = p.find('/');
      if (slash == std::string_view::npos) {
        n->files.emplace_back(std::string(p), &f);
        break;
      }
      n = &n->dirs[std::string(p.substr(0, slash))];
      p.remove_prefix(slash + 1);
    }
  }
  std::map<std::string, std::string> out;
  hash_node(root, "", out);
  return out;
}

std::string commit_id(const Commit& c) {
  std::string body = "tree " + c.tree + "\n";
  if (!c.parent.empty()) body += "parent " + c.parent + "\n";
  std::string stamp = " " + std::to_string(c.time) + " +0000\n";
  body += "author " + c.author + stamp;
  body += "committer " + c.author + stamp;
  body += "\n" + c.title + "\n";
  if (!c.description.empty()) body += "\n" + c.description + "\n";
  crypto::Sha1 h;
  h.update("commit " + std::to_string(body.size()));
  h.update(std::string_view("\0", 1));
  h.update(body);
  return to_hex(h.final());
}

}  // namespace hubgate::repo
