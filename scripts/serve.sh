#!/usr/bin/env bash
# Sets up, builds and starts `hubgate serve` with its embedded defaults: data under ./data,
# SQLite metadata, listening on 0.0.0.0:8080, upstream https://huggingface.co.
# Only the `hubgate` target is built. A build folder that is already configured keeps its
# options (tests and benchmarks stay on for scripts/test.sh); a new one is configured without
# tests and benchmarks, which need packages that `setup.sh --build-only` does not install.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${HUBGATE_BUILD_DIR:-$here/build}
"$here/scripts/setup.sh" --build-only
if [ -f "$build/CMakeCache.txt" ]; then
  HUBGATE_TARGET=hubgate "$here/scripts/build.sh"
else
  HUBGATE_TARGET=hubgate "$here/scripts/build.sh" -DHUBGATE_TESTS=OFF -DHUBGATE_BENCH=OFF
fi
exec "$build/hubgate" serve "$@"
