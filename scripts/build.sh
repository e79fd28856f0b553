#!/usr/bin/env bash
# Configure and build hubgate into build/ (Release-with-debug-info, dev warnings on).
# Extra arguments go to cmake's configure step, e.g. -DHUBGATE_SANITIZE=ON.
# HUBGATE_TARGET=NAME builds only that target (default: all).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${HUBGATE_BUILD_DIR:-$here/build}
# Paths relative to the checkout in ccache keys: a fresh clone reuses the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$here}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake -S "$here" -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build" -j"${HUBGATE_JOBS:-2}" ${HUBGATE_TARGET:+--target "$HUBGATE_TARGET"}
