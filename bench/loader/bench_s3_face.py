#!/usr/bin/env python3
"""S3-face loader benchmark (not a test). One hubgate hosts a safetensors file of --size-mib
(float32 and bfloat16 tensors of 64 MiB); per run, interleaved, each peer reads all of it:

  1. runai-model-streamer (runai-model-streamer-s3, what vLLM's runai_streamer load format
     calls) through the S3 face: `SafetensorsStreamer.stream_file("s3://models/…")`, every
     tensor iterated (the bytes land in the tensors' memory);
  2. curl of the same object through the S3 face into /dev/null (the raw transfer);
  3. curl of the same file through the Hub's resolve route (the same bytes, the Hub path).

Figures: median wall time of --runs, throughput, and peak RSS of the client process (GNU time's
%M), with the ratio to curl on the S3 face; for the streamer also the time of the stream loop
alone (process time minus Python and torch start-up), and the CPU time the hubgate process
spent serving each peer (from /proc). The streamer runs in a fresh
process each time with a clean AWS environment (tests/e2e/s3_clients.py).

Usage: bench_s3_face.py --hubgate build/hubgate [--size-mib 1024] [--runs 3]
           [--concurrency 8] [--chunk-mib 8]
"""
import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "e2e"))
import hubgate_e2e as hg  # noqa: E402
import s3_clients as s3  # noqa: E402

STREAM = r"""
import sys, time
from runai_model_streamer import SafetensorsStreamer
t = time.monotonic(); n = 0
with SafetensorsStreamer() as s:
    s.stream_file(sys.argv[1])
    for name, tensor in s.get_tensors():
        n += tensor.numel() * tensor.element_size()
print(n, time.monotonic() - t)
"""


def write_safetensors(path: Path, size_mib: int) -> int:
    """Tensors of 64 MiB (alternating F32 [4096, 4096] and BF16 [8192, 4096]), random bytes."""
    per = 64 << 20
    count = max(1, size_mib // 64)
    header, offset = {}, 0
    for i in range(count):
        dtype, shape = ("F32", [4096, 4096]) if i % 2 == 0 else ("BF16", [8192, 4096])
        header[f"layers.{i}.weight"] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + per]}
        offset += per
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        block = os.urandom(per)
        for i in range(count):
            f.write(block[i:] + block[:i])  # distinct tensors without generating 1 GiB of randomness
    return path.stat().st_size


def timed(cmd, env=None):
    """(seconds, peak RSS MiB, stdout) of one child process; RSS from GNU time's %M."""
    t = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env)
    took = time.monotonic() - t
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {r.stderr[-2000:]}")
    return took, int(r.stderr.strip().splitlines()[-1]) / 1024, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--chunk-mib", type=int, default=8)
    a = ap.parse_args()
    os.environ["HUBGATE_BIN"] = str(Path(a.hubgate).resolve())
    root = Path(tempfile.mkdtemp(prefix="hubgate-bench-loader-"))
    srv = None
    try:
        data = root / "data"
        data.mkdir()
        tok = hg.create_token(data, "bench", write=True)
        srv = hg.start_server(data)
        folder = root / "model"
        folder.mkdir()
        size = write_safetensors(folder / "model.safetensors", a.size_mib)
        r = hg.hubgate_push(folder, "bench/model", srv.url, tok, timeout=1800)
        assert r.returncode == 0, r.stderr
        shutil.rmtree(folder)
        s3_url = f"{srv.url}/models/bench/model/main/model.safetensors"
        env = s3.s3_env(srv.url, None)
        env.update({"RUNAI_STREAMER_CONCURRENCY": str(a.concurrency),
                    "RUNAI_STREAMER_CHUNK_BYTESIZE": str(a.chunk_mib << 20),
                    "AWS_ACCESS_KEY_ID": "AKIABENCH0000000000", "AWS_SECRET_ACCESS_KEY": "anonymous"})
        peers = {
            "runai streamer, S3 face": ([sys.executable, "-c", STREAM, "s3://models/bench/model/main/model.safetensors"], env),
            "curl, S3 face": (["curl", "-sf", "-o", "/dev/null", s3_url], None),
            "curl, Hub resolve": (["curl", "-sf", "-o", "/dev/null", f"{srv.url}/bench/model/resolve/main/model.safetensors"], None),
        }
        def server_cpu():  # seconds of CPU the hubgate process has used (utime + stime)
            f = Path(f"/proc/{srv.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

        cpu = {k: [] for k in peers}
        res = {k: [] for k in peers}
        res["runai streamer, stream only"] = []  # the same runs without interpreter and torch start-up
        for _ in range(a.runs):
            for name, (cmd, e) in peers.items():
                c0 = server_cpu()
                took, rss, out = timed(cmd, e)
                cpu[name].append(server_cpu() - c0)
                if name.startswith("runai"):  # every tensor byte arrived
                    assert int(out.split()[0]) == max(1, a.size_mib // 64) * (64 << 20), out
                    res["runai streamer, stream only"].append((float(out.split()[1]), rss))
                res[name].append((took, rss))
        print(f"file: {size / 2**20:.0f} MiB safetensors; median of {a.runs}; concurrency {a.concurrency}, "
              f"chunk {a.chunk_mib} MiB")
        med = {k: (statistics.median(t for t, _ in v), max(r for _, r in v)) for k, v in res.items()}
        base = med["curl, S3 face"][0]
        for name, (t, rss) in med.items():
            server = f"  server CPU {statistics.median(cpu[name]):6.2f} s" if name in cpu else ""
            print(f"  {name:28s} {t:7.2f} s  {size / 2**20 / t:8.0f} MiB/s  peak RSS {rss:7.0f} MiB  "
                  f"time ratio vs curl (S3 face) {t / base:5.2f}{server}")
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
