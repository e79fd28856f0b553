// Repository ids, path validation, dates and tree listing over a Snapshot.
#include "repo/model.hpp"

#include <algorithm>
#include <ctime>

namespace hubgate::repo {

std::string RepoId::url_prefix() const {
  switch (type) {
    case RepoType::model: return "";
    case RepoType::dataset: return "datasets/";
    case RepoType::space: return "spaces/";
  }
  return "";
}

std::string RepoId::api_plural() const {
  switch (type) {
    case RepoType::model: return "models";
    case RepoType::dataset: return "datasets";
    case RepoType::space: return "spaces";
  }
  return "models";
}

const char* type_name(RepoType t) {
  switch (t) {
    case RepoType::model: return "model";
    case RepoType::dataset: return "dataset";
    case RepoType::space: return "space";
  }
  return "model";
}

std::optional<RepoType> type_from_name(std::string_view s) {
  if (s == "model") return RepoType::model;
  if (s == "dataset") return RepoType::dataset;
  if (s == "space") return RepoType::space;
  return std::nullopt;
}

std::optional<RepoType> type_from_plural(std::string_view s) {
  if (s == "models") return RepoType::model;
  if (s == "datasets") return RepoType::dataset;
  if (s == "spaces") return RepoType::space;
  return std::nullopt;
}

Result<void> validate_repo_segment(std::string_view s, std::string_view what) {
  auto bad = [&](std::string why) {
    return fail(Errc::invalid_argument, "invalid " + std::string(what) + " '" + std::string(s.substr(0, 100)) + "': " + why);
  };
  if (s.empty()) return bad("empty");
  if (s.size() > 96) return bad("longer than 96 characters");
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return bad("only letters, digits, '-', '_' and '.' are allowed");
  }
  if (s.front() == '.' || s.front() == '-' || s.back() == '.' || s.back() == '-') {
    return bad("must not start or end with '.' or '-'");
  }
  if (s.find("--") != std::string_view::npos || s.find("..") != std::string_view::npos) {
    return bad("must not contain '--' or '..'");
  }
  return {};
}

Result<RepoId> make_repo_id(RepoType t, std::string_view ns, std::string_view name) {
  HG_TRY_VOID(validate_repo_segment(ns, "namespace"));
  HG_TRY_VOID(validate_repo_segment(name, "repository name"));
  for (std::string_view r : {"api", "datasets", "spaces", "kernels", "buckets", "models"}) {
    if (ns == r) return fail(Errc::invalid_argument, "namespace '" + std::string(ns) + "' is reserved");
  }
  return RepoId{t, std::string(ns), std::string(name)};
}

Result<void> validate_path(std::string_view path) {
  auto bad = [&](std::string why) {
    return fail(Errc::invalid_argument, "invalid path '" + std::string(path.substr(0, 200)) + "': " + why);
  };
  if (path.empty()) return bad("empty");
  if (path.size() > 1024) return bad("longer than 1024 bytes");
  if (path.front() == '/') return bad("absolute paths are not allowed");
  for (unsigned char c : path) {
    if (c == 0) return bad("NUL byte");
    if (c == '\\') return bad("backslashes are not allowed");
    if (c < 0x20 || c == 0x7f) return bad("control characters are not allowed");
  }
  std::string_view rest = path;
  while (true) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg.empty()) return bad("empty path segment");
    if (seg == "." || seg == "..") return bad("'.' and '..' segments are not allowed");
    if (seg.size() > 255) return bad("segment longer than 255 bytes");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return {};
}

std::string iso_date(std::int64_t t) {
  std::time_t tt = std::time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return buf;
}

const FileEntry* Snapshot::find(std::string_view path) const {
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const FileEntry& f, std::string_view p) { return f.path < p; });
  if (it != files.end() && it->path == path) return &*it;
  return nullptr;
}

Result<std::vector<TreeItem>> list_tree(const Snapshot& s, std::string_view dir, bool recursive) {
  std::string d(dir);
  while (!d.empty() && d.back() == '/') d.pop_back();
  if (!s.is_dir(d)) return fail(Errc::not_found, "no folder '" + d + "' in commit " + s.commit.id);
  std::string prefix = d.empty() ? "" : d + "/";
  std::vector<TreeItem> out;
  // Folders below `d`, from the dirs map.
  for (auto it = s.dirs.lower_bound(prefix); it != s.dirs.end(); ++it) {
    const std::string& p = it->first;
    if (p.empty() || p.compare(0, prefix.size(), prefix) != 0) {
      if (p.empty()) continue;
      break;
    }
    std::string_view rest = std::string_view(p).substr(prefix.size());
    if (!recursive && rest.find('/') != std::string_view::npos) continue;
    TreeItem t;
    t.is_dir = true;
    t.path = p;
    t.oid = it->second;
    out.push_back(std::move(t));
  }
  auto first = std::lower_bound(s.files.begin(), s.files.end(), prefix,
                                [](const FileEntry& f, const std::string& p) { return f.path < p; });
  for (auto it = first; it != s.files.end(); ++it) {
    if (it->path.compare(0, prefix.size(), prefix) != 0) break;
    std::string_view rest = std::string_view(it->path).substr(prefix.size());
    if (!recursive && rest.find('/') != std::string_view::npos) continue;
    TreeItem t;
    t.file = &*it;
    t.path = it->path;
    out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(), [](const TreeItem& a, const TreeItem& b) { return a.path < b.path; });
  return out;
}

}  // namespace hubgate::repo
