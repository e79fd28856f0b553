"""The memory bound: a checkpoint several times larger than the ring streams through a process
whose peak resident memory grows by at most the ring plus the largest tensor (plus a fixed
allowance for the allocator and libraries), when the caller drops each tensor."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

import hubgate_e2e as hg
import st_files

REPO = "loader/larger-than-ring"
TENSOR = 4 << 20
COUNT = 48          # 192 MiB of weights
RING = 16 << 20
SLACK = 48 << 20    # libcurl buffers, thread stacks, Python objects

CHILD = r"""
import json, sys
import torch
import hubgate

def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024

endpoint, repo, ring = sys.argv[1], sys.argv[2], int(sys.argv[3])
f = hubgate.safe_open(repo, endpoint=endpoint, ring_bytes=ring, connections=4, request_bytes=1 << 20)
with open("/proc/self/clear_refs", "w") as c:
    c.write("5")  # resets the peak (VmHWM) to the current resident size: imports are left out
base = status("VmRSS")
total = count = 0
for name, t in f.tensors():
    total += t.numel() * t.element_size()
    count += 1
    del t
peak = status("VmHWM")
print(json.dumps(dict(base=base, peak=peak, total=total, count=count,
                      inflight=f.peak_inflight_bytes)))
"""


@pytest.fixture(scope="module")
def big(hub):
    root = hg.make_tempdir("big")
    rng = random.Random(9)
    chunk = rng.randbytes(TENSOR)
    tensors = [(f"layer{i:02d}", "U8", [TENSOR], chunk[i:] + chunk[:i]) for i in range(COUNT)]
    st_files.write(root / "repo" / "model.safetensors", st_files.build(tensors))
    hub.push(root / "repo", REPO)
    yield
    hg.remove_tempdir(root)


def test_peak_memory_is_ring_plus_largest_tensor(hub, big):
    r = subprocess.run([sys.executable, "-c", CHILD, hub.url, REPO, str(RING)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    m = json.loads(r.stdout.strip().splitlines()[-1])
    assert m["count"] == COUNT and m["total"] == COUNT * TENSOR
    assert m["inflight"] <= RING
    growth = m["peak"] - m["base"]
    bound = RING + TENSOR + SLACK
    assert m["total"] > 2 * bound, "the model must be larger than the bound for the test to mean anything"
    assert growth <= bound, f"peak RSS grew by {growth >> 20} MiB, bound {bound >> 20} MiB ({m})"
