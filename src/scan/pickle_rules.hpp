// Internal: how a pickle global is graded (allowlist / danger list / suspicious).
//
// `judge_global(module, name)` returns `safe` for globals on the allowlist of callables known to be
// innocuous in ML checkpoints (tensor/storage rebuilders, dtypes, numpy reconstructors, plain
// builtin constructors, OrderedDict, ...), `dangerous` for globals in a dangerous module (with
// parent-module inheritance: `os.path.join` inherits `os`), a dangerous qualified name
// (`builtins.eval`, `torch.load`), or a dotted name any of whose components is dangerous
// (`pathlib` + `os.system`), and `suspicious` for everything else. The full lists are in
// docs/scan-rules.md. Thread-safety: pure functions over static tables.
#pragma once

#include <string>
#include <string_view>

#include "scan/scan.hpp"

namespace hubgate::scan::pickle {

struct Judgement {
  Severity severity = Severity::suspicious;
  std::string why;  // which list entry matched (empty for unknown globals)
};

Judgement judge_global(std::string_view module, std::string_view name);

// Python 2 module names that pickle maps to Python 3 ones (fix_imports), e.g. __builtin__.
std::string_view py3_module(std::string_view module);

}  // namespace hubgate::scan::pickle
