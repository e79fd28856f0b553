#!/usr/bin/env python3
"""Metadata request latency, PostgreSQL (`--database`) vs SQLite (the data directory): one node
each, same machine, same run, both on the same SeaweedFS (`--store s3://…`). A repository with
FILES small files and COMMITS commits is made on each; then REQUESTS sequential requests of each
kind are timed per run — `GET /api/models/{repo}` (info: find + resolve + snapshot), `GET
/api/models/{repo}/revision/main`, and a commit of one small file (`POST …/commit/main`, the
write path: one transaction with the parent check) — and p50/p99 are taken per run; the medians
of RUNS runs are printed, with the ratio PostgreSQL / SQLite. Starts its own engines with
scripts/services.sh.

usage: .venv/bin/python bench/cluster/bench_metadata.py --hubgate build/hubgate
env: RUNS (default 5), REQUESTS (default 300), FILES (default 50), COMMITS (default 20)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e_xet"))
sys.path.insert(0, str(ROOT / "tests" / "e2e_cluster"))


def commit_body(files: dict[str, str], summary: str) -> bytes:
    lines = [json.dumps({"key": "header", "value": {"summary": summary}})]
    for path, text in files.items():
        lines.append(json.dumps({"key": "file", "value": {"path": path, "encoding": "base64",
                                                          "content": base64.b64encode(text.encode()).decode()}}))
    return ("\n".join(lines) + "\n").encode()


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    a = ap.parse_args()
    os.environ["HUBGATE_BIN"] = str(Path(a.hubgate).resolve())
    from cluster_harness import create_token, start_node  # noqa: E402
    from services import read_env  # noqa: E402
    from xet_harness import hg  # noqa: E402

    runs = int(os.environ.get("RUNS", "5"))
    requests = int(os.environ.get("REQUESTS", "300"))
    nfiles = int(os.environ.get("FILES", "50"))
    ncommits = int(os.environ.get("COMMITS", "20"))
    tmp = hg.make_tempdir("bench-metadata")
    svc = str(ROOT / "scripts" / "services.sh")
    subprocess.run([svc, "start", str(tmp / "services")], check=True, capture_output=True, timeout=1800)
    try:
        env = read_env(tmp / "services" / "env")
        db = env["HUBGATE_DATABASE_URL"]
        pg = start_node(tmp / "pg", dict(env, HUBGATE_STORE=env["HUBGATE_STORE"] + "/pg"), ["--database", db])
        lite = start_node(tmp / "lite", dict(env, HUBGATE_STORE=env["HUBGATE_STORE"] + "/lite"))
        nodes = {"postgresql": (pg, create_token(db, "bench", write=True)),
                 "sqlite": (lite, hg.create_token(tmp / "lite", "bench", write=True))}
        repo = "bench/meta"
        for srv, tok in nodes.values():
            auth = {"Authorization": f"Bearer {tok}"}
            r = srv.request("POST", "/api/repos/create", json.dumps({"name": "meta", "organization": "bench"}).encode(),
                            dict(auth, **{"Content-Type": "application/json"}))
            assert r.status == 200, r.body
            for c in range(ncommits):
                files = {f"d{c}/f{i}.txt": f"{c} {i}\n" for i in range(nfiles // ncommits + 1)}
                r = srv.request("POST", f"/api/models/{repo}/commit/main", commit_body(files, f"c{c}"), auth)
                assert r.status == 200, r.body

        def measure(srv, tok: str, kind: str, run: int) -> list[float]:
            auth = {"Authorization": f"Bearer {tok}"}
            out = []
            for i in range(requests):
                t = time.perf_counter()
                if kind == "commit":
                    r = srv.request("POST", f"/api/models/{repo}/commit/main",
                                    commit_body({f"w/{run}_{i}.txt": "x\n"}, "w"), auth)
                else:
                    r = srv.get(f"/api/models/{repo}" + ("/revision/main" if kind == "revision" else ""), token=tok)
                out.append(time.perf_counter() - t)
                assert r.status == 200, r.body
            return out

        kinds = ["info", "revision", "commit"]
        results = {(k, n): ([], []) for k in kinds for n in nodes}
        for run in range(runs):
            for kind in kinds:
                for name, (srv, tok) in nodes.items():  # interleaved: the same load on both
                    xs = measure(srv, tok, kind, run)
                    results[(kind, name)][0].append(percentile(xs, 50))
                    results[(kind, name)][1].append(percentile(xs, 99))
        print(f"{runs} runs x {requests} sequential requests per kind; medians of per-run p50/p99 (ms)")
        print(f"{'request':<34}{'PG p50':>9}{'PG p99':>9}{'SQLite p50':>12}{'SQLite p99':>12}{'ratio p50':>11}{'ratio p99':>11}")
        labels = {"info": f"GET /api/models/{repo}", "revision": f"GET …/revision/main",
                  "commit": "POST …/commit/main (1 file)"}
        for kind in kinds:
            p50 = statistics.median(results[(kind, "postgresql")][0]) * 1000
            p99 = statistics.median(results[(kind, "postgresql")][1]) * 1000
            s50 = statistics.median(results[(kind, "sqlite")][0]) * 1000
            s99 = statistics.median(results[(kind, "sqlite")][1]) * 1000
            print(f"{labels[kind]:<34}{p50:9.2f}{p99:9.2f}{s50:12.2f}{s99:12.2f}{p50 / s50:11.2f}{p99 / s99:11.2f}")
        for srv, _ in nodes.values():
            assert srv.stop() == 0
    finally:
        subprocess.run([svc, "clean", str(tmp / "services")], check=False, timeout=120)
        hg.remove_tempdir(tmp)


if __name__ == "__main__":
    main()
