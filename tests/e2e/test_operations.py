"""Operations: /healthz, /metrics counters that move by the exact number of requests made, the
access log, clean shutdown on SIGTERM and a restart on the same data dir."""

from __future__ import annotations

import io
import re
import time
import uuid

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

import hubgate_e2e as hg
from conftest import point_python_client_at

REPO = "e2e/ops"
DATA = b"operations\n" * 10

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$')


@pytest.fixture(scope="module")
def repo(hub):
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    w.create_repo(REPO)
    return w.create_commit(REPO, [CommitOperationAdd("f.txt", io.BytesIO(DATA))],
                           commit_message="ops").oid


def scrape(hub) -> tuple[dict[tuple[str, str], float], int]:
    """(samples keyed by (name, labels), body length) of one GET /metrics."""
    r = hub.server.request("GET", "/metrics")
    assert r.status == 200
    assert (r.header("content-type") or "").startswith("text/plain"), r.headers
    out = {}
    for line in r.body.decode().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = SAMPLE.match(line.strip())
        assert m, f"not a Prometheus sample line: {line!r}"
        out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out, len(r.body)


REQS = "hubgate_http_requests_total"
SENT = ("hubgate_http_sent_bytes_total", "")


def requests(route: str, status: int) -> tuple[str, str]:
    return (REQS, f'{{route="{route}",status="{status}"}}')


def settled(hub, before: dict, expect: dict) -> dict:
    """Scrape until every key in `expect` moved by exactly its value (requests are recorded just
    after their reply is written, so allow a moment), or 5 s passed; returns the last deltas."""
    deadline = time.monotonic() + 5
    while True:
        after, _ = scrape(hub)
        d = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in expect}
        if d == expect or time.monotonic() > deadline:
            return d
        time.sleep(0.05)


def test_healthz(hub):
    r = hub.server.request("GET", "/healthz")
    assert r.status == 200
    assert r.body.strip()


def test_metrics_parse(hub, repo):
    samples, _ = scrape(hub)
    assert ("hubgate_http_open_connections", "") in samples
    assert SENT in samples


def test_metrics_count_requests_exactly(hub, repo):
    before, _ = scrape(hub)
    for _ in range(7):
        assert hub.server.request("GET", f"/{REPO}/resolve/main/f.txt").status == 200
    for _ in range(3):
        assert hub.server.request("GET", f"/{REPO}/resolve/main/missing.txt").status == 404
    expect = {requests("resolve", 200): 7.0, requests("resolve", 404): 3.0}
    assert settled(hub, before, expect) == expect


def test_metrics_count_bytes_sent(hub, repo):
    before, before_len = scrape(hub)
    for _ in range(4):
        assert hub.server.request("GET", f"/{REPO}/resolve/main/f.txt").body == DATA
    # The four replies' bodies plus the bodies of every scrape before the one being read.
    scraped = [before_len]
    deadline = time.monotonic() + 5
    while True:
        after, n = scrape(hub)
        got = after[SENT] - before[SENT]
        want = 4 * len(DATA) + sum(scraped)
        if got == want or time.monotonic() > deadline:
            break
        scraped.append(n)
        time.sleep(0.05)
    assert got == want


def test_access_log_lines(hub, repo):
    marker = f"marker-{uuid.uuid4().hex}.txt"
    assert hub.server.request("GET", f"/{REPO}/resolve/main/{marker}").status == 404
    assert hub.server.request("GET", f"/{REPO}/resolve/main/f.txt").status == 200
    deadline = time.monotonic() + 10
    lines = []
    while time.monotonic() < deadline:
        text = hub.server.access_log.read_text(errors="replace") \
            if hub.server.access_log.exists() else ""
        lines = [ln for ln in text.splitlines() if marker in ln]
        if lines:
            break
        time.sleep(0.1)
    assert len(lines) == 1, f"access log lines with the marker: {lines}"
    assert "404" in lines[0] and "GET" in lines[0]


def test_clean_shutdown_and_restart_keeps_repos(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    tok = hg.create_token(data, "ops-writer", write=True)
    srv = hg.start_server(data)
    point_python_client_at(srv.url)
    try:
        w = HfApi(endpoint=srv.url, token=tok)
        w.create_repo("e2e/persist")
        oid = w.create_commit("e2e/persist", [CommitOperationAdd("p.bin", io.BytesIO(DATA * 999))],
                              commit_message="persist").oid
    finally:
        rc = srv.stop()
    assert rc == 0, srv.log_text()
    srv2 = hg.start_server(data)
    try:
        r = srv2.get("/e2e/persist/resolve/main/p.bin", token=tok)
        assert r.status == 200 and r.body == DATA * 999
        assert r.header("x-repo-commit") == oid
    finally:
        assert srv2.stop() == 0, srv2.log_text()


def test_sigterm_drains_inflight_download(tmp_path):
    """SIGTERM while a 64 MiB download is in flight: the server stops accepting, the download
    still completes with the right bytes, and the process then exits 0."""
    import hashlib
    import http.client
    import signal
    import socket

    data = tmp_path / "data"
    data.mkdir()
    tok = hg.create_token(data, "drain-writer", write=True)
    blob = tmp_path / "big.bin"
    hg.write_random(blob, 64 << 20, seed=7)
    srv = hg.start_server(data)
    point_python_client_at(srv.url)
    try:
        w = HfApi(endpoint=srv.url, token=tok)
        w.create_repo("e2e/drain")
        w.upload_file(path_or_fileobj=str(blob), path_in_repo="big.bin", repo_id="e2e/drain")
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        conn.request("GET", "/e2e/drain/resolve/main/big.bin")
        resp = conn.getresponse()
        assert resp.status == 200
        h = hashlib.sha256(resp.read(1 << 20))
        srv.proc.send_signal(signal.SIGTERM)
        refused = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not refused:
            try:
                socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
                time.sleep(0.05)
            except OSError:
                refused = True
        assert refused, "still accepting connections after SIGTERM"
        while chunk := resp.read(1 << 20):
            h.update(chunk)
        conn.close()
        assert h.hexdigest() == hg.sha256_file(blob)
        srv.proc.wait(timeout=30)
        assert srv.proc.returncode == 0, srv.log_text()
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait(timeout=10)
