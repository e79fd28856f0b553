"""Listing latency of hosted repositories: creates N repositories (each with a README card) in a
fresh `hubgate serve`, then times GET /api/models (default fields, first page of 1000), the same
with `full=true`, a search, and a `list_repo_commits` page. Prints medians of R runs.

    .venv/bin/python bench/listing/bench_listing.py --hubgate build/hubgate [--repos 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "e2e"))
import os  # noqa: E402

import hubgate_e2e as hg  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    os.environ["HUBGATE_BIN"] = str(Path(a.hubgate).resolve())
    root = Path(tempfile.mkdtemp(prefix="hubgate-bench-listing-"))
    try:
        data = root / "data"
        data.mkdir()
        token = hg.create_token(data, "bench", write=True)
        srv = hg.start_server(data, ["--upstream", "none"])
        auth = {"Authorization": f"Bearer {token}"}
        card = "---\nlicense: mit\ntags:\n- bench\n---\n"
        t0 = time.perf_counter()
        for i in range(a.repos):
            r = srv.request("POST", "/api/repos/create", json.dumps({"name": f"r{i:05d}", "organization": "bench"}).encode(),
                            auth)
            assert r.status == 200, r.body
            line = json.dumps({"key": "file", "value": {"path": "README.md", "encoding": "base64",
                                                        "content": base64.b64encode(card.encode()).decode()}})
            head = json.dumps({"key": "header", "value": {"summary": f"card {i}"}})
            r = srv.request("POST", f"/api/models/bench/r{i:05d}/commit/main", (head + "\n" + line + "\n").encode(), auth)
            assert r.status == 200, r.body
        print(f"created {a.repos} repositories in {time.perf_counter() - t0:.1f} s")

        def timed(path: str) -> tuple[float, int]:
            ts, n = [], 0
            for _ in range(a.runs + 1):  # the first run warms the caches; not counted
                t = time.perf_counter()
                r = srv.get(path, token=token)
                ts.append(time.perf_counter() - t)
                assert r.status == 200, r.body
                n = len(r.json())
            return statistics.median(ts[1:]) * 1000, n

        for label, path in [("list default", "/api/models?limit=1000"),
                            ("list full", "/api/models?limit=1000&full=true"),
                            ("list filter=bench", "/api/models?filter=bench&limit=1000"),
                            ("list search", "/api/models?search=r0099"),
                            ("commits page", "/api/models/bench/r00001/commits/main")]:
            ms, n = timed(path)
            print(f"{label:20s} {n:5d} items  median {ms:8.2f} ms")
        assert srv.stop() == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
