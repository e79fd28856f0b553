#!/usr/bin/env python3
"""Plain-HTTP download of one hosted LFS file: from its whole-file copy (sendfile) vs
reconstructed from the Xet chunk store (no copy, `--hot-copies-max-bytes 0`: records stored as
they are go out with sendfile from the xorb files, compressed ones are decoded), same data
directory, same machine, same run. curl to /dev/null; prints medians and the ratio.

usage: .venv/bin/python bench/hot_copies/bench_plain.py --hubgate build/hubgate
env: SIZE_MB (default 256, MiB), RUNS (default 5)
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
    ap.add_argument("--hubgate", required=True)
    a = ap.parse_args()
    os.environ["HUBGATE_BIN"] = str(Path(a.hubgate).resolve())
    from xet_harness import hg, hh  # noqa: E402

    size = int(os.environ.get("SIZE_MB", "256")) << 20
    runs = int(os.environ.get("RUNS", "5"))
    tmp = hg.make_tempdir("bench-hot")
    try:
        data = tmp / "data"
        folder = tmp / "f"
        folder.mkdir()
        hg.write_random(folder / "w.bin", size, 1)
        want = hg.sha256_file(folder / "w.bin")
        srv = hg.start_server(data, ["--hot-copies-max-bytes", "unlimited"])  # the commit's copy stays
        tok = hg.create_token(data, "bench", write=True)
        hh(srv, tok, tmp / "h", "create_repo", {"repo": "bench/hot"}, xet=True, timeout=600)
        hh(srv, tok, tmp / "h", "upload_folder", {"repo": "bench/hot", "folder": str(folder)}, xet=True, timeout=600)

        def timed(url: str) -> float:
            t0 = time.perf_counter()
            r = subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-H", f"Authorization: Bearer {tok}", url],
                               capture_output=True, timeout=600)
            assert r.returncode == 0, r.stderr
            return time.perf_counter() - t0

        def check(url: str) -> None:
            r = subprocess.run(f"curl -sS -f -H 'Authorization: Bearer {tok}' {url} | sha256sum", shell=True,
                               capture_output=True, text=True, timeout=600)
            assert r.stdout.split()[0] == want

        url = f"{srv.url}/bench/hot/resolve/main/w.bin"
        check(url)
        copy = [timed(url) for _ in range(runs)]
        assert srv.stop() == 0
        srv = hg.start_server(data, ["--hot-copies-max-bytes", "0"])  # drops the copy at startup
        url = f"{srv.url}/bench/hot/resolve/main/w.bin"
        check(url)
        chunks = [timed(url) for _ in range(runs)]
        assert srv.stop() == 0
        mib = size / (1 << 20)
        mc, mk = statistics.median(copy), statistics.median(chunks)
        print(f"file {mib:.0f} MiB, {runs} runs, curl -o /dev/null over loopback")
        print(f"whole-file copy (sendfile): median {mc:.3f} s  {mib / mc:8.1f} MiB/s")
        print(f"from chunks (no copy):      median {mk:.3f} s  {mib / mk:8.1f} MiB/s")
        print(f"ratio chunks / copy throughput: {mc / mk:.2f}")
    finally:
        hg.remove_tempdir(tmp)


if __name__ == "__main__":
    main()
