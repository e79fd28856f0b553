#!/usr/bin/env python3
"""Differential test: `hubgate xet hash` against the reference client hf_xet (xet-core).

Every input's Xet file hash (and size) must equal hf_xet.hash_files(); the inputs are the 120
deterministic inputs of gen_inputs plus a real safetensors file written with `safetensors.numpy`.
Usage: diff_hf_xet.py HUBGATE_BINARY WORKDIR   (run with the project's .venv python)
"""
import os
import shutil
import subprocess
import sys

import hf_xet
import numpy as np
from safetensors.numpy import save_file

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from gen_inputs import make_inputs  # noqa: E402


def main():
    hubgate, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    paths = make_inputs(work)
    rng = np.random.default_rng(7)
    st = os.path.join(work, "model.safetensors")
    save_file({"embed.weight": rng.standard_normal((512, 256), dtype=np.float32),
               "layer.0.weight": rng.standard_normal((256, 256)).astype(np.float16),
               "layer.0.bias": np.zeros(256, dtype=np.float32)}, st, metadata={"format": "pt"})
    paths.append(st)
    ref = hf_xet.hash_files(paths)
    ours = subprocess.run([hubgate, "xet", "hash", *paths], check=True, capture_output=True, text=True).stdout.splitlines()
    failures = 0
    for p, r, line in zip(paths, ref, ours):
        h, sha, size, _ = line.split(" ", 3)
        if h != r.hash or int(size) != r.file_size:
            failures += 1
            print(f"FAIL {p}: hubgate {h} {size}, hf_xet {r.hash} {r.file_size}")
    print(f"{len(paths)} files: {len(paths) - failures} equal Xet hashes, {failures} failures")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures or len(ours) != len(paths) else 0)


if __name__ == "__main__":
    main()
