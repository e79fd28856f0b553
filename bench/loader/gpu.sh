#!/usr/bin/env bash
# The loader into GPU memory vs hf_hub_download + safetensors.torch.load_file + a plain pinned
# host-to-device copy, on a machine with a CUDA GPU and a CUDA build of torch in .venv. Needs a
# built hubgate (scripts/build.sh) and the Python package (scripts/setup.sh installs it).
# Usage: bench/loader/gpu.sh [SIZE_MIB] [RUNS]   (default 1024 MiB, 3 runs)
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
py="$here/.venv/bin/python"
"$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device for torch")'
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
for dev in cpu cuda:0; do
  "$py" "$here/bench/loader/bench_loader.py" --hubgate "$here/build/hubgate" \
    --size-mib "${1:-1024}" --runs "${2:-3}" --device "$dev"
done
