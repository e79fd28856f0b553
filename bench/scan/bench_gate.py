#!/usr/bin/env python3
"""Security gate benchmark (not a test).

A. Scan throughput on a ~1 GiB safetensors file, single core (taskset -c 0), median of --runs,
   process start included, page cache warm: `hubgate scan` vs `sha256sum` (the cost of merely
   reading the bytes once) and the picklescan / modelscan peers on the same file, same run.
B. Cost of the gate on a cold fill through an edge: an origin hubgate (gate off) hosts a
   safetensors file (streams during the fill) and a torch zip checkpoint (held until the
   verdict); for each run a fresh edge with the gate on and a fresh edge with `--gate off`
   (order alternating) download each file once with curl. Medians of total time and time to
   first byte, and the ratio on/off.

C. Time to the response head and to the first body byte of a cold safetensors file (--ttfb-mib,
   256 MiB) through an edge with the gate on (its head waits for the header check), against the
   same GET straight from the origin in the same run; with --before OTHER_HUBGATE the edge of
   that binary too (order alternating), so a change is compared with what it replaces. Fresh
   edge per run; medians. --edge-arg passes flags to those edges (e.g. --upstream-xet off).

Usage: bench_gate.py --hubgate build/hubgate [--size-mib 1024] [--fill-mib 512] [--runs 5]
                     [--skip-a] [--skip-b] [--skip-c] [--ttfb-mib 256] [--before OLD/hubgate]
                     [--edge-arg=FLAG ...]
Run with the project venv (.venv/bin/python): the peers and torch come from it."""
import argparse
import http.client
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "../../tests/e2e_upstream"))
import harness  # noqa: E402
from harness import Hubgate, run_hubgate  # noqa: E402


def write_safetensors(path, mib):
    """One F32 tensor per 64 MiB of random bytes: a valid safetensors file of `mib` MiB of data."""
    per = 64 << 20
    n = max(1, mib // 64)
    header, off = {}, 0
    for i in range(n):
        header[f"layer{i}.weight"] = {"dtype": "F32", "shape": [per // 4], "data_offsets": [off, off + per]}
        off += per
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for _ in range(n * 64):
            f.write(os.urandom(1 << 20))


def write_torch(path, mib):
    import torch  # Debian's torch through the venv
    g = torch.Generator().manual_seed(0)
    sd = {f"layer{i}.weight": torch.rand((16 << 20) // 4, generator=g) for i in range(max(1, mib // 16))}
    torch.save(sd, path)


def timed(cmd, runs, timeout=600):
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        try:
            subprocess.run(["taskset", "-c", "0"] + cmd, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return None
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def cpu_seconds(pid):
    """user + system CPU time of a process so far (from /proc; clock ticks)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def curl(url):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{time_starttransfer} %{size_download}",
                          url], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "200", out
    return float(out[1]), float(out[2]), int(out[3])


def part_a(args, tmp):
    big = os.path.join(tmp, "model.safetensors")
    write_safetensors(big, args.size_mib)
    size = os.path.getsize(big)
    subprocess.run(["cat", big], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    py = sys.executable
    worker = os.path.join(here, "peer_worker.py")
    hub = timed([args.hubgate, "scan", big], args.runs)
    rows = [("sha256sum (read baseline)", timed(["sha256sum", big], args.runs))]
    for peer in ("picklescan", "modelscan"):
        rows.append((peer, timed([py, worker, peer, big], max(1, args.runs // 2))))
    print(f"A. scan throughput, {size / 2**20:.0f} MiB safetensors, single core (taskset -c 0), median of {args.runs}:")
    print(f"  hubgate scan              {hub:.3f} s  ({size / hub / 2**30:.2f} GiB/s, process start included)")
    for name, t in rows:
        if t is None:
            print(f"  {name:<25} timed out")
        else:
            print(f"  {name:<25} {t:.3f} s  ({size / t / 2**30:.2f} GiB/s) -> hubgate is {t / hub:.1f}x faster")


def part_b(args, tmp):
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    write_safetensors(os.path.join(src, "model.safetensors"), args.fill_mib)
    write_torch(os.path.join(src, "pytorch_model.bin"), args.fill_mib // 2)
    origin = Hubgate(os.path.join(tmp, "origin"), extra=["--gate", "off"])
    try:
        token = run_hubgate("token", "create", "--data-dir", origin.data_dir, "--name", "b", "--write").stdout.strip()
        run_hubgate("push", src, "org/model", "--endpoint", origin.url, "--token", token)
        files = ["model.safetensors", "pytorch_model.bin"]
        res = {(f, m): [] for f in files for m in ("on", "off")}
        for i in range(args.runs):
            for mode in (("on", "off") if i % 2 == 0 else ("off", "on")):
                extra = ["--gate", "off"] if mode == "off" else []
                edge = Hubgate(os.path.join(tmp, f"edge-{mode}-{i}"), upstream=origin.url, extra=extra)
                try:
                    for f in files:
                        cpu0 = cpu_seconds(edge.proc.pid)
                        t = curl(f"{edge.url}/org/model/resolve/main/{f}")
                        time.sleep(0.3)  # let the fill thread finish publishing (fsync) before reading CPU time
                        res[(f, mode)].append(t + (cpu_seconds(edge.proc.pid) - cpu0,))
                finally:
                    edge.stop()
                shutil.rmtree(os.path.join(tmp, f"edge-{mode}-{i}"), ignore_errors=True)
        print(f"B. cold fill through an edge, gate on vs --gate off (fresh edge per run, median of {args.runs}):")
        for f in files:
            size = os.path.getsize(os.path.join(src, f))
            on_t = statistics.median(x[0] for x in res[(f, "on")])
            off_t = statistics.median(x[0] for x in res[(f, "off")])
            on_fb = statistics.median(x[1] for x in res[(f, "on")])
            off_fb = statistics.median(x[1] for x in res[(f, "off")])
            on_cpu = statistics.median(x[3] for x in res[(f, "on")])
            off_cpu = statistics.median(x[3] for x in res[(f, "off")])
            print(f"  {f} ({size / 2**20:.0f} MiB): total on {on_t:.3f} s / off {off_t:.3f} s -> ratio {on_t / off_t:.3f}"
                  f" ({(on_t / off_t - 1) * 100:+.1f}%); first byte on {on_fb:.4f} s / off {off_fb:.4f} s;"
                  f" edge CPU on {on_cpu:.2f} s / off {off_cpu:.2f} s -> ratio {on_cpu / off_cpu:.3f}")
            print(f"    totals on:  {' '.join('%.2f' % x[0] for x in res[(f, 'on')])}")
            print(f"    totals off: {' '.join('%.2f' % x[0] for x in res[(f, 'off')])}")
    finally:
        origin.stop()


def first_bytes(url):
    """(seconds to the end, to the response head, to the first body byte) of one GET."""
    u = urllib.parse.urlsplit(url)
    t = time.perf_counter()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
    conn.request("GET", u.path)
    r = conn.getresponse()
    head = time.perf_counter() - t
    assert r.status == 200, r.status
    r.read(1)
    body = time.perf_counter() - t
    while r.read(1 << 20):
        pass
    end = time.perf_counter() - t
    conn.close()
    return end, head, body


def part_c(args, tmp):
    src = os.path.join(tmp, "src-c")
    os.makedirs(src)
    write_safetensors(os.path.join(src, "model.safetensors"), args.ttfb_mib)
    size = os.path.getsize(os.path.join(src, "model.safetensors"))
    origin = Hubgate(os.path.join(tmp, "origin-c"), extra=["--gate", "off"])
    bins = [("after", args.hubgate)] + ([("before", os.path.abspath(args.before))] if args.before else [])
    try:
        token = run_hubgate("token", "create", "--data-dir", origin.data_dir, "--name", "c", "--write").stdout.strip()
        run_hubgate("push", src, "org/model", "--endpoint", origin.url, "--token", token)
        url = "/org/model/resolve/main/model.safetensors"
        first_bytes(origin.url + url)  # the origin's copy in the page cache
        res = {name: [] for name, _ in bins}
        res["origin"] = []
        for i in range(args.runs):
            res["origin"].append(first_bytes(origin.url + url))
            for name, binary in (bins if i % 2 == 0 else bins[::-1]):
                harness.HUBGATE = binary
                d = os.path.join(tmp, f"edge-c-{name}-{i}")
                edge = Hubgate(d, upstream=origin.url, extra=args.edge_args)
                harness.HUBGATE = args.hubgate
                try:
                    res[name].append(first_bytes(edge.url + url))
                finally:
                    edge.stop()
                shutil.rmtree(d, ignore_errors=True)
        med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in res.items()}
        flags = (" " + " ".join(args.edge_args)) if args.edge_args else ""
        print(f"C. cold {size / 2**20:.0f} MiB safetensors through an edge (gate on{flags}), median of {args.runs}:")
        o = med["origin"]
        print(f"  origin direct   head {o[1] * 1000:7.2f} ms  first body byte {o[2] * 1000:7.2f} ms  total {o[0]:.3f} s")
        for name, _ in bins:
            m = med[name]
            print(f"  edge ({name:<6})   head {m[1] * 1000:7.2f} ms  first body byte {m[2] * 1000:7.2f} ms  total {m[0]:.3f} s"
                  f"  -> first body byte edge/origin {m[2] / o[2]:.2f}")
            print(f"    heads (ms):       {' '.join('%.1f' % (x[1] * 1000) for x in res[name])}")
            print(f"    first bytes (ms): {' '.join('%.1f' % (x[2] * 1000) for x in res[name])}")
            print(f"    totals (s):       {' '.join('%.2f' % x[0] for x in res[name])}")
        print(f"    origin first bytes (ms): {' '.join('%.1f' % (x[2] * 1000) for x in res['origin'])}")
    finally:
        origin.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--fill-mib", type=int, default=512)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--skip-a", action="store_true")
    ap.add_argument("--skip-b", action="store_true")
    ap.add_argument("--skip-c", action="store_true")
    ap.add_argument("--ttfb-mib", type=int, default=256)
    ap.add_argument("--before", help="another hubgate binary whose edge part C also measures")
    ap.add_argument("--edge-arg", dest="edge_args", action="append", default=[],
                    help="extra flag for part C's edges (repeatable): --edge-arg=--upstream-xet --edge-arg=off")
    ap.add_argument("--tmp", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where data dirs live (default /dev/shm: no disk noise in the comparison)")
    args = ap.parse_args()
    args.hubgate = os.path.abspath(args.hubgate)
    harness.HUBGATE = args.hubgate
    tmp = tempfile.mkdtemp(prefix="hg-bench-gate-", dir=args.tmp)
    try:
        if not args.skip_a:
            part_a(args, tmp)
        if not args.skip_b:
            part_b(args, tmp)
        if not args.skip_c:
            part_c(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
