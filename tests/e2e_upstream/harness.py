"""Process helpers for the pull-through end-to-end tests: hubgate servers and the fake upstream
on loopback ports chosen at run time, always stopped at the end."""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

HUBGATE = os.environ.get("HUBGATE_BIN", "")
FAKE = os.environ.get("FAKE_UPSTREAM", "")


def sha256(b):
    return hashlib.sha256(b).hexdigest()


class Hubgate:
    """`hubgate serve` on 127.0.0.1:0; the port is read from its startup line."""

    def __init__(self, data_dir, upstream="none", extra=(), threads=4):
        self.data_dir = data_dir
        self.log = os.path.join(data_dir, "access.log")
        os.makedirs(data_dir, exist_ok=True)
        self.err = open(os.path.join(data_dir, "stderr.log"), "w+")  # fresh: the port line is this run's
        args = [HUBGATE, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--upstream", upstream,
                "--access-log", self.log, "--threads", str(threads), *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.err)
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline and self.port is None:
            self.err.seek(0)
            m = re.search(r"listening on http://[^:]+:(\d+)", self.err.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.port is None:
            self.err.seek(0)
            raise RuntimeError("hubgate did not start: " + self.err.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()

    def resolve_gets(self, path_suffix):
        """GETs of resolve URLs ending with path_suffix that sent a body (from the access log)."""
        n = 0
        if not os.path.exists(self.log):
            return 0
        for line in open(self.log):
            if "method=GET" in line and "route=resolve" in line and re.search(r"path=\S*" + re.escape(path_suffix) + r"\s", line):
                if re.search(r"status=20[06]", line):
                    n += 1
        return n

    def xorb_range_gets(self):
        """Xorb byte ranges this server's CAS served (a Xet fill of an edge behind it)."""
        if not os.path.exists(self.log):
            return 0
        with open(self.log) as f:
            return sum(1 for line in f if "route=cas_xorb_range" in line and re.search(r"status=20[06]", line))

    def metrics(self):
        text = urllib.request.urlopen(self.url + "/metrics", timeout=10).read().decode()
        out = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out


def run_hubgate(*args, check=True):
    r = subprocess.run([HUBGATE, *args], capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise RuntimeError("hubgate %s failed: %s %s" % (args[0], r.stdout, r.stderr))
    return r


class FakeUpstream:
    def __init__(self, tmp, big_size=4 << 20):
        port_file = os.path.join(tmp, "fake.port")
        self.proc = subprocess.Popen(["python3", FAKE, "--port-file", port_file, "--big-size", str(big_size)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while not os.path.exists(port_file) and time.time() < deadline:
            time.sleep(0.05)
        self.port = int(open(port_file).read().split()[0])
        self.url = "http://127.0.0.1:%d" % self.port

    def control(self, obj):
        req = urllib.request.Request(self.url + "/_control", data=json.dumps(obj).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def stats(self):
        return json.loads(urllib.request.urlopen(self.url + "/_stats", timeout=10).read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def get(url, headers=None, timeout=60):
    """(status, headers, body) without raising on HTTP errors."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def start_fake_edge(test, prefix):
    """For a unittest.TestCase: a temporary folder, the fake upstream and an edge in front of it
    (test.tmp, test.up, test.data, test.edge), all stopped and removed when the test ends."""
    test.tmp = tempfile.mkdtemp(prefix=prefix)
    test.addCleanup(shutil.rmtree, test.tmp, True)
    test.up = FakeUpstream(test.tmp)
    test.addCleanup(test.up.stop)
    test.data = os.path.join(test.tmp, "edge")
    test.edge = Hubgate(test.data, upstream=test.up.url)
    test.addCleanup(lambda: test.edge.stop())
