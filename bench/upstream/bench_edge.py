#!/usr/bin/env python3
"""Pull-through benchmark (not a test). An origin hubgate hosts one large LFS file; every figure
is the median of --runs, the peers measured in the same run, interleaved:

  1. cold fill, loopback: `curl` through an edge hubgate (empty cache each run) vs `curl`
     straight from the origin, and vs a cache miss of nginx `proxy_cache` (which also writes the
     file to its cache while streaming it): total time and time to first byte, and the ratios;
  2. cold fill over a rate-limited link (--link-mib-s, 0 = skip): the same two paths, but the
     origin sits behind nginx `limit_rate` (the WAN between an edge and its upstream), so the
     figure shows what streaming-while-filling costs when the network, not the CPU, is the limit;
  3. cached hits, --clients concurrent connections (bench/serve's `serve_load` client): the warm
     edge vs nginx `proxy_cache` + `proxy_cache_lock` in front of the same origin vs the origin
     serving its own local copy (what bench/serve measures).

Usage: bench_edge.py --hubgate build/hubgate [--load build/bench/serve/serve_load]
                     [--size-mib 1024] [--runs 5] [--clients 16] [--link-mib-s 200] [--skip-cold]
                     [--upstream-xet on|off]
Everything listens on 127.0.0.1, on ports chosen at run time, and is stopped at the end."""
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


FILE = "model.safetensors"
EDGE_ARGS = []  # extra `hubgate serve` flags of every edge (--upstream-xet)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def curl(url, size):
    """(seconds total, seconds to first byte)"""
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{time_starttransfer} %{size_download}", url],
                         capture_output=True, text=True, check=True).stdout.split()
    if int(out[2]) != size:
        raise RuntimeError("short reply from %s: %s of %d bytes" % (url, out[2], size))
    return float(out[0]), float(out[1])


def load(load_bin, port, path, clients, size):
    """MiB/s over `clients` concurrent connections, each GETting the whole file."""
    out = subprocess.run([load_bin, "127.0.0.1", str(port), path, str(clients), str(size)], capture_output=True,
                         text=True, check=True).stdout.split()
    return float(out[1]) / float(out[0]) / (1 << 20)


NGINX_COMMON = """
%(user)s worker_processes auto; daemon off; pid %(d)s/nginx.pid; error_log %(d)s/error.log;
events { worker_connections 4096; }
http {
  access_log off; sendfile on; tcp_nopush on;
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy; fastcgi_temp_path %(d)s/fcgi;
  uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  %(extra)s
}
"""


def start_nginx(ndir, server_block, extra_http=""):
    os.makedirs(ndir, exist_ok=True)
    conf = os.path.join(ndir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_COMMON % {"d": ndir, "user": "user root;" if os.geteuid() == 0 else "",
                                "extra": extra_http + "\n" + server_block})
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", ndir], stderr=subprocess.DEVNULL)
    return proc


def wait_http(url):
    for _ in range(100):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-r", "0-0", url],
                           capture_output=True, text=True)
        if r.stdout.strip() in ("200", "206"):
            return
        time.sleep(0.1)
    raise RuntimeError("no answer from " + url)


def cold_fill(tmp, origin_url, path, size, runs, label, nginx_url=None):
    direct, edge_cold, nginx_cold = [], [], []
    # Each measurement starts without dirty pages from the one before (`sync`): a cold fill
    # writes the whole file, and its writeback would otherwise slow down whoever runs next.
    for i in range(runs):
        os.sync()
        direct.append(curl(origin_url + path, size))
        if nginx_url:  # a cache miss in nginx: a query string nginx keys on and the origin ignores
            os.sync()
            nginx_cold.append(curl("%s%s?cold=%s-%d-%f" % (nginx_url, path, label, i, time.time()), size))
        edge = Hubgate(os.path.join(tmp, "edge-%s-%d" % (label, i)), upstream=origin_url, threads=os.cpu_count(),
                       extra=EDGE_ARGS)
        try:
            os.sync()
            edge_cold.append(curl(edge.url + path, size))
        finally:
            edge.stop()
            shutil.rmtree(edge.data_dir, ignore_errors=True)
    med = lambda xs, k: statistics.median(x[k] for x in xs)  # noqa: E731
    d_tot, d_fb, e_tot, e_fb = med(direct, 0), med(direct, 1), med(edge_cold, 0), med(edge_cold, 1)
    print("  origin direct (curl): total %.3f s (%.0f MiB/s), first byte %.4f s" % (d_tot, size / d_tot / (1 << 20), d_fb))
    print("  through edge        : total %.3f s (%.0f MiB/s), first byte %.4f s" % (e_tot, size / e_tot / (1 << 20), e_fb))
    if nginx_cold:
        n_tot, n_fb = med(nginx_cold, 0), med(nginx_cold, 1)
        print("  nginx proxy_cache miss: total %.3f s (%.0f MiB/s), first byte %.4f s" % (n_tot, size / n_tot / (1 << 20), n_fb))
    print("  ratio edge/direct   : total %.2f, first byte %.2f" % (e_tot / d_tot, e_fb / d_fb))
    if nginx_cold:
        print("  ratio edge/nginx-miss: total %.2f, first byte %.2f" % (e_tot / n_tot, e_fb / n_fb))
    print("  (all runs, total s: direct %s; edge %s)" % (" ".join("%.3f" % x[0] for x in direct),
                                                        " ".join("%.3f" % x[0] for x in edge_cold)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    ap.add_argument("--load", default="", help="serve_load binary (default: next to --hubgate)")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--link-mib-s", type=int, default=200)
    ap.add_argument("--skip-cold", action="store_true", help="only the cached-hit comparison (section 3)")
    ap.add_argument("--upstream-xet", choices=("on", "off"), default="on",
                    help="the edge's --upstream-xet: fill through the origin's Xet CAS, or plain GETs")
    args = ap.parse_args()
    harness.HUBGATE = os.path.abspath(args.hubgate)
    EDGE_ARGS[:] = ["--upstream-xet", args.upstream_xet]
    load_bin = args.load or os.path.join(os.path.dirname(harness.HUBGATE), "bench/serve/serve_load")
    if not os.path.exists(load_bin):
        sys.exit("no serve_load at %s: cmake --build build --target serve_load" % load_bin)
    tmp = tempfile.mkdtemp(prefix="hg-bench-up-")
    os.chmod(tmp, 0o755)
    procs, nginxes = [], []
    try:
        origin = Hubgate(os.path.join(tmp, "origin"), threads=os.cpu_count())
        procs.append(origin)
        token = run_hubgate("token", "create", "--data-dir", origin.data_dir, "--name", "b", "--write").stdout.strip()
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        size = args.size_mib << 20
        with open(os.path.join(src, FILE), "wb") as f:
            # A safetensors file (what model repositories hold): the security gate validates its
            # header and lets it stream while it fills. One U8 tensor fills the rest.
            header = b'{"w":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]}}' % (size, size)
            header += b" " * (8 - len(header) % 8)
            n = size - 8 - len(header)
            header = header.replace(b"%d" % size, b"%d" % n)
            header += b" " * (size - 8 - n - len(header))
            f.write(len(header).to_bytes(8, "little") + header)
            left = n
            while left > 0:
                f.write(os.urandom(min(left, 1 << 20)))
                left -= min(left, 1 << 20)
        assert os.path.getsize(os.path.join(src, FILE)) == size
        run_hubgate("push", src, "org/big", "--endpoint", origin.url, "--token", token)
        shutil.rmtree(src)
        path = "/org/big/resolve/main/" + FILE
        print("host: %d cores, load average %s" % (os.cpu_count(), " ".join("%.1f" % x for x in os.getloadavg())))

        nport = free_port()
        ndir = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(ndir, "cache"))
        nginxes.append(start_nginx(ndir, """
  server {
    listen 127.0.0.1:%(p)d;
    location / {
      proxy_pass %(o)s; proxy_cache hub; proxy_cache_lock on; proxy_cache_valid 200 1h;
      proxy_http_version 1.1; proxy_buffering on;
    }
  }""" % {"p": nport, "o": origin.url}, "proxy_cache_path %s/cache levels=1:2 keys_zone=hub:10m max_size=10g inactive=1h "
                                        "use_temp_path=off;" % ndir))
        nginx_url = "http://127.0.0.1:%d" % nport
        wait_http(nginx_url + path)
        curl(nginx_url + path, size)  # warm (the plain URL is the cached-hit test's)
        time.sleep(0.5)  # nginx writes its cache entry after the reply
        if not args.skip_cold:
            print("cold fill of %d MiB over loopback (median of %d):" % (args.size_mib, args.runs))
            cold_fill(tmp, origin.url, path, size, args.runs, "lo", nginx_url)

        if args.link_mib_s > 0 and not args.skip_cold:
            lport = free_port()
            nginxes.append(start_nginx(os.path.join(tmp, "link"), """
  server {
    listen 127.0.0.1:%d;
    location / { proxy_pass %s; proxy_buffering off; proxy_http_version 1.1; limit_rate %dm; }
  }""" % (lport, origin.url, args.link_mib_s)))
            link_url = "http://127.0.0.1:%d" % lport
            wait_http(link_url + path)
            print("cold fill of %d MiB, upstream behind a %d MiB/s link (nginx limit_rate; median of %d):" %
                  (args.size_mib, args.link_mib_s, args.runs))
            cold_fill(tmp, link_url, path, size, args.runs, "link")

        edge = Hubgate(os.path.join(tmp, "edge-warm"), upstream=origin.url, threads=os.cpu_count(), extra=EDGE_ARGS)
        procs.append(edge)
        curl(edge.url + path, size)  # warm
        hg, ng, lo = [], [], []
        # Each measurement starts with no dirty pages (the warm-up fill just wrote 1-2 GiB) and the
        # order rotates, so no server is always the one measured first.
        servers = [(edge.port, hg), (nport, ng), (origin.port, lo)]
        for i in range(args.runs):
            for port, out in servers[i % 3:] + servers[:i % 3]:
                os.sync()
                out.append(load(load_bin, port, path, args.clients, size))
        h, n, o = statistics.median(hg), statistics.median(ng), statistics.median(lo)
        print("cached hits, %d concurrent clients x %d MiB (serve_load; median of %d):" % (args.clients, args.size_mib, args.runs))
        print("  edge hubgate (cached blob)   : %.0f MiB/s" % h)
        print("  nginx proxy_cache            : %.0f MiB/s" % n)
        print("  origin hubgate (local file)  : %.0f MiB/s" % o)
        print("  ratio edge/nginx: %.2f   edge/origin-local: %.2f   origin-local/nginx: %.2f" % (h / n, h / o, o / n))
    finally:
        for p in nginxes:
            p.terminate()
            p.wait()
        for p in procs:
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
