"""Listing latency of hosted repositories: creates N repositories (each with a README card and a
config.json) in a fresh `hubgate serve`, counts downloads (repository i gets i % 7 GETs of its
config.json) and likes (every third), then times GET /api/models (default fields, first page of
1000), sorted by downloads and by likes, with `full=true`, a search, and a `list_repo_commits`
page. Prints medians of R runs. Peer: nginx serving the sort=downloads answer's exact bytes as a
static file, timed in the same run, same client (ratio = hubgate / nginx: the cost of computing
the listing over sending the same bytes).

    .venv/bin/python bench/listing/bench_listing.py --hubgate build/hubgate [--repos 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import shutil as _shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import http.client
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "e2e"))
import os  # noqa: E402

import hubgate_e2e as hg  # noqa: E402


def timed_url(url: str, runs: int) -> float:
    """Median ms of GET url (a fresh connection each time, like Server.request), first run not counted."""
    u = urllib.parse.urlsplit(url)
    ts = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        conn.request("GET", u.path, headers={"Authorization": "Bearer x"})
        r = conn.getresponse()
        r.read()
        conn.close()
        ts.append(time.perf_counter() - t)
        assert r.status == 200
    return statistics.median(ts[1:]) * 1000


def start_nginx(folder: Path, body: bytes):
    """nginx on a free loopback port serving `body` as /listing.json; (process, url)."""
    folder.mkdir(parents=True)
    (folder / "www").mkdir()
    (folder / "www" / "listing.json").write_bytes(body)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (folder / "nginx.conf").write_text(f"""worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  sendfile on;
  client_body_temp_path {folder}/body;
  proxy_temp_path {folder}/proxy;
  fastcgi_temp_path {folder}/fastcgi;
  uwsgi_temp_path {folder}/uwsgi;
  scgi_temp_path {folder}/scgi;
  default_type application/json;
  server {{ listen 127.0.0.1:{port}; root {folder}/www; }}
}}
""")
    for p in [folder.parent, folder, folder / "www", folder / "www" / "listing.json"]:  # workers may run as nobody
        os.chmod(p, 0o755)
    nginx = _shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/listing.json"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.terminate()  # the master stops its workers
    proc.wait(timeout=20)
    raise RuntimeError("nginx did not start: " + (folder / "error.log").read_text(errors="replace"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", required=True)
    ap.add_argument("--repos", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    os.environ["HUBGATE_BIN"] = str(Path(a.hubgate).resolve())
    root = Path(tempfile.mkdtemp(prefix="hubgate-bench-listing-"))
    srv = None
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
            cfg = json.dumps({"key": "file", "value": {"path": "config.json", "encoding": "utf-8", "content": "{}"}})
            r = srv.request("POST", f"/api/models/bench/r{i:05d}/commit/main",
                            (head + "\n" + line + "\n" + cfg + "\n").encode(), auth)
            assert r.status == 200, r.body
        print(f"created {a.repos} repositories in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        for i in range(a.repos):
            for _ in range(i % 7):
                assert srv.get(f"/bench/r{i:05d}/resolve/main/config.json", token=token).status == 200
            if i % 3 == 0:
                assert srv.request("POST", f"/api/models/bench/r{i:05d}/like", b"", auth).status == 200
        print(f"counted downloads and likes in {time.perf_counter() - t0:.1f} s")

        def timed(path: str) -> tuple[float, int]:
            ts, n = [], 0
            for _ in range(a.runs + 1):  # the first run warms the caches; not counted
                t = time.perf_counter()
                r = srv.get(path, token=token)
                ts.append(time.perf_counter() - t)
                assert r.status == 200, r.body
                n = len(r.json())
            return statistics.median(ts[1:]) * 1000, n

        first = srv.get("/api/models?limit=1000&sort=downloads", token=token).json()
        assert [m["downloads"] for m in first] == sorted((m["downloads"] for m in first), reverse=True)
        peer = start_nginx(root / "nginx", srv.get("/api/models?limit=1000&sort=downloads", token=token).body)
        try:
            for label, path in [("list default", "/api/models?limit=1000"),
                                ("list sort=downloads", "/api/models?limit=1000&sort=downloads"),
                                ("list sort=likes", "/api/models?limit=1000&sort=likes"),
                                ("list full", "/api/models?limit=1000&full=true"),
                                ("list filter=bench", "/api/models?filter=bench&limit=1000"),
                                ("list search", "/api/models?search=r0099"),
                                ("commits page", "/api/models/bench/r00001/commits/main")]:
                ms, n = timed(path)
                print(f"{label:20s} {n:5d} items  median {ms:8.2f} ms")
                if path.endswith("sort=downloads"):
                    peer_ms = timed_url(peer[1], a.runs)
                    print(f"{'nginx static peer':20s} {n:5d} items  median {peer_ms:8.2f} ms  "
                          f"(hubgate/nginx = {ms / peer_ms:.2f})")
        finally:
            peer[0].send_signal(signal.SIGTERM)
            peer[0].wait(timeout=20)
        assert srv.stop() == 0
    finally:
        if srv is not None and srv.proc.poll() is None:
            srv.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
