#!/usr/bin/env python3
"""Xet vs plain HTTP through the same hubgate (hosted repository), with the real clients.

Download of one large file: huggingface_hub + hf_xet (CAS reconstruction + xorb ranges) vs
huggingface_hub with HF_HUB_DISABLE_XET=1 (plain resolve GET) vs curl. Upload of one large file:
upload_folder with hf_xet (xorbs + shard, then commit materializes the sha256 blob) vs LFS basic
(signed PUT, then commit ingests into the chunk store). Every run uses a fresh HF_HOME (no client
cache) and, for uploads, fresh random content (no dedup). Prints medians and ratios.

usage: .venv/bin/python bench/xet_gateway/bench_xet_gateway.py --hubgate build/hubgate
env: SIZE_MB (default 512), RUNS (default 3)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e_xet"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", default=str(ROOT / "build" / "hubgate"))
    args = ap.parse_args()
    os.environ["HUBGATE_BIN"] = os.path.abspath(args.hubgate)
    from xet_harness import hg, hh, metrics  # noqa: E402

    size = int(os.environ.get("SIZE_MB", "512")) * 1000 * 1000
    runs = int(os.environ.get("RUNS", "3"))
    tmp = hg.make_tempdir("bench-xetgw")
    srv = hg.start_server(tmp / "data")
    tok = hg.create_token(tmp / "data", "bench", write=True)
    res: dict[str, list[float]] = {k: [] for k in ("up_xet", "up_lfs", "down_xet", "down_http", "down_curl")}
    try:
        hh(srv, tok, tmp / "h0", "create_repo", {"repo": "bench/x"}, xet=True)
        hh(srv, tok, tmp / "h0", "create_repo", {"repo": "bench/l"}, xet=True)
        for i in range(runs):
            for mode in ("xet", "lfs"):
                folder = tmp / f"up-{mode}-{i}"
                hg.write_random(folder / "model.bin", size, seed=1000 + i * 2 + (mode == "lfs"))
                t0 = time.perf_counter()
                hh(srv, tok, tmp / f"hu-{mode}-{i}", "upload_folder",
                   {"repo": f"bench/{mode[0]}", "folder": str(folder), "message": f"run {i}"}, xet=(mode == "xet"))
                res[f"up_{mode}"].append(time.perf_counter() - t0)
                (folder / "model.bin").unlink()
            for mode in ("xet", "http"):
                home = tmp / f"hd-{mode}-{i}"
                t0 = time.perf_counter()
                out = hh(srv, tok, home, "hf_hub_download", {"repo": "bench/x", "path": "model.bin"}, xet=(mode == "xet"))
                res[f"down_{mode}"].append(time.perf_counter() - t0)
                assert os.path.getsize(out["file"]) == size
                subprocess.run(["rm", "-rf", str(home)], check=True)
            t0 = time.perf_counter()
            r = subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{size_download}",
                                "-H", f"Authorization: Bearer {tok}", f"{srv.url}/bench/x/resolve/main/model.bin"],
                               capture_output=True, text=True, timeout=600)
            res["down_curl"].append(time.perf_counter() - t0)
            assert r.returncode == 0 and int(r.stdout) == size
        m = metrics(srv)
    finally:
        srv.stop()
        hg.remove_tempdir(tmp)

    mb = size / 1e6
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"file {mb:.0f} MB, {runs} runs, medians (s) and throughput (MB/s); client and server on one host")
    for k, v in med.items():
        print(f"  {k:10s} {v:8.2f} s  {mb / v:8.1f} MB/s   runs: {', '.join(f'{x:.2f}' for x in res[k])}")
    print(f"download: Xet / plain HTTP (both huggingface_hub) time ratio {med['down_xet'] / med['down_http']:.2f}, "
          f"Xet / curl {med['down_xet'] / med['down_curl']:.2f}")
    print(f"upload:   Xet / LFS basic time ratio {med['up_xet'] / med['up_lfs']:.2f}")
    v2 = m.get('hubgate_xet_reconstructions_total{version="v2"}', 0)
    print(f"server: reconstructions v2 {v2:.0f}, "
          f"xorb bytes received {m.get('hubgate_xet_xorb_bytes_received_total', 0):.0f}, "
          f"stored {m.get('hubgate_xet_stored_bytes', 0):.0f}, logical {m.get('hubgate_xet_logical_bytes', 0):.0f}")


if __name__ == "__main__":
    main()
