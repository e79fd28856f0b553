#!/usr/bin/env python3
"""One node on SeaweedFS (`--store s3://…`): a plain download of one hosted LFS blob
(a) as a local miss (the node's copies wiped: object store → node → client),
(b) as a local hit (sendfile from the node's disk), against the peer
(c) a plain GET of the same object straight from SeaweedFS with curl (its own SigV4).
Same machine, same run; curl to /dev/null; prints medians and the ratios miss/peer, hit/peer.
Starts its own engines with scripts/services.sh.

usage: .venv/bin/python bench/cluster/bench_miss.py --hubgate build/hubgate
env: SIZE_MB (default 256, MiB), RUNS (default 5)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e_xet"))
sys.path.insert(0, str(ROOT / "tests" / "e2e_cluster"))

EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    a = ap.parse_args()
    os.environ["HUBGATE_BIN"] = str(Path(a.hubgate).resolve())
    from xet_harness import hg, hh  # noqa: E402
    from services import read_env  # noqa: E402

    size = int(os.environ.get("SIZE_MB", "256")) << 20
    runs = int(os.environ.get("RUNS", "5"))
    tmp = hg.make_tempdir("bench-cluster")
    svc = str(ROOT / "scripts" / "services.sh")
    subprocess.run([svc, "start", str(tmp / "services")], check=True, capture_output=True, timeout=1800)
    try:
        env = read_env(tmp / "services" / "env")
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
            os.environ[k] = env[k]
        data = tmp / "data"
        srv = hg.start_server(data, ["--store", env["HUBGATE_STORE"], "--s3-endpoint", env["HUBGATE_S3_ENDPOINT"]])
        tok = hg.create_token(data, "bench", write=True)
        folder = tmp / "f"
        folder.mkdir()
        hg.write_random(folder / "w.bin", size, 1)
        want = hg.sha256_file(folder / "w.bin")
        hh(srv, tok, tmp / "h", "create_repo", {"repo": "bench/miss"}, xet=False, timeout=600)
        hh(srv, tok, tmp / "h", "upload_folder", {"repo": "bench/miss", "folder": str(folder)}, xet=False, timeout=900)

        def timed(cmd: list[str]) -> float:
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, timeout=900)
            assert r.returncode == 0, r.stderr
            return time.perf_counter() - t0

        node = ["curl", "-sS", "-f", "-o", "/dev/null", "-H", f"Authorization: Bearer {tok}",
                f"{srv.url}/bench/miss/resolve/main/w.bin"]
        bucket, _, prefix = env["HUBGATE_STORE"][len("s3://"):].partition("/")
        peer = ["curl", "-sS", "-f", "-o", "/dev/null", "--aws-sigv4", f"aws:amz:{env['AWS_REGION']}:s3",
                "--user", f"{env['AWS_ACCESS_KEY_ID']}:{env['AWS_SECRET_ACCESS_KEY']}",
                "-H", f"x-amz-content-sha256: {EMPTY_SHA}",
                f"{env['HUBGATE_S3_ENDPOINT']}/{bucket}/{prefix}/blobs/{want}"]
        miss, hit, direct = [], [], []
        for _ in range(runs):
            shutil.rmtree(data / "store" / "sha256", ignore_errors=True)
            miss.append(timed(node))
            hit.append(timed(node))
            direct.append(timed(peer))
        mb = size / (1 << 20)
        m, h, d = statistics.median(miss), statistics.median(hit), statistics.median(direct)
        print(f"file {mb:.0f} MiB, {runs} runs (medians)")
        print(f"local miss via node  {m:.3f} s  {mb / m:8.1f} MiB/s")
        print(f"local hit via node   {h:.3f} s  {mb / h:8.1f} MiB/s")
        print(f"curl GET SeaweedFS   {d:.3f} s  {mb / d:8.1f} MiB/s")
        print(f"ratio miss/peer (throughput) {d / m:.2f}   hit/peer {d / h:.2f}")
        assert srv.stop() == 0
    finally:
        subprocess.run([svc, "clean", str(tmp / "services")], check=False, timeout=120)
        hg.remove_tempdir(tmp)


if __name__ == "__main__":
    main()
