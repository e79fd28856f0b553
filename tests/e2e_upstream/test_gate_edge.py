"""The security gate on an edge in front of the fake upstream: the FIRST client of a cold,
blocked file gets the same 403 (`X-Error-Code: BlockedBySecurityPolicy`, the rule named) as every
later one, whatever its size, and no byte of it; a large safe safetensors file streams before
its download ends. The edge holds response heads of files up to 1 MiB until their verdict
(`--gate-hold-max-bytes 1048576`); above that the verdict comes early from a pickle's first
bytes or from a zip's central directory and deciding members read by ranges. A file whose danger
shows only at its end ends its (chunked) body with a line naming the block.
Clients: curl, huggingface_hub (`hf_hub_download`), @huggingface/hub (`downloadFile`, through
tests/e2e/js/hj.mjs). Each client is the first of its own copy of each file (the copies differ
by a byte, so they are different contents). Run: test_gate_edge.py <TestClass.test_name>."""
import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import urllib.request
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import FakeUpstream, Hubgate, get, sha256  # noqa: E402

HOLD = 1 << 20
DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e", "js", "hj.mjs")
CLIENTS = ("curl", "hf", "js")


class Evil:
    def __init__(self, tag):
        self.tag = tag

    def __reduce__(self):
        return (os.system, ("echo " + self.tag,))


def noise(n, seed):
    out, block = bytearray(), hashlib.sha256(seed.encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:n])


def small_pickle(tag):  # ~7 KB, dangerous at its start
    return pickle.dumps([Evil(tag), noise(5000, tag)], protocol=2)


def big_pickle(tag):  # 3 MiB raw pickle, dangerous in its first bytes
    return pickle.dumps([Evil(tag), noise(3 << 20, tag)], protocol=4)


def late_pickle(tag):  # 20 MiB, dangerous only at its end (beyond the early verdict's 16 MiB)
    return pickle.dumps([noise(20 << 20, tag), Evil(tag)], protocol=4)


def torch_zip(tag):  # a PyTorch-style zip: the storage first, data.pkl after it, 3 MiB
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data/0", noise(3 << 20, tag))
        z.writestr("archive/data.pkl", pickle.dumps({"w": Evil(tag)}, protocol=2))
        z.writestr("archive/version", "3\n")
    return buf.getvalue()


def safetensors(tag, n=4 << 20):
    header = json.dumps({"w": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}).encode().ljust(128)
    return struct.pack("<Q", len(header)) + header + noise(n, tag)


class GateEdge(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hg-e2e-gate-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def start(self, family, make):
        """One copy of the family's file per client in repository org/gate of the fake upstream, and
        an edge in front of it."""
        files = os.path.join(self.tmp, "files")
        os.makedirs(files)
        self.files = {}
        for client in CLIENTS:
            name = "%s-%s" % (client, family)
            self.files[name] = make(name)
            with open(os.path.join(files, name), "wb") as f:
                f.write(self.files[name])
        self.up = FakeUpstream(self.tmp)
        self.addCleanup(self.up.stop)
        self.up.control({"add_repo": {"name": "org/gate", "dir": files}})
        self.edge = Hubgate(os.path.join(self.tmp, "edge"), upstream=self.up.url,
                            extra=("--gate-hold-max-bytes", str(HOLD)))
        self.addCleanup(self.edge.stop)

    def url(self, name):
        return self.edge.url + "/org/gate/resolve/main/" + name

    # ---- the three clients, each the first of its copy ----------------------------------------

    def curl(self, name):
        """(exit code, status, headers lowercased, body bytes)"""
        out, hdr = os.path.join(self.tmp, "curl.out"), os.path.join(self.tmp, "curl.hdr")
        r = subprocess.run(["curl", "-sS", "-D", hdr, "-o", out, "--max-time", "120", self.url(name)],
                           capture_output=True, text=True, timeout=150)
        lines = []
        if os.path.exists(hdr):
            with open(hdr) as f:
                lines = f.read().splitlines()
        status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ":" in ln)}
        body = b""
        if os.path.exists(out):
            with open(out, "rb") as f:
                body = f.read()
        return r.returncode, status, headers, body

    def hf(self, name):
        """hf_hub_download in a fresh process and cache: ("ok", sha256) or (exception class, text, status)."""
        code = ("import sys, hashlib\nfrom huggingface_hub import hf_hub_download\n"
                "try:\n    p = hf_hub_download('org/gate', sys.argv[1], cache_dir=sys.argv[2])\n"
                "    print('ok', hashlib.sha256(open(p, 'rb').read()).hexdigest())\n"
                "except Exception as e:\n"
                "    r = getattr(e, 'response', None)\n"
                "    c = e.__cause__\n"
                "    print('ERR', type(e).__name__, getattr(r, 'status_code', None), repr(str(e)),\n"
                "          'CAUSE', type(c).__name__, getattr(getattr(c, 'response', None), 'status_code', None),\n"
                "          repr(str(c)))\n")
        env = dict(os.environ, HF_ENDPOINT=self.edge.url, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1")
        env.pop("HF_TOKEN", None)
        r = subprocess.run([sys.executable, "-c", code, name, os.path.join(self.tmp, "hf-" + name)], env=env,
                           capture_output=True, text=True, timeout=180)
        last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "ERR none none " + repr(r.stderr[-2000:])
        return last

    def js(self, name):
        r = subprocess.run(["node", DRIVER, "downloadFile", json.dumps({"hubUrl": self.edge.url, "repo": "org/gate",
                                                                        "path": name})],
                           capture_output=True, text=True, timeout=180)
        return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])

    def assert_refused_again(self, name):
        """The next client: 403 before any byte, naming the rule; returns the rule text."""
        status, headers, body = get(self.url(name))
        self.assertEqual(status, 403, body[:300])
        self.assertEqual(headers.get("X-Error-Code"), "BlockedBySecurityPolicy")
        self.assertIn("pickle.dangerous-global posix.system", headers.get("X-Error-Message", ""))
        return headers["X-Error-Message"]

    def assert_first_clients_refused(self, family, make):
        self.start(family, make)
        for client in CLIENTS:
            name = "%s-%s" % (client, family)
            if client == "curl":
                rc, status, headers, body = self.curl(name)
                self.assertEqual((rc, status), (0, 403), body[:300])
                self.assertEqual(headers.get("x-error-code"), "BlockedBySecurityPolicy")
                first_rule = headers.get("x-error-message", "")
                self.assertIn(b"blocked by security policy", body)
            elif client == "hf":
                out = self.hf(name)
                self.assertTrue(out.startswith("ERR HfHubHTTPError 403 "), out)
                first_rule = out
            else:
                rc, out = self.js(name)
                self.assertEqual((rc, out.get("statusCode")), (1, 403), out)
                first_rule = out["error"]
            self.assertIn("pickle.dangerous-global posix.system", first_rule)
            again = self.assert_refused_again(name)
            self.assertIn(again.split(": ", 1)[1], first_rule.replace("\\'", "'"))
        # Never in the edge's cache.
        for client in CLIENTS:
            digest = sha256(self.files["%s-%s" % (client, family)])
            self.assertFalse([p for p, _, fs in os.walk(os.path.join(self.tmp, "edge", "upstream"))
                              for f in fs if digest in f])

    # ---- families --------------------------------------------------------------------------

    def test_small_pickle_first_client_gets_the_refusal(self):
        self.assert_first_clients_refused("small.pkl", small_pickle)

    def test_large_raw_pickle_is_refused_from_its_first_bytes(self):
        self.assert_first_clients_refused("big.pkl", big_pickle)
        # Each fill stopped at its first bytes: far less than one file reached the edge.
        self.assertLess(self.edge.metrics()["hubgate_upstream_bytes_from_upstream_total"], 1 << 20)

    def test_large_torch_zip_is_refused_from_its_directory_and_data_pkl(self):
        self.assert_first_clients_refused("big.pt", torch_zip)
        self.assertLess(self.edge.metrics()["hubgate_upstream_bytes_from_upstream_total"], 1 << 20)

    def test_large_safetensors_streams_before_its_download_ends(self):
        self.start("model.safetensors", safetensors)
        name = "curl-model.safetensors"
        size = len(self.files[name])
        self.up.control({"faults": {name: {"stall_at": 2 << 20, "stall_s": 4, "times": 1}}})
        with urllib.request.urlopen(self.url(name), timeout=60) as r:
            self.assertEqual(r.status, 200)
            first = r.read(1 << 20)  # arrives while the upstream is stalled at 2 MiB
            self.assertLess(self.up.stats()["bytes_sent"], size)
            rest = r.read()
        self.assertEqual(sha256(first + rest), sha256(self.files[name]))
        self.assertEqual(self.hf("hf-model.safetensors"), "ok " + sha256(self.files["hf-model.safetensors"]))
        rc, out = self.js("js-model.safetensors")
        self.assertEqual((rc, out), (0, {"size": size, "sha256": sha256(self.files["js-model.safetensors"])}))

    def test_late_danger_ends_the_stream_with_the_block_then_403(self):
        self.start("late.pkl", late_pickle)
        # curl: the transfer fails, no byte of the file was written, the retry is the 403.
        rc, status, _, body = self.curl("curl-late.pkl")
        self.assertEqual(status, 200)
        self.assertNotEqual(rc, 0)
        self.assertEqual(body, b"")
        self.assert_refused_again("curl-late.pkl")
        # huggingface_hub: the error names the block; its retry gets the 403 naming the rule.
        out = self.hf("hf-late.pkl")
        self.assertTrue(out.startswith("ERR ChunkedEncodingError "), out)
        self.assertIn("BlockedBySecurityPolicy", out)
        self.assertIn("pickle.dangerous-global posix.system", out)
        out = self.hf("hf-late.pkl")  # its HEAD is refused now: no download is attempted
        self.assertTrue(out.startswith("ERR LocalEntryNotFoundError "), out)
        self.assertIn(" CAUSE HfHubHTTPError 403 ", out)
        self.assertIn("pickle.dangerous-global posix.system", out)
        # @huggingface/hub: fileDownloadInfo's ranged GET starts the fill and gets its head after
        # the early phase; the upstream then stalls at 18 MiB for 3 s, so the Blob's own GET
        # joins the running fill. The download fails (never a complete-looking file): fetch's
        # "terminated", whose cause holds the line naming the block. The retry is the 403.
        self.up.control({"faults": {"js-late.pkl": {"stall_at": 18 << 20, "stall_s": 3, "times": 1}}})
        rc, out = self.js("js-late.pkl")
        self.assertEqual(rc, 1, out)
        self.assertNotIn("sha256", out)
        self.assertEqual(out["error"], "terminated", out)
        self.assertTrue(any("BlockedBySecurityPolicy" in c and "posix.system" in c for c in out["causes"]), out)
        rc, out = self.js("js-late.pkl")
        self.assertEqual((rc, out.get("statusCode")), (1, 403), out)
        self.assertIn("pickle.dangerous-global posix.system", out["error"])
        for client in CLIENTS:
            self.assert_refused_again("%s-late.pkl" % client)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:])
