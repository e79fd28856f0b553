#!/usr/bin/env bash
# Generates the format-validator corpus (safetensors, gguf, onnx, keras/hdf5, archives) into
# OUT and runs the checker over it. Uses the project venv (scripts/setup.sh) when present.
# Usage: run_formats_corpus.sh OUT CHECKER
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$1
checker=$2
py=python3
[ -x "$root/.venv/bin/python" ] && py="$root/.venv/bin/python"
rm -rf "$out"
for fam in safetensors gguf onnx keras archives; do
  "$py" "$here/gen_$fam.py" "$out"
done
exec "$checker" "$out"
