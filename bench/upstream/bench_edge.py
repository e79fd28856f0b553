#!/usr/bin/env python3
"""Pull-through benchmark (not a test): an origin hubgate hosting one large LFS file, and
  1. cold fill through an edge hubgate vs `curl` straight from the origin: total time and time to
     first byte (median of --runs, each with an empty edge cache), and their ratio;
  2. cached-hit throughput, 16 concurrent curl clients, edge hubgate vs nginx `proxy_cache` (with
     `proxy_cache_lock on`) in front of the same origin, both warm.
Usage: bench_edge.py --hubgate build/hubgate [--size-mib 256] [--runs 3] [--clients 16]
Prints medians and ratios. Everything listens on 127.0.0.1, on ports chosen at run time."""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/e2e_upstream"))
import harness  # noqa: E402
from harness import Hubgate, run_hubgate  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def curl(url):
    """(seconds total, seconds to first byte, bytes)"""
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{time_starttransfer} %{size_download}", url],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def parallel_curl(url, n):
    t0 = time.monotonic()
    procs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", url], stdout=subprocess.PIPE,
                              text=True) for _ in range(n)]
    total = sum(int(p.communicate()[0]) for p in procs)
    return total / (time.monotonic() - t0) / (1 << 20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    harness.HUBGATE = os.path.abspath(args.hubgate)
    tmp = tempfile.mkdtemp(prefix="hg-bench-up-")
    procs = []
    try:
        origin = Hubgate(os.path.join(tmp, "origin"))
        procs.append(origin)
        token = run_hubgate("token", "create", "--data-dir", origin.data_dir, "--name", "b", "--write").stdout.strip()
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        with open(os.path.join(src, "big.bin"), "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        run_hubgate("push", src, "org/big", "--endpoint", origin.url, "--token", token)
        path = "/org/big/resolve/main/big.bin"

        direct, edge_cold = [], []
        for i in range(args.runs):
            direct.append(curl(origin.url + path))
            edge = Hubgate(os.path.join(tmp, "edge%d" % i), upstream=origin.url)
            edge_cold.append(curl(edge.url + path))
            edge.stop()
        med = lambda xs, k: statistics.median(x[k] for x in xs)  # noqa: E731
        print("cold fill of %d MiB (median of %d):" % (args.size_mib, args.runs))
        print("  origin direct (curl): total %.3f s, first byte %.4f s" % (med(direct, 0), med(direct, 1)))
        print("  through edge        : total %.3f s, first byte %.4f s" % (med(edge_cold, 0), med(edge_cold, 1)))
        print("  ratio edge/direct   : total %.2f, first byte %.2f" % (med(edge_cold, 0) / med(direct, 0),
                                                                       med(edge_cold, 1) / med(direct, 1)))

        edge = Hubgate(os.path.join(tmp, "edge-warm"), upstream=origin.url)
        procs.append(edge)
        curl(edge.url + path)  # warm
        nport = free_port()
        ndir = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(ndir, "cache"))
        conf = os.path.join(ndir, "nginx.conf")
        open(conf, "w").write("""
%(user)s worker_processes 2; daemon off; pid %(d)s/nginx.pid; error_log %(d)s/error.log;
events { worker_connections 1024; }
http {
  access_log off; sendfile on;
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy; fastcgi_temp_path %(d)s/fcgi;
  uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  proxy_cache_path %(d)s/cache levels=1:2 keys_zone=hub:10m max_size=10g inactive=1h use_temp_path=off;
  server {
    listen 127.0.0.1:%(p)d;
    location / {
      proxy_pass %(o)s; proxy_cache hub; proxy_cache_lock on; proxy_cache_valid 200 1h;
      proxy_http_version 1.1; proxy_buffering on;
    }
  }
}
""" % {"d": ndir, "p": nport, "o": origin.url, "user": "user root;" if os.geteuid() == 0 else ""})
        nginx = subprocess.Popen(["nginx", "-c", conf, "-p", ndir], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            curl("http://127.0.0.1:%d%s" % (nport, path))  # warm
            hg, ng = [], []
            for _ in range(args.runs):
                hg.append(parallel_curl(edge.url + path, args.clients))
                ng.append(parallel_curl("http://127.0.0.1:%d%s" % (nport, path), args.clients))
            print("cached hits, %d concurrent clients (median of %d):" % (args.clients, args.runs))
            print("  edge hubgate : %.0f MiB/s" % statistics.median(hg))
            print("  nginx cache  : %.0f MiB/s" % statistics.median(ng))
            print("  ratio hubgate/nginx: %.2f" % (statistics.median(hg) / statistics.median(ng)))
        finally:
            nginx.terminate()
            nginx.wait()
    finally:
        for p in procs:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
