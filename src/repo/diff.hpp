// Git-format diffs between two snapshots (what `git diff <from> <to>` prints with the default
// options, without rename detection): per changed path a `diff --git` header, `new file mode` /
// `deleted file mode`, an `index <abbrev>..<abbrev> 100644` line (7-hex abbreviations of the git
// blob ids), then `--- a/…` / `+++ b/…` and unified hunks (3 lines of context, Myers' minimal
// edit script — for heavily rewritten files git's heuristics may align the same changes
// differently —, hunk headers with git's default function context: the nearest earlier line
// starting with a letter, `_` or `$`, cut to 80 bytes), `\ No newline at end of file` markers, or
// `Binary files … differ` when either side has a NUL byte in its first 8000 bytes. LFS files
// diff as their pointer files, as git shows them without a smudge filter. Paths are in
// snapshot (byte) order.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "repo/model.hpp"
#include "util/error.hpp"

namespace hubgate::repo {

// The bytes of a (non-LFS) file; an error makes that file show as binary.
using FileReader = std::function<Result<std::string>(const FileEntry&)>;

// Unified hunks of two texts, from the first "@@" line on ("" when they are equal).
std::string unified_hunks(std::string_view a, std::string_view b, int context = 3);

std::string git_diff(const Snapshot& from, const Snapshot& to, const FileReader& read);

}  // namespace hubgate::repo
