"""Hostile files and hostile networks: the loader refuses headers that lie (sizes, overlaps,
out-of-bounds offsets, truncation, trailing bytes) with the scanner's rule in the message, and a
proxy that flips one byte mid-stream makes tensors() raise IntegrityError before it finishes
(a proxy that keeps cutting the stream short: LoaderError after the retries). The hub serving
them runs with its security gate off, so only the loader's own checks stand in the way."""

from __future__ import annotations

import http.client
import http.server
import random
import re
import threading
import urllib.parse

import pytest

import hubgate
import hubgate_e2e as hg
import st_files

REPO = "loader/hostile"


def f32(n: int, rng: random.Random) -> bytes:
    return st_files.tensor_bytes("F32", [n], rng)


def hostile_files() -> dict[str, tuple[bytes, str]]:
    """file name -> (bytes, the rule id the loader must name)."""
    rng = random.Random(3)
    good = [("a", "F32", [16], f32(16, rng)), ("b", "F32", [16], f32(16, rng))]

    def lie_size(h):
        h["a"]["shape"] = [17]

    def overlap(h):
        h["b"]["data_offsets"] = [32, 96]
        h["a"]["data_offsets"] = [0, 64]

    out = {
        "size-lie.safetensors": (st_files.build(good, header_patch=lie_size), "safetensors.size-mismatch"),
        "overlap.safetensors": (st_files.build(good, header_patch=overlap), "safetensors.overlap"),
        "truncated.safetensors": (st_files.build(good)[:-10], "safetensors.out-of-bounds"),
        "trailing.safetensors": (st_files.build(good) + b"PK\x03\x04hidden", "safetensors.trailing-data"),
    }
    blob = st_files.build(good)
    out["header-length.safetensors"] = ((10 ** 6).to_bytes(8, "little") + blob[8:], "safetensors.header-length")
    return out


@pytest.fixture(scope="module")
def hostile(lax_hub):
    root = hg.make_tempdir("hostile")
    rng = random.Random(5)
    for name, (blob, _) in hostile_files().items():
        st_files.write(root / "repo" / name, blob)
    # A sound file of 24 tensors x 64 KiB for the network cases.
    tensors = [(f"w{i:02d}", "F32", [16384], f32(16384, rng)) for i in range(24)]
    st_files.write(root / "repo" / "sound.safetensors", st_files.build(tensors))
    lax_hub.push(root / "repo", REPO)
    yield root / "repo"
    hg.remove_tempdir(root)


@pytest.mark.parametrize("name", sorted(hostile_files()))
def test_header_lies_refused(lax_hub, hostile, name):
    rule = hostile_files()[name][1]
    with pytest.raises(hubgate.IntegrityError, match=re.escape(f"{name}: safetensors:")) as e:
        hubgate.safe_open(REPO, name, endpoint=lax_hub.url)
    assert f"[{rule}]" in str(e.value)


def test_index_naming_a_missing_shard_refused(lax_hub, tmp_path):
    st_files.write(tmp_path / "repo" / "model-1.safetensors", st_files.build([("x", "U8", [2], b"ab")]))
    (tmp_path / "repo" / "model.safetensors.index.json").write_text(
        '{"weight_map": {"x": "model-1.safetensors", "y": "../../etc/passwd"}}')
    lax_hub.push(tmp_path / "repo", "loader/bad-index")
    with pytest.raises(hubgate.IntegrityError, match=re.escape("names '../../etc/passwd', which the revision lacks")):
        hubgate.safe_open("loader/bad-index", endpoint=lax_hub.url)


class Proxy:
    """A loopback HTTP proxy in front of the hub that damages the bytes of GET answers covering
    absolute file offset `at` of `path_suffix`: mode "flip" flips that byte, mode "cut" ends the
    body just before it (the declared length is kept, so the client sees a short body)."""

    def __init__(self, upstream: str, path_suffix: str, at: int, mode: str):
        self.up = urllib.parse.urlsplit(upstream)
        self.hits = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def relay(self, method):
                conn = http.client.HTTPConnection(proxy.up.hostname, proxy.up.port, timeout=30)
                fwd = {k: v for k, v in self.headers.items() if k.lower() in ("range", "authorization")}
                conn.request(method, self.path, headers=fwd)
                r = conn.getresponse()
                body = r.read() if method == "GET" else b""
                start = 0
                m = re.match(r"bytes (\d+)-(\d+)/", r.headers.get("Content-Range", ""))
                if m:
                    start = int(m.group(1))
                cut = None
                if method == "GET" and self.path.split("?")[0].endswith(path_suffix) and r.status in (200, 206) \
                        and start <= at < start + len(body):
                    proxy.hits += 1
                    if mode == "flip":
                        i = at - start
                        body = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]
                    else:
                        cut = at - start
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body) if method == "GET" else r.headers.get("Content-Length", "0")))
                if cut is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if method == "GET":
                    self.wfile.write(body if cut is None else body[:cut])
                if cut is not None:
                    self.close_connection = True
                conn.close()

            def do_GET(self):
                self.relay("GET")

            def do_HEAD(self):
                self.relay("HEAD")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def header_len(blob: bytes) -> int:
    return 8 + int.from_bytes(blob[:8], "little")


def test_corrupting_proxy_raises_before_the_end(lax_hub, hostile):
    blob = (hostile / "sound.safetensors").read_bytes()
    at = header_len(blob) + 20 * 65536 + 123  # inside tensor w20
    proxy = Proxy(lax_hub.url, "/sound.safetensors", at, "flip")
    try:
        seen = []
        with hubgate.safe_open(REPO, "sound.safetensors", endpoint=proxy.url, connections=4,
                               request_bytes=128 << 10) as f:
            with pytest.raises(hubgate.IntegrityError, match="sha256 mismatch") as e:
                for name, _t in f.tensors():
                    seen.append(name)
        assert "sound.safetensors" in str(e.value)
        assert proxy.hits >= 1
        assert len(seen) < 24, "the iterator must not finish with wrong bytes"
        # Without the proxy the same file loads whole.
        with hubgate.safe_open(REPO, "sound.safetensors", endpoint=lax_hub.url) as f:
            assert len(list(f.tensors())) == 24
    finally:
        proxy.close()


def test_cutting_proxy_fails_after_retries(lax_hub, hostile):
    blob = (hostile / "sound.safetensors").read_bytes()
    at = header_len(blob) + 7 * 65536 + 5
    proxy = Proxy(lax_hub.url, "/sound.safetensors", at, "cut")
    try:
        with hubgate.safe_open(REPO, "sound.safetensors", endpoint=proxy.url, connections=2) as f:
            with pytest.raises(hubgate.LoaderError, match="failed 5 times") as e:
                list(f.tensors())
        assert not isinstance(e.value, hubgate.IntegrityError)
        assert proxy.hits == 5  # the first try and four retries, each resumed at the byte reached
    finally:
        proxy.close()
