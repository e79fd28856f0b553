#!/usr/bin/env python3
"""Xet vs plain HTTP through the same hubgate (hosted repository), with the real clients.

Download of one large file: huggingface_hub + hf_xet (CAS reconstruction + xorb ranges) vs
huggingface_hub with HF_HUB_DISABLE_XET=1 (plain resolve GET) vs curl from hubgate vs curl from
nginx serving a copy of the same file (static, sendfile on) — the plain-HTTP peer. Upload of one large file:
upload_folder with hf_xet (xorbs + shard, then commit materializes the sha256 blob) vs LFS basic
(signed PUT, then commit ingests into the chunk store). Every run uses a fresh HF_HOME (no client
cache) and, for uploads, fresh random content (no dedup). Prints medians and ratios.

usage: .venv/bin/python bench/xet_gateway/bench_xet_gateway.py --hubgate build/hubgate
env: SIZE_MB (default 512), RUNS (default 3)
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e_xet"))


NGINX_CONF = """
%(user)s worker_processes auto; daemon off; pid %(d)s/nginx.pid; error_log %(d)s/error.log;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on;
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy; fastcgi_temp_path %(d)s/fcgi;
  uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  server { listen 127.0.0.1:%(port)d; root %(root)s; }
}
"""


def start_nginx(ndir: Path, root: Path) -> tuple[subprocess.Popen, str]:
    """nginx serving `root` statically on a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ndir.mkdir(parents=True, exist_ok=True)
    conf = ndir / "nginx.conf"
    conf.write_text(NGINX_CONF % {"d": ndir, "port": port, "root": root,
                                  "user": "user root;" if os.geteuid() == 0 else ""})
    proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(ndir)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url + "/"], capture_output=True, text=True)
        if r.stdout.strip() not in ("", "000"):
            return proc, url
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("nginx did not start")


def curl_get(url: str, size: int, token: str | None = None) -> float:
    cmd = ["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{size_download}", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    dt = time.perf_counter() - t0
    assert r.returncode == 0 and int(r.stdout) == size, (url, r.stdout, r.stderr)
    return dt


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
    res: dict[str, list[float]] = {k: [] for k in ("up_xet", "up_lfs", "down_xet", "down_http", "down_curl", "down_nginx")}
    nginx = None
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
                if nginx is None:  # nginx serves a copy of the file just downloaded
                    (tmp / "www").mkdir()
                    shutil.copyfile(out["file"], tmp / "www" / "model.bin")
                    os.chmod(tmp, 0o755)
                    nginx = start_nginx(tmp / "nginx", tmp / "www")
                subprocess.run(["rm", "-rf", str(home)], check=True)
            res["down_curl"].append(curl_get(f"{srv.url}/bench/x/resolve/main/model.bin", size, tok))
            res["down_nginx"].append(curl_get(f"{nginx[1]}/model.bin", size))
        m = metrics(srv)
    finally:
        if nginx is not None:
            nginx[0].terminate()
            nginx[0].wait()
        srv.stop()
        hg.remove_tempdir(tmp)

    mb = size / 1e6
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"file {mb:.0f} MB, {runs} runs, medians (s) and throughput (MB/s); client and server on one host")
    for k, v in med.items():
        print(f"  {k:10s} {v:8.2f} s  {mb / v:8.1f} MB/s   runs: {', '.join(f'{x:.2f}' for x in res[k])}")
    print(f"download: Xet / plain HTTP (both huggingface_hub) time ratio {med['down_xet'] / med['down_http']:.2f}, "
          f"Xet / curl {med['down_xet'] / med['down_curl']:.2f}, Xet / nginx (curl) {med['down_xet'] / med['down_nginx']:.2f}")
    print(f"plain HTTP: curl from hubgate / curl from nginx time ratio {med['down_curl'] / med['down_nginx']:.2f}")
    print(f"upload:   Xet / LFS basic time ratio {med['up_xet'] / med['up_lfs']:.2f}")
    v2 = m.get('hubgate_xet_reconstructions_total{version="v2"}', 0)
    print(f"server: reconstructions v2 {v2:.0f}, "
          f"xorb bytes received {m.get('hubgate_xet_xorb_bytes_received_total', 0):.0f}, "
          f"stored {m.get('hubgate_xet_stored_bytes', 0):.0f}, logical {m.get('hubgate_xet_logical_bytes', 0):.0f}")


if __name__ == "__main__":
    main()
