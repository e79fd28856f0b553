#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite: unit tests, fuzz targets (bounded time) and
# end-to-end tests with the real clients. Prints ctest's summary.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
# Tests and benchmarks on, whatever an earlier `scripts/serve.sh` configured in the same folder.
"$here/scripts/build.sh" -DHUBGATE_TESTS=ON -DHUBGATE_BENCH=ON
cd "${HUBGATE_BUILD_DIR:-$here/build}"
ctest --output-on-failure -j2 --timeout 900 "$@"
