"""Harness for hubgate's black-box end-to-end tests.

Starts real `hubgate serve` processes on 127.0.0.1 (free port chosen at run time, fresh data dir),
creates tokens with `hubgate token create`, and offers small helpers shared by the test files:
raw HTTP on loopback, sha256 of files and trees, the npm client driver (js/hj.mjs) and the
`hubgate push` CLI. Everything here talks to the server only through its public surfaces (CLI,
HTTP); nothing imports hubgate code.

Environment:
  HUBGATE_BIN       path of the built `hubgate` binary (ctest passes $<TARGET_FILE:hubgate>)
  HUBGATE_E2E_KEEP  if set, temp dirs are kept for inspection
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
JS_DIR = HERE / "js"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0


def hubgate_bin() -> str:
    b = os.environ.get("HUBGATE_BIN")
    if not b:
        raise RuntimeError("HUBGATE_BIN is not set (run through ctest, or export it)")
    if not os.access(b, os.X_OK):
        raise RuntimeError(f"HUBGATE_BIN={b} is not an executable")
    return b


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def tree_hashes(root: Path | str) -> dict[str, str]:
    """{relative posix path: sha256} of every regular file under root (symlinks followed)."""
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = sha256_file(p)
    return out


def repo_hashes(root: Path | str) -> dict[str, str]:
    """tree_hashes of a downloaded snapshot, less a `.gitattributes` the server may have added."""
    return {k: v for k, v in tree_hashes(root).items() if k != ".gitattributes"}


def dir_size(root: Path | str) -> int:
    total = 0
    for p in Path(root).rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return total


def write_random(path: Path, size: int, seed: int) -> None:
    """`size` pseudo-random bytes from a seeded generator (reproducible, incompressible)."""
    import random

    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 4 << 20)
            f.write(rng.randbytes(n))
            left -= n


def write_random_safetensors(path: Path, size: int, seed: int) -> None:
    """A valid safetensors file of exactly `size` bytes: one U8 tensor of pseudo-random bytes.
    (Random bytes merely *named* .safetensors are a malformed file the security gate blocks.)"""
    import random
    import struct

    n = size - 8 - 128
    header = json.dumps({"data": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}).encode().ljust(128)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + random.Random(seed).randbytes(n))


def make_tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"hubgate-e2e-{prefix}-"))


def remove_tempdir(path: Path) -> None:
    if not os.environ.get("HUBGATE_E2E_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


@dataclass
class Server:
    """One running `hubgate serve`. Use start_server() to make one; stop() checks a clean exit."""

    port: int
    data_dir: Path
    log_path: Path
    access_log: Path
    proc: subprocess.Popen
    extra_args: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60.0) -> Response:
        """One HTTP/1.1 request with http.client; the path is sent exactly as given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            hdrs = dict(headers or {})
            if body is not None and "Content-Length" not in hdrs:
                hdrs["Content-Length"] = str(len(body))
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            r = conn.getresponse()
            data = r.read()
            hs: dict[str, str] = {}
            for k, v in r.getheaders():
                k = k.lower()
                hs[k] = f"{hs[k]}, {v}" if k in hs else v
            return Response(r.status, hs, data)
        finally:
            conn.close()

    def get(self, path: str, token: str | None = None, **kw) -> Response:
        headers = kw.pop("headers", {}) or {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("GET", path, headers=headers, **kw)

    def alive(self) -> bool:
        """The process runs and /healthz answers 200."""
        if self.proc.poll() is not None:
            return False
        try:
            return self.request("GET", "/healthz", timeout=5).status == 200
        except OSError:
            return False

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    def stop(self) -> int:
        """SIGTERM, wait, and return the exit status (the caller asserts it is 0)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(
                    f"hubgate did not exit within {STOP_TIMEOUT_S}s of SIGTERM\n{self.log_text()}")
        return self.proc.returncode


def create_token(data_dir: Path, name: str, write: bool = False, repos: str | None = None) -> str:
    cmd = [hubgate_bin(), "token", "create", "--data-dir", str(data_dir), "--name", name]
    if write:
        cmd.append("--write")
    if repos:
        cmd += ["--repos", repos]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"token create failed ({r.returncode}): {r.stderr}"
    lines = [line.strip() for line in r.stdout.splitlines() if line.strip()]
    assert lines, f"token create printed nothing: {r.stderr}"
    return lines[-1]


def start_server(data_dir: Path, extra_args: list[str] | None = None,
                 upstream: str = "none") -> Server:
    """Start `hubgate serve` on a free loopback port and wait until /healthz answers 200.
    `upstream` is another server's URL for a pull-through edge in front of it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}.server.log"
    access_log = data_dir.parent / f"{data_dir.name}.access.log"
    last_err = None
    for _attempt in range(3):  # a free port may be taken between the probe and the bind
        port = free_port()
        args = [hubgate_bin(), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir",
                str(data_dir), "--upstream", upstream, "--public-url", f"http://127.0.0.1:{port}",
                "--log-level", "info", "--access-log", str(access_log)] + (extra_args or [])
        logf = open(log_path, "ab")
        proc = subprocess.Popen(args, stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        logf.close()
        srv = Server(port, data_dir, log_path, access_log, proc, extra_args or [])
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if srv.alive():
                return srv
            time.sleep(0.05)
        last_err = srv.log_text()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    raise RuntimeError(f"hubgate serve did not become healthy:\n{last_err}")


def run_node(op: str, params: dict, timeout: float = 240.0) -> object:
    """Run one @huggingface/hub call through js/hj.mjs; returns its JSON result or raises."""
    if not (JS_DIR / "node_modules" / "@huggingface" / "hub").is_dir():
        raise RuntimeError(f"{JS_DIR}/node_modules missing: run scripts/setup.sh")
    r = subprocess.run(["node", str(JS_DIR / "hj.mjs"), op, json.dumps(params)],
                       capture_output=True, text=True, timeout=timeout, cwd=JS_DIR)
    if r.returncode != 0:
        raise NodeError(op, r.returncode, r.stdout, r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


class NodeError(Exception):
    def __init__(self, op, rc, out, err):
        super().__init__(f"node {op} exited {rc}\nstdout: {out[-4000:]}\nstderr: {err[-4000:]}")
        self.op, self.rc, self.stdout, self.stderr = op, rc, out, err


def hubgate_push(folder: Path, repo: str, endpoint: str, token: str, *, revision: str | None = None,
                 message: str | None = None, repo_type: str | None = None,
                 private: bool = False, timeout: float = 240.0) -> subprocess.CompletedProcess:
    cmd = [hubgate_bin(), "push", str(folder), repo, "--endpoint", endpoint, "--token", token]
    if revision:
        cmd += ["--revision", revision]
    if message:
        cmd += ["--message", message]
    if repo_type:
        cmd += ["--repo-type", repo_type]
    if private:
        cmd.append("--private")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def raw_exchange(port: int, payload: bytes, *, shutdown_write: bool = False,
                 timeout: float = 10.0) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes or `timeout`.
    Returns everything received (possibly b"")."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if shutdown_write:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                c = s.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            except ConnectionResetError:
                break
            if not c:
                break
            chunks.append(c)
            got = b"".join(chunks)
            if _complete_response(got):
                break
        return b"".join(chunks)


def _complete_response(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            try:
                return len(body) >= int(v.strip())
            except ValueError:
                return False
    return False


def parse_raw_response(data: bytes) -> Response:
    head, sep, body = data.partition(b"\r\n\r\n")
    assert sep, f"no complete HTTP response head in {data[:300]!r}"
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    assert parts[0].startswith("HTTP/1."), f"bad status line {lines[0]!r}"
    hs: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        k = k.strip().lower()
        hs[k] = f"{hs[k]}, {v.strip()}" if k in hs else v.strip()
    return Response(int(parts[1]), hs, body)


def quote_path(p: str) -> str:
    return urllib.parse.quote(p)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def curl(url: str, out: Path, *, range_header: str | None = None, token: str | None = None,
         method: str | None = None) -> tuple[int, dict[str, str]]:
    """GET `url` with curl into `out`; returns (status, lower-case headers of the final reply)."""
    hdr_file = out.with_name(out.name + ".headers")
    cmd = ["curl", "-sS", "--path-as-is", "-o", str(out), "-D", str(hdr_file),
           "-w", "%{http_code}", "--max-time", "120"]
    if range_header:
        cmd += ["-H", f"Range: {range_header}"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    if method:
        cmd += ["-X", method]
    cmd.append(url)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, f"curl failed: {r.stderr}"
    headers: dict[str, str] = {}
    blocks = hdr_file.read_bytes().decode("latin-1").strip().split("\r\n\r\n")
    for line in blocks[-1].split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(r.stdout.strip()), headers


def read_slice(path: Path, start: int, end_incl: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end_incl - start + 1)
