#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit tests, fuzz targets (bounded time) and
# end-to-end tests with the real clients. Prints ctest's summary.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
"$here/scripts/build.sh"
cd "${HUBGATE_BUILD_DIR:-$here/build}"
ctest --output-on-failure -j2 --timeout 900 "$@"
