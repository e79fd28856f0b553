#!/usr/bin/env bash
# Build and run the BLAKE3 benchmark (hubgate vs b3sum, keyed, single thread).
# Usage: bench/blake3/run.sh [--mib 1024] [--runs 5] [--dir /dev/shm] [--no-small]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${HUBGATE_BUILD_DIR:-$here/build}
[ -f "$build/build.ninja" ] || cmake -S "$here" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target blake3_bench -j"${HUBGATE_JOBS:-2}" >/dev/null
exec "$build/bench/blake3/blake3_bench" "$@"
