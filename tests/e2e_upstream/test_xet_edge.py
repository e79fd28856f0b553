"""Xet pull-through at the edge, end to end: an origin hubgate (real pushes; it ingests every LFS
file into its Xet chunk store) and an edge `hubgate serve --upstream ORIGIN` that fills
Xet-backed files through the origin's CAS, fetching only the chunks it lacks.
Run: test_xet_edge.py <TestClass.test_name> (ctest registers each)."""
import concurrent.futures
import http.client
import http.server
import json
import os
import shutil
import socketserver
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hubgate, get, run_hubgate, sha256  # noqa: E402

MiB = 1 << 20


def safetensors(tensors):
    """A valid safetensors file of U8 tensors (bytes objects), in order."""
    header, off = {}, 0
    for i, t in enumerate(tensors):
        header["t%03d" % i] = {"dtype": "U8", "shape": [len(t)], "data_offsets": [off, off + len(t)]}
        off += len(t)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(tensors)


def origin_xet(origin):
    m = origin.metrics()
    return m.get("hubgate_xet_xorb_range_bytes_total", 0.0), m.get("hubgate_xet_xorb_range_requests_total", 0.0)


def wait_metric(srv, name, value, timeout=10):
    """The server's metrics once `name` reached `value` (a reader may finish just before a fill
    publishes and counts itself complete)."""
    deadline = time.time() + timeout
    while True:
        m = srv.metrics()
        if m.get(name) == value or time.time() > deadline:
            return m
        time.sleep(0.05)


class FaultProxy:
    """A forwarding HTTP proxy in front of the origin (keeps Host, so the origin's casUrl and xorb
    URLs point back through it). With `corrupt` set it flips one byte in every xorb range body."""

    def __init__(self, target_port):
        self.corrupt = False
        self.token_status = None  # answer xet-read-token requests with this status instead
        self.xorb_requests = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def forward(self):
                if proxy.token_status and "/xet-read-token/" in self.path:
                    self.send_response(proxy.token_status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                conn = http.client.HTTPConnection("127.0.0.1", target_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "proxy-connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read() if self.command != "HEAD" else b""
                if self.path.startswith("/cas/x/"):
                    proxy.xorb_requests += 1
                    if proxy.corrupt and data:
                        data = bytearray(data)
                        data[len(data) // 2] ^= 0x5A
                        data = bytes(data)
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else resp.getheader("Content-Length", "0")))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_HEAD = do_POST = forward

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class XetEdge(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hg-e2e-xetedge-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.servers = []
        self.addCleanup(self.stop_all)
        self.origin = self.start(Hubgate(os.path.join(self.tmp, "origin")))
        self.token = run_hubgate("token", "create", "--data-dir", self.origin.data_dir, "--name", "ci",
                                 "--write").stdout.strip()

    def start(self, srv):
        self.servers.append(srv)
        return srv

    def stop_all(self):
        for s in reversed(self.servers):
            s.stop() if isinstance(s, Hubgate) else s.stop()

    def push(self, files, repo="org/model", private=False):
        src = tempfile.mkdtemp(dir=self.tmp)
        for name, data in files.items():
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
        run_hubgate("push", src, repo, "--endpoint", self.origin.url, "--token", self.token, *(["--private"] if private else []))
        status, _, body = get(self.origin.url + "/api/models/" + repo, {"Authorization": "Bearer " + self.token})
        self.assertEqual(status, 200)
        return json.loads(body)["sha"]

    def hf_download(self, endpoint, commit, cache):
        code = ("import sys;from huggingface_hub import hf_hub_download;"
                "print(hf_hub_download('org/model','model.safetensors',revision=sys.argv[2],cache_dir=sys.argv[1]))")
        env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ETAG_TIMEOUT="30")
        env.pop("HF_TOKEN", None)
        r = subprocess.run([sys.executable, "-c", code, os.path.join(self.tmp, cache), commit], env=env,
                           capture_output=True, text=True, timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        return open(r.stdout.strip().splitlines()[-1], "rb").read()

    def curl(self, url, *extra):
        r = subprocess.run(["curl", "-sS", "-f", *extra, url], capture_output=True, timeout=180)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_new_revision_crosses_as_its_changed_chunks(self):
        """rev 1 (64 MiB of random tensors) then rev 2 with 10% of the tensors changed: pulling rev
        2 through the edge moves only about the changed bytes from the origin's CAS."""
        rnd = os.urandom
        tensors = [rnd(MiB) for _ in range(64)]
        rev1 = safetensors(tensors)
        c1 = self.push({"model.safetensors": rev1})
        for i in range(3, 64, 10):  # 7 of 64 tensors (~11%) change
            tensors[i] = rnd(MiB)
        rev2 = safetensors(tensors)
        self.assertEqual(len(rev1), len(rev2))
        edge = self.start(Hubgate(os.path.join(self.tmp, "edge"), upstream=self.origin.url))
        b0, _ = origin_xet(self.origin)
        body = self.curl(edge.url + "/org/model/resolve/%s/model.safetensors" % c1)
        self.assertEqual(sha256(body), sha256(rev1))
        b1, _ = origin_xet(self.origin)
        self.assertGreater(b1 - b0, 0.9 * len(rev1))  # rev 1 crossed as xorb ranges
        self.assertEqual(self.origin.resolve_gets("/model.safetensors"), 0)  # never as plain bytes
        c2 = self.push({"model.safetensors": rev2})
        body = self.curl(edge.url + "/org/model/resolve/%s/model.safetensors" % c2)
        self.assertEqual(body, rev2)
        b2, _ = origin_xet(self.origin)
        pulled = b2 - b1
        print("rev 2: pulled %d xorb bytes for a %d-byte file (%.1f%%); rev 1 pulled %d (%.1f%%)"
              % (pulled, len(rev2), 100.0 * pulled / len(rev2), b1 - b0, 100.0 * (b1 - b0) / len(rev1)))
        self.assertLess(pulled, 0.25 * len(rev2))
        self.assertGreater(pulled, 0.08 * len(rev2))  # the changed tensors did cross
        m = wait_metric(edge, "hubgate_upstream_xet_fills_completed_total", 2)
        self.assertEqual(m["hubgate_upstream_xet_fills_completed_total"], 2)
        self.assertEqual(m["hubgate_upstream_xet_xorb_bytes_total"], b2 - b0)
        self.assertGreater(m["hubgate_upstream_xet_bytes_reused_total"], 0.7 * len(rev2))
        self.assertEqual(m["hubgate_upstream_xet_fills_failed_total"], 0)
        # Both revisions through every client: curl (cache), hf_hub_download, a Range request.
        self.assertEqual(self.curl(edge.url + "/org/model/resolve/%s/model.safetensors" % c1), rev1)
        self.assertEqual(self.hf_download(edge.url, c1, "hf1"), rev1)
        self.assertEqual(self.hf_download(edge.url, c2, "hf2"), rev2)
        lo, hi = 3 * MiB + 12345, 13 * MiB + 777
        part = self.curl(edge.url + "/org/model/resolve/%s/model.safetensors" % c2, "-H", "Range: bytes=%d-%d" % (lo, hi))
        self.assertEqual(part, rev2[lo:hi + 1])
        self.assertEqual(origin_xet(self.origin)[0], b2)  # served from the edge's cache
        # `hubgate xet stats` of the edge: the cached repository's logical vs stored bytes.
        edge.stop()
        st = json.loads(run_hubgate("xet", "stats", "--data-dir", edge.data_dir, "--json").stdout)
        cached = {r["repo"]: r for r in st["repos"]}["cached:org/model"]
        self.assertEqual((cached["files"], cached["logical_bytes"]), (2, len(rev1) + len(rev2)))
        self.assertLess(cached["stored_bytes"], 1.3 * len(rev1))
        self.assertEqual(cached["xorb_bytes_received"], b2 - b0)

    def test_corrupt_xorb_range_is_refused_and_nothing_is_kept(self):
        self._corrupt_fill_leaves_nothing(safetensors([os.urandom(MiB) for _ in range(6)]))

    def test_corrupt_compressed_records_are_refused_and_nothing_is_kept(self):
        # Tensors of a repeated 4 KiB block: the origin stores LZ4 records, so the flipped byte
        # lands in a compressed payload (a record that fails to decode, or decodes wrongly).
        self._corrupt_fill_leaves_nothing(safetensors([os.urandom(4096) * 256 for _ in range(6)]))

    def _corrupt_fill_leaves_nothing(self, data):
        commit = self.push({"model.safetensors": data})
        proxy = self.start(FaultProxy(self.origin.port))
        proxy.corrupt = True
        edge_dir = os.path.join(self.tmp, "edge")
        edge = self.start(Hubgate(edge_dir, upstream=proxy.url))
        url = edge.url + "/org/model/resolve/%s/model.safetensors" % commit
        try:
            status, _, body = get(url, timeout=60)
            got = (status, len(body))
        except (http.client.IncompleteRead, ConnectionError) as e:
            got = ("short", str(e)[:80])
        self.assertNotEqual(got, (200, len(data)))  # never a complete response
        self.assertGreater(proxy.xorb_requests, 0)  # the Xet path was taken
        m = wait_metric(edge, "hubgate_upstream_xet_fills_failed_total", 1)
        self.assertEqual(m["hubgate_upstream_xet_fills_failed_total"], 1)
        self.assertEqual(m["hubgate_upstream_fills_completed_total"], 0)
        blobs = [f for _, _, fs in os.walk(os.path.join(edge_dir, "upstream", "blobs")) for f in fs]
        self.assertEqual(blobs, [])
        xorbs = [f for _, _, fs in os.walk(os.path.join(edge_dir, "xet", "objects")) for f in fs]
        self.assertEqual(xorbs, [])  # no xorb or shard from the corrupt fill
        db = sqlite3.connect(os.path.join(edge_dir, "upstream", "xet_index.db"))
        self.assertEqual(db.execute("SELECT COUNT(*) FROM xet_chunks").fetchone()[0], 0)
        db.close()
        proxy.corrupt = False  # a sane path: the next request fills and verifies
        status, _, body = get(url, timeout=60)
        self.assertEqual((status, sha256(body)), (200, sha256(data)))
        m = wait_metric(edge, "hubgate_upstream_xet_fills_completed_total", 1)
        self.assertEqual(m["hubgate_upstream_xet_fills_completed_total"], 1)
        db = sqlite3.connect(os.path.join(edge_dir, "upstream", "xet_index.db"))
        self.assertGreater(db.execute("SELECT COUNT(*) FROM xet_chunks").fetchone()[0], 0)
        db.close()

    def test_concurrent_clients_on_a_cold_xet_file(self):
        data = safetensors([os.urandom(MiB) for _ in range(24)])
        commit = self.push({"model.safetensors": data})
        edge = self.start(Hubgate(os.path.join(self.tmp, "edge"), upstream=self.origin.url))
        url = edge.url + "/org/model/resolve/%s/model.safetensors" % commit
        b0, r0 = origin_xet(self.origin)
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: get(url, timeout=120), range(6)))
        for status, _, body in results:
            self.assertEqual(status, 200)
            self.assertEqual(sha256(body), sha256(data))
        b1, r1 = origin_xet(self.origin)
        m = edge.metrics()
        self.assertEqual(m["hubgate_upstream_xet_fills_started_total"], 1)
        self.assertEqual(r1 - r0, m["hubgate_upstream_xet_xorb_ranges_total"])  # each range once
        self.assertEqual(b1 - b0, m["hubgate_upstream_xet_xorb_bytes_total"])
        self.assertLess(b1 - b0, 1.01 * len(data))

    def test_upstream_without_xet_falls_back_to_plain_bytes(self):
        """An upstream that answers 404 on xet-read-token offers no Xet: the edge fills plainly."""
        data = safetensors([os.urandom(MiB) for _ in range(3)])
        commit = self.push({"model.safetensors": data})
        proxy = self.start(FaultProxy(self.origin.port))
        proxy.token_status = 404
        edge = self.start(Hubgate(os.path.join(self.tmp, "edge"), upstream=proxy.url))
        status, _, body = get(edge.url + "/org/model/resolve/%s/model.safetensors" % commit, timeout=60)
        self.assertEqual((status, body), (200, data))
        m = wait_metric(edge, "hubgate_upstream_fills_completed_total", 1)
        self.assertEqual(m["hubgate_upstream_xet_fallbacks_total"], 1)
        self.assertEqual(self.origin.resolve_gets("/model.safetensors"), 1)
        self.assertEqual(proxy.xorb_requests, 0)

    def test_upstream_xet_off_fills_plainly_and_hides_xet(self):
        """`--upstream-xet off`: the edge takes whole files with plain GETs and offers no Xet."""
        data = safetensors([os.urandom(MiB) for _ in range(3)])
        commit = self.push({"model.safetensors": data})
        b0, r0 = origin_xet(self.origin)
        edge = self.start(Hubgate(os.path.join(self.tmp, "edge"), upstream=self.origin.url,
                                  extra=("--upstream-xet", "off")))
        status, headers, body = get(edge.url + "/org/model/resolve/%s/model.safetensors" % commit, timeout=60)
        self.assertEqual((status, body), (200, data))
        self.assertNotIn("X-Xet-Hash", headers)
        status, _, tree = get(edge.url + "/api/models/org/model/tree/%s" % commit)
        self.assertEqual([e.get("xetHash") for e in json.loads(tree)], [None] * len(json.loads(tree)))
        self.assertEqual(self.origin.resolve_gets("/model.safetensors"), 1)
        self.assertEqual(origin_xet(self.origin), (b0, r0))  # no xorb range crossed
        m = wait_metric(edge, "hubgate_upstream_fills_completed_total", 1)
        self.assertEqual(m.get("hubgate_upstream_xet_fills_started_total", 0), 0)

    def test_hf_xet_downloads_through_the_edge(self):
        """The edge speaks Xet to its clients: hf_hub_download with hf_xet gets X-Xet-Hash and the
        edge's own token route and CAS; the edge fills the file from the origin through Xet."""
        data = safetensors([os.urandom(MiB) for _ in range(8)])
        commit = self.push({"model.safetensors": data})
        edge = self.start(Hubgate(os.path.join(self.tmp, "edge"), upstream=self.origin.url))
        status, headers, _ = get(edge.url + "/org/model/resolve/%s/model.safetensors" % commit, {"Range": "bytes=0-0"})
        xh = headers.get("X-Xet-Hash")
        self.assertEqual(len(xh or ""), 64)
        self.assertIn('<%s/api/models/org/model/xet-read-token/%s>; rel="xet-auth"' % (edge.url, commit), headers["Link"])
        self.assertIn('<%s/cas/v1/reconstructions/%s>; rel="xet-reconstruction-info"' % (edge.url, xh), headers["Link"])
        status, _, tree = get(edge.url + "/api/models/org/model/tree/%s" % commit)
        self.assertIn(xh, [e.get("xetHash") for e in json.loads(tree)])
        code = ("import sys;from huggingface_hub import hf_hub_download;from huggingface_hub.utils import _runtime;"
                "assert _runtime.is_xet_available();"
                "print(hf_hub_download('org/model','model.safetensors',revision=sys.argv[2],cache_dir=sys.argv[1]))")
        probes = edge.resolve_gets("/model.safetensors")
        for i in range(2):
            env = dict(os.environ, HF_ENDPOINT=edge.url, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ETAG_TIMEOUT="30")
            for k in ("HF_TOKEN", "HF_HUB_DISABLE_XET"):
                env.pop(k, None)
            r = subprocess.run([sys.executable, "-c", code, os.path.join(self.tmp, "hx%d" % i), commit], env=env,
                               capture_output=True, text=True, timeout=180)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            with open(r.stdout.strip().splitlines()[-1], "rb") as f:
                self.assertEqual(f.read(), data)
        m = edge.metrics()
        self.assertEqual(edge.resolve_gets("/model.safetensors"), probes)  # bytes went through the edge's CAS
        self.assertGreaterEqual(m.get('hubgate_xet_reconstructions_total{version="v2"}', 0) +
                                m.get('hubgate_xet_reconstructions_total{version="v1"}', 0), 2)
        self.assertGreaterEqual(m["hubgate_xet_xorb_range_bytes_total"], 2 * len(data) * 0.99)
        self.assertEqual(m["hubgate_upstream_xet_fills_completed_total"], 1)  # one fill from the origin
        b, _ = origin_xet(self.origin)
        self.assertLess(b, 1.01 * len(data))


    def test_private_repo_through_the_edge_with_hf_xet(self):
        """Xet through the edge keeps the client's access: the edge's token route asks upstream
        with the client's token, a token of another repository cannot reconstruct the file."""
        secret = safetensors([os.urandom(MiB) for _ in range(4)])
        c_secret = self.push({"model.safetensors": secret}, repo="org/secret", private=True)
        c_public = self.push({"model.safetensors": safetensors([os.urandom(MiB)])})
        edge = self.start(Hubgate(os.path.join(self.tmp, "edge"), upstream=self.origin.url))
        code = ("import sys;from huggingface_hub import hf_hub_download;"
                "print(hf_hub_download('org/secret','model.safetensors',revision=sys.argv[2],cache_dir=sys.argv[1]))")

        def download(token, cache):
            env = dict(os.environ, HF_ENDPOINT=edge.url, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ETAG_TIMEOUT="30")
            env.pop("HF_HUB_DISABLE_XET", None)
            env.pop("HF_TOKEN", None)
            if token:
                env["HF_TOKEN"] = token
            return subprocess.run([sys.executable, "-c", code, os.path.join(self.tmp, cache), c_secret], env=env,
                                  capture_output=True, text=True, timeout=180)

        self.assertNotEqual(download(None, "anon").returncode, 0)
        r = download(self.token, "auth")
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        with open(r.stdout.strip().splitlines()[-1], "rb") as f:
            self.assertEqual(f.read(), secret)
        self.assertEqual(edge.metrics()["hubgate_upstream_xet_fills_completed_total"], 1)
        # An anonymous token for the public repo must not open the private file's reconstruction.
        auth = {"Authorization": "Bearer " + self.token}
        _, headers, _ = get(edge.url + "/org/secret/resolve/%s/model.safetensors" % c_secret, dict(auth, Range="bytes=0-0"))
        xh = headers["X-Xet-Hash"]
        status, _, body = get(edge.url + "/api/models/org/model/xet-read-token/%s" % c_public)
        self.assertEqual(status, 200)
        tok = json.loads(body)["accessToken"]
        status, _, _ = get(edge.url + "/cas/v1/reconstructions/" + xh, {"Authorization": "Bearer " + tok})
        self.assertEqual(status, 403)
        self.assertEqual(get(edge.url + "/api/models/org/secret/xet-read-token/%s" % c_secret)[0], 401)
        status, _, body = get(edge.url + "/api/models/org/secret/xet-read-token/%s" % c_secret, auth)
        self.assertEqual(status, 200)
        tok = json.loads(body)["accessToken"]
        status, _, body = get(edge.url + "/cas/v1/reconstructions/" + xh, {"Authorization": "Bearer " + tok})
        self.assertEqual(status, 200)
        self.assertEqual(sum(t["unpacked_length"] for t in json.loads(body)["terms"]), len(secret))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], *sys.argv[1:]], verbosity=2)
