#!/usr/bin/env python3
"""Memory per idle connection: N connections that each sent half a request header, held open
against hubgate and against nginx in the same run. Prints, per server, the median over RUNS runs
of the server's resident-memory growth per connection (hubgate: VmRSS of its process; nginx: the
sum over its master and workers), and the ratio hubgate/nginx. Then checks that /healthz still
answers while the connections are held, and that memory returns near its baseline once they
close.

    bench/connections/idle.py [--conns 5000] [--runs 3] [--build build]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HALF = b"GET /api/models/none/none HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: "


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [int(p) for p in out]


def wait_healthy(url: str) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer")


def healthz_ms(url: str) -> float:
    t = time.perf_counter()
    urllib.request.urlopen(url, timeout=10).read()
    return (time.perf_counter() - t) * 1000


def hold(port: int, n: int, pids_of, health: str) -> tuple[float, float, int]:
    """Opens n half-header connections; returns (bytes per connection, /healthz ms, RSS KiB after close)."""
    for _ in range(3):
        healthz_ms(health)  # first requests warm up the handler's own state: not connection cost
    time.sleep(0.3)
    before = rss_kib(pids_of())
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(HALF)
        socks.append(s)
    time.sleep(1.0)
    during = rss_kib(pids_of())
    ms = healthz_ms(health)
    for s in socks:
        s.close()
    time.sleep(1.0)
    after = rss_kib(pids_of())
    return (during - before) * 1024 / n, ms, after - before


def nginx_conf(work: Path, port: int, conns: int) -> Path:
    conf = work / "nginx.conf"
    conf.write_text(f"""worker_processes 2;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
worker_rlimit_nofile {conns * 2 + 1024};
events {{ worker_connections {conns + 1024}; }}
http {{
  access_log off;
  client_body_temp_path {work}/body;
  proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi;
  uwsgi_temp_path {work}/uwsgi;
  scgi_temp_path {work}/scgi;
  client_header_timeout 300s;
  server {{
    listen 127.0.0.1:{port};
    location /healthz {{ return 200 "ok"; }}
  }}
}}
""")
    return conf


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build", default=os.environ.get("HUBGATE_BUILD_DIR", str(ROOT / "build")))
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < a.conns + 256:
        a.conns = hard - 256
        print(f"descriptor limit {hard}: using {a.conns} connections", file=sys.stderr)
    res = {"hubgate": [], "nginx": []}
    for run in range(a.runs):
        # Fresh processes each run: freed memory stays with a process's allocator, so a second
        # round on the same process would measure reuse, not cost.
        for name in ("hubgate", "nginx"):
            per, ms, left = one_round(name, a)
            res[name].append(per)
            print(f"run {run + 1} {name}: {per:.0f} B/connection, /healthz {ms:.1f} ms while held, "
                  f"RSS {left:+d} KiB after close", flush=True)
    h, n = statistics.median(res["hubgate"]), statistics.median(res["nginx"])
    print(f"{a.conns} half-header connections, median of {a.runs}: hubgate {h:.0f} B, nginx {n:.0f} B "
          f"per connection; ratio hubgate/nginx {h / n if n > 0 else float('inf'):.2f}")
    return 0


def one_round(name: str, a) -> tuple[float, float, int]:
    work = Path(tempfile.mkdtemp(prefix="hubgate-bench-conns."))
    port = free_port()
    try:
        if name == "hubgate":
            p = subprocess.Popen([f"{a.build}/hubgate", "serve", "--listen", f"127.0.0.1:{port}",
                                  "--data-dir", str(work / "data"), "--upstream", "none",
                                  "--log-level", "warn", "--threads", "2"],
                                 stderr=open(work / "hubgate.err", "w"))
            pids = lambda: [p.pid]
        else:
            p = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c",
                                  str(nginx_conf(work, port, a.conns))], stderr=open(work / "nginx.err", "w"))
            pids = lambda: children(p.pid)
        try:
            health = f"http://127.0.0.1:{port}/healthz"
            wait_healthy(health)
            return hold(port, a.conns, pids, health)
        finally:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
