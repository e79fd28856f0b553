// Git-format diffs (see diff.hpp): Myers' O(ND) shortest edit script over lines, grouped into
// hunks the way xdiff groups them (changes closer than 2 × context share a hunk).
#include "repo/diff.hpp"

#include <algorithm>
#include <cctype>

#include "repo/git.hpp"

namespace hubgate::repo {

namespace {

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    auto nl = s.find('\n');
    std::size_t n = nl == std::string_view::npos ? s.size() : nl + 1;
    out.push_back(s.substr(0, n));
    s.remove_prefix(n);
  }
  return out;
}

enum class Op : char { keep = ' ', del = '-', add = '+' };

// Beyond this many edits the search stops and the changed middle is shown as replaced (the
// search keeps one V array per edit).
constexpr long kMaxEdits = 4000;

std::vector<Op> replace_all(std::size_t pre, long n, long m, std::size_t suf) {
  std::vector<Op> out(pre, Op::keep);
  out.insert(out.end(), std::size_t(n), Op::del);
  out.insert(out.end(), std::size_t(m), Op::add);
  out.insert(out.end(), suf, Op::keep);
  return out;
}

// Shortest edit script (Myers 1986), forward greedy search with the V arrays kept for the
// backtrack; common prefix and suffix are trimmed first.
std::vector<Op> edit_script(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  std::size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  std::size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre && a[a.size() - 1 - suf] == b[b.size() - 1 - suf]) ++suf;
  const long n = long(a.size() - pre - suf), m = long(b.size() - pre - suf);
  auto A = [&](long i) { return a[pre + std::size_t(i)]; };
  auto B = [&](long j) { return b[pre + std::size_t(j)]; };
  std::vector<Op> mid;
  if (n == 0 || m == 0) {
    return replace_all(pre, n, m, suf);
  } else {
    const long max = n + m, off = max + 1;
    std::vector<long> v(std::size_t(2 * max + 3), 0);
    std::vector<std::vector<long>> trace;
    long d_end = -1;
    for (long d = 0; d <= std::min(max, kMaxEdits); ++d) {
      trace.push_back(v);
      bool done = false;
      for (long k = -d; k <= d; k += 2) {
        long x = (k == -d || (k != d && v[std::size_t(off + k - 1)] < v[std::size_t(off + k + 1)]))
                     ? v[std::size_t(off + k + 1)]
                     : v[std::size_t(off + k - 1)] + 1;
        long y = x - k;
        while (x < n && y < m && A(x) == B(y)) ++x, ++y;
        v[std::size_t(off + k)] = x;
        if (x >= n && y >= m) {
          done = true;
          break;
        }
      }
      if (done) {
        d_end = d;
        break;
      }
    }
    if (d_end < 0) return replace_all(pre, n, m, suf);  // too different to search
    long x = n, y = m;
    for (long d = d_end; d > 0; --d) {
      const auto& pv = trace[std::size_t(d)];
      long k = x - y;
      bool down = k == -d || (k != d && pv[std::size_t(off + k - 1)] < pv[std::size_t(off + k + 1)]);
      long pk = down ? k + 1 : k - 1;
      long px = pv[std::size_t(off + pk)], py = px - pk;
      while (x > px + (down ? 0 : 1) && y > py + (down ? 1 : 0)) {
        mid.push_back(Op::keep);
        --x, --y;
      }
      mid.push_back(down ? Op::add : Op::del);
      x = px, y = py;
    }
    while (x > 0 && y > 0) {
      mid.push_back(Op::keep);
      --x, --y;
    }
    std::reverse(mid.begin(), mid.end());
  }
  // Within each run of changes, deletions first (as git prints them).
  for (auto it = mid.begin(); it != mid.end();) {
    auto end = std::find(it, mid.end(), Op::keep);
    std::stable_partition(it, end, [](Op o) { return o == Op::del; });
    it = end == mid.end() ? end : end + 1;
  }
  std::vector<Op> out(pre, Op::keep);
  out.insert(out.end(), mid.begin(), mid.end());
  out.insert(out.end(), suf, Op::keep);
  return out;
}

std::string range(std::size_t start, std::size_t count) {
  // git: "l,s" with s omitted when 1; an empty range names the line before it.
  if (count == 0) return std::to_string(start == 0 ? 0 : start - 1) + ",0";
  return count == 1 ? std::to_string(start) : std::to_string(start) + "," + std::to_string(count);
}

std::string func_context(const std::vector<std::string_view>& a, std::size_t before) {
  for (std::size_t i = before; i-- > 0;) {
    std::string_view l = a[i];
    if (l.empty()) continue;
    unsigned char ch = static_cast<unsigned char>(l[0]);
    if (!(std::isalpha(ch) || ch == '_' || ch == '$')) continue;
    if (l.size() > 80) l = l.substr(0, 80);
    while (!l.empty() && std::isspace(static_cast<unsigned char>(l.back()))) l.remove_suffix(1);
    return " " + std::string(l);
  }
  return "";
}

bool is_binary(std::string_view s) { return s.substr(0, 8000).find('\0') != std::string_view::npos; }

std::string abbrev(const std::string& id) { return id.empty() ? "0000000" : id.substr(0, 7); }

}  // namespace

std::string unified_hunks(std::string_view ta, std::string_view tb, int context) {
  const auto a = split_lines(ta), b = split_lines(tb);
  const auto ops = edit_script(a, b);
  const std::size_t ctx = std::size_t(context);
  std::string out;
  std::size_t i = 0;
  while (i < ops.size()) {
    if (ops[i] == Op::keep) {
      ++i;
      continue;
    }
    // A hunk: from `ctx` lines before this change to `ctx` lines after the last change that is
    // separated from the next one by at most 2 × ctx unchanged lines.
    std::size_t start = i >= ctx ? i - ctx : 0, end = i;
    for (std::size_t j = i; j < ops.size();) {
      if (ops[j] != Op::keep) {
        end = j + 1;
        ++j;
        continue;
      }
      std::size_t run = j;
      while (run < ops.size() && ops[run] == Op::keep) ++run;
      if (run == ops.size() || run - j > 2 * ctx) break;
      j = run;
    }
    std::size_t stop = std::min(ops.size(), end + ctx);
    std::size_t ai = 0, bi = 0;  // lines before `start`
    for (std::size_t j = 0; j < start; ++j) {
      if (ops[j] != Op::add) ++ai;
      if (ops[j] != Op::del) ++bi;
    }
    std::size_t na = 0, nb = 0;
    for (std::size_t j = start; j < stop; ++j) {
      if (ops[j] != Op::add) ++na;
      if (ops[j] != Op::del) ++nb;
    }
    out += "@@ -" + range(ai + 1, na) + " +" + range(bi + 1, nb) + " @@" + func_context(a, ai) + "\n";
    for (std::size_t j = start; j < stop; ++j) {
      std::string_view line = ops[j] == Op::add ? b[bi++] : a[ai++];
      if (ops[j] == Op::keep) ++bi;
      out += char(ops[j]);
      out += line;
      if (!line.ends_with('\n')) out += "\n\\ No newline at end of file\n";
    }
    i = stop;
  }
  return out;
}

std::string git_diff(const Snapshot& from, const Snapshot& to, const FileReader& read) {
  auto content = [&](const FileEntry& f, bool& binary) -> std::string {
    if (f.lfs) return lfs_pointer(f.sha256, f.size);
    auto r = read(f);
    if (!r) {
      binary = true;
      return {};
    }
    if (is_binary(*r)) binary = true;
    return std::move(*r);
  };
  std::string out;
  std::size_t i = 0, j = 0;
  while (i < from.files.size() || j < to.files.size()) {
    const FileEntry* a = i < from.files.size() ? &from.files[i] : nullptr;
    const FileEntry* b = j < to.files.size() ? &to.files[j] : nullptr;
    if (a && b && a->path != b->path) (a->path < b->path ? b : a) = nullptr;
    if (a) ++i;
    if (b) ++j;
    if (a && b && a->blob_sha1 == b->blob_sha1) continue;
    const std::string& path = a ? a->path : b->path;
    out += "diff --git a/" + path + " b/" + path + "\n";
    if (!a) out += "new file mode 100644\n";
    if (!b) out += "deleted file mode 100644\n";
    out += "index " + abbrev(a ? a->blob_sha1 : "") + ".." + abbrev(b ? b->blob_sha1 : "") + (a && b ? " 100644" : "") + "\n";
    bool binary = false;
    std::string ta = a ? content(*a, binary) : std::string(), tb = b ? content(*b, binary) : std::string();
    const std::string an = a ? "a/" + path : "/dev/null", bn = b ? "b/" + path : "/dev/null";
    if (binary) {
      out += "Binary files " + an + " and " + bn + " differ\n";
      continue;
    }
    std::string hunks = unified_hunks(ta, tb);
    if (hunks.empty()) continue;  // an empty file added or removed
    out += "--- " + an + "\n+++ " + bn + "\n" + hunks;
  }
  return out;
}

}  // namespace hubgate::repo
