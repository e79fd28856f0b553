#!/usr/bin/env bash
# The checkout is self-contained: a copy of it in an unrelated temporary folder, with nothing
# beside it, configures, builds the signing tests (which read the interop data in
# tests/testdata/) and passes them; and no file of the repository names a path outside it.
# Usage: self_contained.sh SOURCE_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
work=$(mktemp -d /tmp/hubgate-fresh-XXXXXX)
trap 'rm -rf "$work"' EXIT

# 1. Nothing the project runs reads the folder beside the repository (the pattern is built so
#    that this file does not name it either).
outside='\.\./'"shared"'|HUBGATE_''SHARED|/work/''shared'
cd "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files --cached --others --exclude-standard)
else
  files=$(find . -type f -not -path './build*' -not -path './.venv/*' -not -path '*/node_modules/*' | sed 's|^\./||')
fi
bad=$(printf '%s\n' "$files" | while read -r f; do
  [ -f "$f" ] && grep -IlE "$outside" "$f" || true
done)
if [ -n "$bad" ]; then
  echo "files that name a path outside the repository:"; echo "$bad"; exit 1
fi

# 2. A copy of the checkout's files, alone in a temporary folder, builds and passes the
#    signing tests (their data lives in tests/testdata/).
mkdir "$work/hubgate"
printf '%s\n' "$files" | while read -r f; do [ -f "$f" ] && printf '%s\n' "$f"; done |
  tar -C "$src" -cf - -T - | tar -C "$work/hubgate" -xf -
[ ! -e "$work/shared" ] && [ ! -e "$work/hubgate/shared" ]
cd "$work/hubgate"
export CCACHE_BASEDIR="$work/hubgate" CCACHE_NOHASHDIR=1
cmake -S . -B build -G Ninja -DHUBGATE_BENCH=OFF >/dev/null
cmake --build build -j"${HUBGATE_JOBS:-2}" --target sign_tests >/dev/null
build/tests/unit/sign/sign_tests --gtest_brief=1
echo "self-contained: the copy in $work built and passed the signing tests"
