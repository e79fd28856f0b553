#!/usr/bin/env python3
"""Upstream bytes per file for N edge nodes sharing one SeaweedFS (+ PostgreSQL): N nodes x C
concurrent `curl | sha256sum` clients ask for one cold file of the fake upstream
(tests/upstream/fake_upstream.py counts what it sends). Cluster mode (`--database --advertise`:
one node fetches, the others stream from it) against the peer measured in the same run: the same
N nodes on the same store without coordination (each fills on its own). Prints, per mode, the
median over RUNS of upstream bytes / file size and of the wall time until every client is done,
and the ratios cluster/peer. Starts its own engines with scripts/services.sh unless
HUBGATE_SERVICES_ENV names running ones.

usage: .venv/bin/python bench/cluster/bench_fill.py --hubgate build/hubgate
env: SIZE_MB (default 256, MiB), NODES (3), CLIENTS (8 per node), RUNS (3)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e_cluster"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    a = ap.parse_args()
    os.environ["HUBGATE_BIN"] = str(Path(a.hubgate).resolve())
    os.environ["FAKE_UPSTREAM"] = str(ROOT / "tests" / "upstream" / "fake_upstream.py")
    import cluster_nodes as cn  # noqa: E402  (reads the two variables above)
    from services import read_env  # noqa: E402

    size = int(os.environ.get("SIZE_MB", "256")) << 20
    nodes_n = int(os.environ.get("NODES", "3"))
    clients = int(os.environ.get("CLIENTS", "8"))
    runs = int(os.environ.get("RUNS", "3"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-fill-"))
    svc = str(ROOT / "scripts" / "services.sh")
    own = not os.environ.get("HUBGATE_SERVICES_ENV")
    if own:
        subprocess.run([svc, "start", str(tmp / "services")], check=True, capture_output=True, timeout=1800)
    env_file = tmp / "services" / "env" if own else Path(os.environ["HUBGATE_SERVICES_ENV"])
    try:
        base = read_env(env_file)
        cn.use_store_credentials(base)
        results: dict[str, list[tuple[float, float]]] = {"cluster": [], "peer": []}
        for run in range(runs):
            for mode in ("cluster", "peer"):
                env = dict(base, HUBGATE_STORE=base["HUBGATE_STORE"].rstrip("/") + "/bench-" + uuid.uuid4().hex[:10])
                d = tmp / f"{mode}-{run}"
                d.mkdir()
                up = cn.harness.FakeUpstream(str(d), big_size=size)
                nodes = [cn.start_node(d / f"n{i}", env, up.url, cluster=(mode == "cluster")) for i in range(nodes_n)]
                try:
                    t0 = time.perf_counter()
                    procs = [p for n in nodes for p in cn.start_clients(n.url + "/org/model/resolve/main/model.bin", clients)]
                    got = cn.finish_clients(procs)
                    wall = time.perf_counter() - t0
                    assert None not in got and len(set(got)) == 1, got
                    results[mode].append((up.stats()["bytes_sent"] / size, wall))
                finally:
                    for n in nodes:
                        n.stop()
                    up.stop()
                    subprocess.run(["rm", "-rf", str(d)], check=False)
        med = {m: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for m, v in results.items()}
        print(f"file {size >> 20} MiB, {nodes_n} nodes x {clients} clients, {runs} runs (medians)")
        for m, (ratio, wall) in med.items():
            print(f"{m:8s} upstream bytes / file size {ratio:5.2f}   all clients done {wall:7.2f} s")
        print(f"ratio cluster/peer: upstream bytes {med['cluster'][0] / med['peer'][0]:.2f}, "
              f"time {med['cluster'][1] / med['peer'][1]:.2f}")
    finally:
        if own:
            subprocess.run([svc, "clean", str(tmp / "services")], check=False, timeout=120)
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
