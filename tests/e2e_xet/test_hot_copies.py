"""Whole-file copies as a bounded cache over the Xet chunk store (src/cas/hot_copies.hpp).

With `--hot-copies-max-bytes 0` no sha256 blob of a Xet-backed file stays in <data>/store after
its commit, whether it came through hf_xet or LFS basic; plain HTTP (curl full and ranged, incl.
ranges across xorb boundaries, HEAD, hf_hub_download without Xet) is served from the chunk store
with identical bytes and headers. With a small budget, copies are a read cache: a commit keeps
none, a plain read of a file without a copy fills one in the background, least recently used
copies leave first (/metrics). With the defaults, a second revision of a model grows the data
directory by its changed chunks only."""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import time

import pytest

from xet_harness import hg, hh

MB = 1000 * 1000


def hot_metrics(srv) -> dict[str, float]:
    r = srv.get("/metrics")
    assert r.status == 200
    out = {}
    for line in r.body.decode().splitlines():
        m = re.match(r"^(hubgate_(?:hot|plain)_[a-z_]+(?:\{[^}]*\})?) ([0-9.eE+-]+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def blob_path(srv, sha: str):
    return srv.data_dir / "store" / "sha256" / sha[:2] / sha[2:4] / sha


def curl_bytes(url: str, tok: str, rng: str | None = None) -> tuple[int, bytes]:
    cmd = ["curl", "-sS", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {tok}", url]
    if rng:
        cmd[1:1] = ["-H", f"Range: bytes={rng}"]
    r = subprocess.run(cmd, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), body


def server_with(tmp_name: str, extra: list[str]):
    tmp = hg.make_tempdir(tmp_name)
    srv = hg.start_server(tmp / "data", extra)
    tok = hg.create_token(tmp / "data", "alice", write=True)
    return srv, tok, tmp


@pytest.fixture(scope="module")
def no_copies():
    srv, tok, tmp = server_with("hot0", ["--hot-copies-max-bytes", "0"])
    yield srv, tok, tmp
    rc = srv.stop()
    hg.remove_tempdir(tmp)
    assert rc == 0


def test_no_copies_plain_http_from_chunks(no_copies):
    srv, tok, tmp = no_copies
    folder = tmp / "xup"
    folder.mkdir()
    big = 70 * MB + 4321  # two xorbs from hf_xet (64 MiB each at most)
    hg.write_random(folder / "weights.bin", big, 5)
    (folder / "config.json").write_text('{"a": 1}\n')
    hh(srv, tok, tmp / "h1", "create_repo", {"repo": "alice/x"}, xet=True)
    hh(srv, tok, tmp / "h1", "upload_folder", {"repo": "alice/x", "folder": str(folder)}, xet=True)
    basic = tmp / "basic"
    basic.mkdir()
    hg.write_random(basic / "b.bin", 5 * MB + 7, 6)
    hh(srv, tok, tmp / "h2", "create_repo", {"repo": "alice/b"}, xet=False)
    hh(srv, tok, tmp / "h2", "upload_folder", {"repo": "alice/b", "folder": str(basic)}, xet=False)

    data = (folder / "weights.bin").read_bytes()
    bdata = (basic / "b.bin").read_bytes()
    sha, bsha = hashlib.sha256(data).hexdigest(), hashlib.sha256(bdata).hexdigest()
    # No whole-file copy of either file remains; the small inline file keeps its blob.
    assert not blob_path(srv, sha).exists()
    assert not blob_path(srv, bsha).exists()
    assert blob_path(srv, hashlib.sha256(b'{"a": 1}\n').hexdigest()).exists()
    m0 = hot_metrics(srv)
    assert m0["hubgate_hot_copy_bytes"] == 0
    assert m0["hubgate_hot_copy_budget_bytes"] == 0
    assert m0["hubgate_hot_copies_evicted_total"] == 2

    url = f"{srv.url}/alice/x/resolve/main/weights.bin"
    code, body = curl_bytes(url, tok)
    assert code == 200 and len(body) == big and hashlib.sha256(body).hexdigest() == sha
    code, body = curl_bytes(f"{srv.url}/alice/b/resolve/main/b.bin", tok)
    assert code == 200 and body == bdata

    # Ranges: across the xorb boundary (terms of the reconstruction), first/last bytes, suffix,
    # open-ended, and many chunk boundaries inside one large range.
    rt = srv.get("/api/models/alice/x/xet-read-token/main", token=tok).json()["accessToken"]
    xh = [e for e in srv.get("/api/models/alice/x/tree/main", token=tok).json() if e["path"] == "weights.bin"][0]["xetHash"]
    rec = srv.get(f"/cas/v1/reconstructions/{xh}", headers={"Authorization": f"Bearer {rt}"}).json()
    ends, off = [], 0
    for t in rec["terms"]:
        off += t["unpacked_length"]
        ends.append(off)
    assert len({t["hash"] for t in rec["terms"]}) >= 2, "expected a file spanning two xorbs"
    boundary = ends[0]
    ranges = [(0, 0), (big - 1, big - 1), (boundary - 1, boundary), (boundary - 100_000, boundary + 3 * MB),
              (1, 9 * MB), (12_345, 12_345 + 65_536 * 3)]
    for a, b in ranges:
        code, part = curl_bytes(url, tok, f"{a}-{b}")
        assert code == 206 and part == data[a:b + 1], (a, b)
    code, part = curl_bytes(url, tok, "-1000")
    assert code == 206 and part == data[-1000:]
    code, part = curl_bytes(url, tok, f"{boundary - 5}-")
    assert code == 206 and part == data[boundary - 5:]
    r = srv.get("/alice/x/resolve/main/weights.bin", token=tok, headers={"Range": f"bytes={big}-"})
    assert r.status == 416

    # HEAD and GET agree with what the whole-file path answers.
    head = srv.request("HEAD", "/alice/x/resolve/main/weights.bin", headers={"Authorization": f"Bearer {tok}"})
    assert head.status == 200
    assert head.header("Content-Length") == str(big)
    assert head.header("ETag") == f'"{sha}"' and head.header("X-Linked-Size") == str(big)
    assert head.header("Accept-Ranges") == "bytes"
    part = srv.get("/alice/x/resolve/main/weights.bin", token=tok, headers={"Range": "bytes=10-19"})
    assert part.status == 206 and part.header("Content-Range") == f"bytes 10-19/{big}"
    assert part.header("Content-Length") == "10" and part.body == data[10:20]
    for k in ("etag", "x-repo-commit", "x-linked-size", "x-linked-etag", "x-xet-hash", "content-type"):
        assert head.header(k) == part.header(k), k

    out = hh(srv, tok, tmp / "h3", "hf_hub_download", {"repo": "alice/x", "path": "weights.bin"}, xet=False)
    assert hg.sha256_file(out["file"]) == sha
    out = hh(srv, tok, tmp / "h4", "hf_hub_download", {"repo": "alice/b", "path": "b.bin"}, xet=False)
    assert hg.sha256_file(out["file"]) == bsha

    m1 = hot_metrics(srv)
    assert m1['hubgate_plain_reads_total{source="copy"}'] == 0
    assert m1['hubgate_plain_reads_total{source="chunks"}'] >= 2 + len(ranges) + 4
    assert m1["hubgate_hot_copies_materialized_total"] == 0  # nothing fits a budget of 0
    assert not blob_path(srv, sha).exists() and not blob_path(srv, bsha).exists()


def test_budget_evicts_lru_and_rematerializes(tmp_path_factory):
    """With a budget, copies are a read cache: a commit keeps none of its own; each plain read of a
    file without a copy is served from the chunks and fills the cache in the background, least
    recently used copies leaving when the budget is full."""
    size = 5 * MB
    srv, tok, tmp = server_with("hotlru", ["--hot-copies-max-bytes", str(2 * size + MB)])
    try:
        folder = tmp / "p"
        folder.mkdir()
        names = ["a.bin", "b.bin", "c.bin"]
        for i, n in enumerate(names):
            hg.write_random(folder / n, size, 20 + i)
        shas = {n: hg.sha256_file(folder / n) for n in names}
        hh(srv, tok, tmp / "h", "create_repo", {"repo": "alice/lru"}, xet=False)
        hh(srv, tok, tmp / "h", "upload_folder", {"repo": "alice/lru", "folder": str(folder)}, xet=False)
        m0 = hot_metrics(srv)
        assert m0["hubgate_hot_copies_evicted_total"] == 3  # the commit's copies, dropped
        assert m0["hubgate_hot_copy_bytes"] == 0 and m0["hubgate_hot_copies"] == 0
        assert not any(blob_path(srv, shas[n]).exists() for n in names)

        def get(n):
            code, body = curl_bytes(f"{srv.url}/alice/lru/resolve/main/{n}", tok)
            assert code == 200 and hashlib.sha256(body).hexdigest() == shas[n]

        def materialized(k):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and hot_metrics(srv)["hubgate_hot_copies_materialized_total"] < k:
                time.sleep(0.1)
            assert hot_metrics(srv)["hubgate_hot_copies_materialized_total"] == k

        get("a.bin")  # from chunks, then a copy is filled in the background
        materialized(1)
        get("b.bin")
        materialized(2)
        assert blob_path(srv, shas["a.bin"]).exists() and blob_path(srv, shas["b.bin"]).exists()
        get("a.bin")  # from the copy: b is now the least recently used
        get("c.bin")  # from chunks; its copy evicts b
        materialized(3)
        m1 = hot_metrics(srv)
        assert m1["hubgate_hot_copies_evicted_total"] == 4
        assert m1['hubgate_plain_reads_total{source="copy"}'] == 1
        assert m1['hubgate_plain_reads_total{source="chunks"}'] == 3
        assert blob_path(srv, shas["a.bin"]).exists() and blob_path(srv, shas["c.bin"]).exists()
        assert not blob_path(srv, shas["b.bin"]).exists()
        get("c.bin")  # hot
        get("b.bin")  # from chunks again
        m2 = hot_metrics(srv)
        assert m2['hubgate_plain_reads_total{source="copy"}'] == 2
        assert m2['hubgate_plain_reads_total{source="chunks"}'] == 4
    finally:
        rc = srv.stop()
        hg.remove_tempdir(tmp)
    assert rc == 0


def dir_bytes(path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            if not f.endswith(".log"):
                total += os.path.getsize(os.path.join(root, f))
    return total


def test_default_settings_store_a_second_revision_as_its_changed_chunks(tmp_path_factory):
    """A 64 MB file, then a revision with 10 % of it changed (8 regions), each uploaded and
    downloaded with hf_xet: the data directory grows by little more than the changed bytes —
    no whole-file copy of either revision stays behind."""
    srv, tok, tmp = server_with("growth", [])
    try:
        size = 64 * MB
        v1 = tmp / "v1"
        v1.mkdir()
        hg.write_random(v1 / "weights.bin", size, 41)
        hh(srv, tok, tmp / "h", "create_repo", {"repo": "alice/growth"}, xet=True)
        hh(srv, tok, tmp / "h", "upload_folder", {"repo": "alice/growth", "folder": str(v1)}, xet=True)
        out = hh(srv, tok, tmp / "d1", "hf_hub_download", {"repo": "alice/growth", "path": "weights.bin"}, xet=True)
        assert hg.sha256_file(out["file"]) == hg.sha256_file(v1 / "weights.bin")
        before = dir_bytes(srv.data_dir)

        data = bytearray((v1 / "weights.bin").read_bytes())
        rng = random.Random(42)
        region = size // 10 // 8
        for i in range(8):
            at = i * (size // 8) + 1_000_000
            data[at:at + region] = rng.randbytes(region)
        v2 = tmp / "v2"
        v2.mkdir()
        (v2 / "weights.bin").write_bytes(bytes(data))
        hh(srv, tok, tmp / "h", "upload_folder", {"repo": "alice/growth", "folder": str(v2)}, xet=True)
        out = hh(srv, tok, tmp / "d2", "hf_hub_download", {"repo": "alice/growth", "path": "weights.bin"}, xet=True)
        assert hg.sha256_file(out["file"]) == hashlib.sha256(bytes(data)).hexdigest()
        grown = dir_bytes(srv.data_dir) - before
        print(f"data dir grew by {grown} bytes = {grown / size:.3f} x the file")
        assert 8 * region <= grown <= 0.15 * size, grown
        assert hot_metrics(srv)["hubgate_hot_copy_bytes"] == 0
    finally:
        rc = srv.stop()
        hg.remove_tempdir(tmp)
    assert rc == 0
