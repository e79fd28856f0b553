"""A CDN in front (`hubgate serve --cdn-url`; README.md "A CDN in front"), played by nginx
`proxy_cache` keyed the way the README tells a CDN to key: blobs on the path alone, xorb ranges
on the path and `r` (the signature `x`/`s` left out of the key). huggingface_hub downloads through
it (plain: resolve answers 302 to the signed blob URL at the CDN; hf_xet: the reconstruction's
xorb range URLs point at the CDN) byte-identical; the content-addressed answers carry the headers a
CDN needs (immutable Cache-Control, strong ETag = the hash, Accept-Ranges, a real Content-Length,
single-range 206, no Vary / Set-Cookie), a second fetch is a cache hit even with another
signature, and the origin refuses a wrong signature."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from xet_harness import hg, hh

MB = 1000 * 1000
IMMUTABLE = "public, max-age=31536000, immutable"

NGINX = """
%(user)s worker_processes 1; daemon off; pid %(d)s/nginx.pid; error_log %(d)s/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy; fastcgi_temp_path %(d)s/fcgi;
  uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  proxy_cache_path %(d)s/cache keys_zone=cdn:10m;
  server {
    listen 127.0.0.1:%(port)d;
    location /blobs/ {
      proxy_pass http://127.0.0.1:%(origin)d; proxy_cache cdn; proxy_cache_key $uri;
      add_header X-Cache-Status $upstream_cache_status always;
    }
    location /cas/x/ {
      proxy_pass http://127.0.0.1:%(origin)d; proxy_cache cdn; proxy_cache_key $uri?r=$arg_r;
      add_header X-Cache-Status $upstream_cache_status always;
    }
    location / { proxy_pass http://127.0.0.1:%(origin)d; }
  }
}
"""


def curl(url: str, *args: str, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body) of one request, redirects not followed."""
    cmd = ["curl", "-sS", "-D", "-", "--max-time", "120", *args, url]
    if head:
        cmd.insert(1, "-I")
    r = subprocess.run(cmd, capture_output=True, timeout=180)
    assert r.returncode == 0, r.stderr
    raw, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body


def check_cdn_headers(h: dict[str, str], etag: str, length: int) -> None:
    assert h["cache-control"] == IMMUTABLE
    assert h["etag"] == f'"{etag}"'
    assert h["accept-ranges"] == "bytes"
    assert h["content-length"] == str(length)
    for banned in ("transfer-encoding", "vary", "set-cookie"):
        assert banned not in h, f"{banned}: {h[banned]}"


@pytest.fixture(scope="module")
def cdn():
    tmp = hg.make_tempdir("cdn")
    port = hg.free_port()
    srv = hg.start_server(tmp / "data", ["--cdn-url", f"http://127.0.0.1:{port}"])
    ndir = tmp / "nginx"
    ndir.mkdir()
    (ndir / "nginx.conf").write_text(NGINX % {"d": ndir, "port": port, "origin": srv.port,
                                               "user": "user root;" if os.geteuid() == 0 else ""})
    nginx = subprocess.Popen(["nginx", "-c", str(ndir / "nginx.conf"), "-p", str(ndir)],
                             stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/healthz"]).returncode == 0:
            break
        time.sleep(0.05)
    tok = hg.create_token(tmp / "data", "alice", write=True)
    src = tmp / "src"
    src.mkdir()
    hg.write_random(src / "model.bin", 5 * MB + 7, 41)
    (src / "config.json").write_text('{"cdn": true}\n')
    hh(srv, tok, tmp / "h-up", "create_repo", {"repo": "alice/cdn"}, xet=True)
    hh(srv, tok, tmp / "h-up", "upload_folder", {"repo": "alice/cdn", "folder": str(src)}, xet=True)
    yield srv, tok, tmp, f"http://127.0.0.1:{port}", hg.sha256_file(src / "model.bin")
    nginx.terminate()
    nginx.wait(timeout=10)
    assert srv.stop() == 0
    hg.remove_tempdir(tmp)


def test_plain_download_goes_through_the_cdn(cdn):
    srv, tok, tmp, cdn_url, sha = cdn
    out = hh(srv, tok, tmp / "h-plain", "hf_hub_download", {"repo": "alice/cdn", "path": "model.bin"}, xet=False)
    assert hg.sha256_file(Path(out["file"])) == sha
    # Resolve answers 302 to the signed content address at the CDN, with the Hub's headers.
    st, h, _ = curl(f"{srv.url}/alice/cdn/resolve/main/model.bin", "-H", f"Authorization: Bearer {tok}", head=True)
    assert st == 302
    assert h["x-linked-etag"] == f'"{sha}"' and h["x-linked-size"] == str(5 * MB + 7)
    loc = h["location"]
    assert loc.startswith(f"{cdn_url}/blobs/sha256/{sha}?")
    # The origin's answer carries what a CDN needs.
    origin_url = srv.url + loc[len(cdn_url):]
    st, h, body = curl(origin_url)
    assert st == 200 and hashlib.sha256(body).hexdigest() == sha
    check_cdn_headers(h, sha, 5 * MB + 7)
    st, h, body = curl(origin_url, "-H", "Range: bytes=100-1099")
    assert st == 206 and h["content-range"] == f"bytes 100-1099/{5 * MB + 7}" and len(body) == 1000
    check_cdn_headers(h, sha, 1000)
    st, h, _ = curl(origin_url, head=True)
    assert st == 200
    check_cdn_headers(h, sha, 5 * MB + 7)
    # Authorization is the signature: a wrong or missing one is refused by the origin...
    assert curl(origin_url.replace("&s=", "&s=00"))[0] == 403
    assert curl(f"{srv.url}/blobs/sha256/{sha}")[0] == 403
    # ...and left out of the CDN's cache key: the same content under another signature is a hit.
    assert curl(loc)[1]["x-cache-status"] in ("HIT", "MISS")
    st, h, body = curl(f"{cdn_url}/blobs/sha256/{sha}?size=1&x=1&s=other")
    assert st == 200 and h["x-cache-status"] == "HIT" and hashlib.sha256(body).hexdigest() == sha


def test_xet_download_fetches_xorb_ranges_from_the_cdn(cdn):
    srv, tok, tmp, cdn_url, sha = cdn
    out = hh(srv, tok, tmp / "h-xet", "snapshot_download", {"repo": "alice/cdn"}, xet=True)
    assert hg.sha256_file(Path(out["dir"]) / "model.bin") == sha
    r = srv.get("/api/models/alice/cdn/xet-read-token/main", tok)
    assert r.status == 200
    t = r.json()
    xet_hash = srv.request("HEAD", "/alice/cdn/resolve/main/model.bin",
                           headers={"Authorization": f"Bearer {tok}"}).headers["x-xet-hash"]
    st, _, body = curl(f"{t['casUrl']}/v1/reconstructions/{xet_hash}", "-H", f"Authorization: Bearer {t['accessToken']}")
    assert st == 200
    rec = json.loads(body)
    urls = [fi["url"] for entries in rec["fetch_info"].values() for fi in entries]
    assert urls and all(u.startswith(f"{cdn_url}/cas/x/") for u in urls)
    for fi in [fi for entries in rec["fetch_info"].values() for fi in entries]:
        xorb = urlsplit(fi["url"]).path.rsplit("/", 1)[1]
        lo, hi = fi["url_range"]["start"], fi["url_range"]["end"]
        st, h, body = curl(srv.url + fi["url"][len(cdn_url):])
        assert st == 200 and len(body) == hi - lo + 1
        check_cdn_headers(h, xorb, hi - lo + 1)
        st, h, part = curl(srv.url + fi["url"][len(cdn_url):], "-H", f"Range: bytes={lo}-{lo + 99}")
        assert st == 206 and part == body[:100] and h["content-range"].startswith(f"bytes {lo}-{lo + 99}/")
        check_cdn_headers(h, xorb, 100)
        # Through the CDN: the hf_xet download above filled it; the signature is not in the key.
        st, h, again = curl(fi["url"].replace("&s=", "&s=x"))
        assert st == 200 and h["x-cache-status"] == "HIT" and again == body
