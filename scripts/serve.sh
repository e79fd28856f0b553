#!/usr/bin/env bash
# Sets up, builds and starts `hubgate serve` with its embedded defaults: data under ./data,
# SQLite metadata, listening on 0.0.0.0:8080, upstream https://huggingface.co.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh" --build-only
"$here/scripts/build.sh" -DHUBGATE_TESTS=OFF -DHUBGATE_BENCH=OFF
exec "${HUBGATE_BUILD_DIR:-$here/build}/hubgate" serve "$@"
