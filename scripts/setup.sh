#!/usr/bin/env bash
# Installs everything hubgate needs to build, run and test, from Debian's archive, PyPI and npm.
# Idempotent: a second run only checks. Usage: scripts/setup.sh [--build-only]
#   --build-only   just the C++ toolchain and libraries (enough for `hubgate serve`)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-all}

build_pkgs=(build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  libboost-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev liblz4-dev libzstd-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libhdf5-dev libclamav-dev zlib1g-dev liblzma-dev libbz2-dev libpq-dev)
test_pkgs=(libgtest-dev libgmock-dev libbenchmark-dev b3sum nginx-light python3 python3-venv
  python3-pip python3-numpy python3-h5py python3-onnx python3-torch nodejs npm hyperfine
  clang-14 libclang-rt-14-dev sqlite3 openssl postgresql-15 postgresql-client-15)

want=("${build_pkgs[@]}")
[ "$mode" = "--build-only" ] || want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs/npm may come from elsewhere on the machine; accept any working node >= 18.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
[ "$mode" = "--build-only" ] && exit 0

# Python peers, pinned, in a venv that also sees Debian's torch/numpy/h5py/onnx.
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
# Every tests/**/requirements.txt is installed together (one resolution), re-run when one changes.
reqs=$(find "$here/tests" -name requirements.txt -not -path '*/node_modules/*' | sort)
stamp="$venv/.requirements.sha256"
if [ -n "$reqs" ] && [ "$(cat $reqs | sha256sum)" != "$(cat "$stamp" 2>/dev/null)" ]; then
  args=(); for r in $reqs; do args+=(-r "$r"); done
  "$venv/bin/pip" install -q --disable-pip-version-check "${args[@]}"
  cat $reqs | sha256sum > "$stamp"
fi
# Pinned peers whose declared dependencies must not be resolved (they would pull torch from
# PyPI): tests/**/requirements-nodeps.txt, installed with --no-deps.
nodeps=$(find "$here/tests" -name requirements-nodeps.txt -not -path '*/node_modules/*' | sort)
nostamp="$venv/.requirements-nodeps.sha256"
if [ -n "$nodeps" ] && [ "$(cat $nodeps | sha256sum)" != "$(cat "$nostamp" 2>/dev/null)" ]; then
  args=(); for r in $nodeps; do args+=(-r "$r"); done
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps "${args[@]}"
  cat $nodeps | sha256sum > "$nostamp"
fi

# The hubgate Python package (python/): its extension is built from this checkout's sources
# (src/loader/sources.cmake) with the build requirements pinned above (nanobind,
# scikit-build-core), without build isolation (no second download); python/build/ keeps the
# build incremental. Re-run when those sources change.
pystamp="$venv/.hubgate-python.sha256"
pysum=$(cd "$here" && find python src/loader src/scan/safetensors_layout.* src/scan/json_strict.* src/crypto/sha.* \
  src/util -type f -not -path 'python/build/*' -not -name '*.pyc' | sort | xargs cat | sha256sum)
if [ "$pysum" != "$(cat "$pystamp" 2>/dev/null)" ]; then
  "$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation "$here/python"
  echo "$pysum" > "$pystamp"
fi

# npm peers, pinned by lockfiles: every tests/**/package-lock.json. onnxruntime-node (under
# @huggingface/transformers) ships its CPU binaries in the npm package; its install script would
# also download CUDA ones from outside the registry: skip that (the package's .npmrc says so too).
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
for lock in $(find "$here/tests" -name package-lock.json -not -path '*/node_modules/*' | sort); do
  dir=$(dirname "$lock")
  lockstamp="$dir/node_modules/.lock.sha256"
  if [ "$(sha256sum < "$lock")" != "$(cat "$lockstamp" 2>/dev/null)" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    sha256sum < "$lock" > "$lockstamp"
  fi
done

# The engines of cluster mode's tests (scripts/services.sh): PostgreSQL 15 comes from Debian
# above; SeaweedFS is built from its Go module at the version pinned in scripts/seaweedfs/go.mod
# with the Go toolchain on the machine, once per version (cached outside the clone).
"$here/scripts/services.sh" build >/dev/null
