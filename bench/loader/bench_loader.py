#!/usr/bin/env python3
"""Loader benchmark (not a test): a hubgate on loopback hosts a >= 1 GiB safetensors checkpoint;
each figure is the median of --runs, every path measured in the same run, interleaved, each in
a fresh process (its peak RSS is that process's VmHWM, imports included):

  1. hubgate loader: `hubgate.load_state_dict(...)` until every tensor is in memory (kept, as
     a state dict), sha256 verified; and again with verify=False (what the hashing costs);
  2. the usual path: `hf_hub_download` (fresh HF_HOME each run) + `safetensors.torch.load_file`;
  3. the floor: `curl -o /dev/null` of the same bytes (one connection, nothing kept);
  4. with --device cuda:N: the loader straight into GPU memory vs (2) followed by a plain pinned
     host-to-device copy of every tensor (`pin_memory().to(device, non_blocking=True)`).

runai-model-streamer through hubgate's S3 face is not measured: that face is not in hubgate yet.

Usage: bench_loader.py --hubgate build/hubgate [--size-mib 1024] [--runs 3] [--connections 8]
                       [--device cuda:0]
Everything listens on 127.0.0.1 on ports chosen at run time and is stopped at the end."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests" / "e2e"))
sys.path.insert(0, str(HERE.parent.parent / "tests" / "loader"))

REPO = "bench/loader"

CHILD = r"""
import json, os, sys, time
# ru_maxrss survives execve (it would report the parent's peak): reset VmHWM instead.
with open("/proc/self/clear_refs", "w") as c:
    c.write("5")
mode, endpoint, repo, device, conns, home = sys.argv[1:7]
os.environ.update(HF_ENDPOINT=endpoint, HF_HOME=home, HF_HUB_DISABLE_XET="1",
                  HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
# Imports (the same libraries for both paths) happen before the clock starts.
import torch, safetensors.torch, hubgate
from huggingface_hub import hf_hub_download
t0 = time.perf_counter()
if mode.startswith("hubgate"):
    sd = hubgate.load_state_dict(repo, endpoint=endpoint, device=device, connections=int(conns),
                                 verify=mode == "hubgate")
else:
    path = hf_hub_download(repo, "model.safetensors")
    sd = safetensors.torch.load_file(path)
    if device != "cpu":
        sd = {k: v.pin_memory().to(device, non_blocking=True) for k, v in sd.items()}
if device != "cpu":
    torch.cuda.synchronize()
secs = time.perf_counter() - t0
nbytes = sum(v.numel() * v.element_size() for v in sd.values())
with open("/proc/self/status") as f:
    hwm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
print(json.dumps(dict(secs=secs, bytes=nbytes, tensors=len(sd), rss=hwm)))
"""


def child(mode: str, endpoint: str, device: str, conns: int, home: Path) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, mode, endpoint, REPO, device, str(conns), str(home)],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def curl_floor(url: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["curl", "-sf", "-o", "/dev/null", url], check=True, timeout=900)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hubgate", required=True)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    os.environ["HUBGATE_BIN"] = str(Path(a.hubgate).resolve())
    import hubgate_e2e as hg
    import st_files

    work = Path(tempfile.mkdtemp(prefix="bench-loader-"))
    try:
        data = work / "data"
        data.mkdir()
        token = hg.create_token(data, "bench", write=True)
        srv = hg.start_server(data)
        try:
            # 64 MiB tensors (a few smaller ones in between, as real checkpoints have) of
            # incompressible bytes.
            block = os.urandom(64 << 20)
            tensors, total, i = [], 0, 0
            while total < a.size_mib << 20:
                n = (64 << 20) if i % 4 else (1 << 20) + 4096 * i
                tensors.append((f"layer{i:03d}.weight", "U8", [n], block[:n]))
                total += n
                i += 1
            st_files.write(work / "repo" / "model.safetensors", st_files.build(tensors))
            del block, tensors
            r = hg.hubgate_push(work / "repo", REPO, srv.url, token, timeout=1800)
            if r.returncode != 0:
                raise RuntimeError(r.stderr)
            size = (work / "repo" / "model.safetensors").stat().st_size
            shutil.rmtree(work / "repo")
            url = f"{srv.url}/{REPO}/resolve/main/model.safetensors"
            res = {"hubgate": [], "hubgate-noverify": [], "hf": [], "curl": []}
            for k in range(a.runs):
                res["curl"].append(curl_floor(url))
                res["hubgate"].append(child("hubgate", srv.url, a.device, a.connections, work))
                res["hubgate-noverify"].append(child("hubgate-noverify", srv.url, a.device, a.connections, work))
                home = work / f"hf-home-{k}"
                res["hf"].append(child("hf", srv.url, a.device, a.connections, home))
                shutil.rmtree(home, ignore_errors=True)
                assert res["hubgate"][-1]["bytes"] == res["hf"][-1]["bytes"]
        finally:
            srv.stop()
        med = lambda xs: statistics.median(xs)  # noqa: E731
        hub_s = med([x["secs"] for x in res["hubgate"]])
        hf_s = med([x["secs"] for x in res["hf"]])
        curl_s = med(res["curl"])
        mib = size / 1048576
        print(f"checkpoint: {mib:.0f} MiB, {res['hubgate'][0]['tensors']} tensors; device {a.device}; "
              f"median of {a.runs}; connections {a.connections}")
        print(f"{'path':46s} {'seconds':>8s} {'MiB/s':>8s} {'peak RSS MiB':>13s}")
        nov_s = med([x["secs"] for x in res["hubgate-noverify"]])
        rows = [("hubgate loader (sha256 verified)", hub_s, med([x["rss"] for x in res["hubgate"]])),
                ("hubgate loader, verify=False", nov_s, med([x["rss"] for x in res["hubgate-noverify"]])),
                ("hf_hub_download + safetensors.torch.load_file", hf_s, med([x["rss"] for x in res["hf"]])),
                ("curl -o /dev/null (floor)", curl_s, None)]
        for name, s, rss in rows:
            print(f"{name:46s} {s:8.3f} {mib / s:8.1f} {'' if rss is None else f'{rss / 1048576:13.0f}'}")
        print(f"speed-up vs hf_hub_download + load_file: {hf_s / hub_s:.2f}x (goal >= 3x)")
        print(f"loader time / curl floor: {hub_s / curl_s:.2f}x verified, {nov_s / curl_s:.2f}x without the "
              f"sha256 (goal <= 1.2x)")
        print("runai-model-streamer via the S3 face: not measured (no S3 face in hubgate yet)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
