"""Hostile and broken input, sent with raw sockets and http.client. Each request must get a clear
4xx with `X-Error-Message`, nothing partial may be stored (the repo's head, its listing and the data
dir stay as they were), and the server keeps serving afterwards."""

from __future__ import annotations

import base64
import io
import json
import os

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

import hubgate_e2e as hg

REPO = "e2e/target"
GOOD = b"good bytes\n"
WEIGHTS = os.urandom(1 << 20)


@pytest.fixture(scope="module")
def target(hub):
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    w.create_repo(REPO)
    w.create_commit(REPO, [CommitOperationAdd("a.txt", io.BytesIO(GOOD)),
                           CommitOperationAdd("dir/w.bin", io.BytesIO(WEIGHTS))],
                    commit_message="init")
    return w


def state(hub):
    """(head commit, sorted tree listing) of the target repo, read over HTTP."""
    info = hub.server.get(f"/api/models/{REPO}", token=hub.read_token)
    assert info.status == 200
    tree = hub.server.get(f"/api/models/{REPO}/tree/main?recursive=true", token=hub.read_token)
    assert tree.status == 200
    return info.json()["sha"], sorted((e["path"], e.get("oid")) for e in tree.json())


def assert_still_serving(hub):
    assert hub.server.alive(), hub.server.log_text()
    r = hub.server.request("GET", f"/{REPO}/resolve/main/a.txt")
    assert r.status == 200 and r.body == GOOD


def assert_clear_4xx(r: hg.Response, what: str):
    assert 400 <= r.status < 500, f"{what}: status {r.status} {r.headers} {r.body[:300]!r}"
    assert r.header("x-error-message"), f"{what}: no X-Error-Message in {r.headers}"


def raw_get(hub, target: str, extra: bytes = b"") -> hg.Response:
    req = (b"GET " + target.encode("latin-1") + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
           b"Connection: close\r\n\r\n")
    return hg.parse_raw_response(hg.raw_exchange(hub.server.port, req))


BAD_TARGETS = [
    # repo ids
    "/api/models/e2e/..",
    "/api/models/../etc",
    "/api/models/e2e/..%2F..%2Fetc",
    "/api/models/e2e%00/target",
    "/api/models/e2e/tar%00get",
    "/api/models/e2e/tar%5Cget",
    "/api/models/e2e\\target",
    "/api/models/e2e/" + "n" * 5000,
    "/" + "x" * 300 + "/target/resolve/main/a.txt",
    # file paths
    f"/{REPO}/resolve/main/../../../../etc/passwd",
    f"/{REPO}/resolve/main/dir/../a.txt",
    f"/{REPO}/resolve/main/%2e%2e/%2e%2e/etc/passwd",
    f"/{REPO}/resolve/main/..%2F..%2Fetc%2Fpasswd",
    f"/{REPO}/resolve/main//etc/passwd",
    f"/{REPO}/resolve/main/%2Fetc%2Fpasswd",
    f"/{REPO}/resolve/main/a.txt%00.png",
    f"/{REPO}/resolve/main/dir%5C..%5Ca.txt",
    f"/{REPO}/resolve/main/dir\\w.bin",
    f"/{REPO}/resolve/main/" + "p" * 5000,
    f"/api/models/{REPO}/tree/main/..%2F..",
    # malformed URL encoding
    f"/{REPO}/resolve/main/a%zz.txt",
    f"/{REPO}/resolve/main/a.txt%",
    f"/{REPO}/resolve/main/a.txt%4",
    "/api/models/e2e/tar%g0get",
]


@pytest.mark.parametrize("target_path", BAD_TARGETS)
def test_bad_request_target(hub, target, target_path):
    before = state(hub)
    r = raw_get(hub, target_path)
    assert_clear_4xx(r, target_path)
    assert GOOD not in r.body and b"root:" not in r.body
    assert state(hub) == before
    assert_still_serving(hub)


# RFC 9110 §14.2: a Range field that is not a valid byte-range set is ignored (the whole file,
# 200); a valid one none of whose ranges is satisfiable is 416 (never the file).
BAD_RANGES = ["bytes=abc", "bytes=5-2", "bytes=--1", "items=0-1", "bytes=1-2-3", "bytes=-",
              "bytes=99999999999999999999999-", "bytes=0x10-0x20", "bytes= -"]
UNSATISFIABLE_RANGES = ["bytes=-0", "bytes=99999999-", "bytes=99999999-, 99999999999-"]


@pytest.mark.parametrize("rng", BAD_RANGES)
def test_malformed_range_is_ignored(hub, target, rng):
    r = raw_get(hub, f"/{REPO}/resolve/main/dir/w.bin", f"Range: {rng}\r\n".encode())
    assert r.status == 200, (rng, r.status)
    assert r.header("content-range") is None
    assert int(r.header("content-length")) == len(r.body) > 1000
    assert_still_serving(hub)


@pytest.mark.parametrize("rng", UNSATISFIABLE_RANGES)
def test_unsatisfiable_range(hub, target, rng):
    r = raw_get(hub, f"/{REPO}/resolve/main/dir/w.bin", f"Range: {rng}\r\n".encode())
    assert_clear_4xx(r, rng)
    assert r.status == 416 and r.header("content-range").startswith("bytes */")
    assert len(r.body) < 1000  # never the file
    assert_still_serving(hub)


def test_oversized_header(hub, target):
    r = raw_get(hub, f"/{REPO}/resolve/main/a.txt", b"X-Big: " + b"a" * 200_000 + b"\r\n")
    assert_clear_4xx(r, "200 kB header")
    assert_still_serving(hub)


def test_too_many_headers(hub, target):
    extra = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
    r = raw_get(hub, f"/{REPO}/resolve/main/a.txt", extra)
    assert_clear_4xx(r, "5000 headers")
    assert_still_serving(hub)


def test_overlong_request_line(hub, target):
    r = raw_get(hub, f"/{REPO}/resolve/main/" + "a" * 100_000)
    assert_clear_4xx(r, "100 kB request target")
    assert_still_serving(hub)


def commit_body(*ops: dict, summary="bad") -> bytes:
    lines = [{"key": "header", "value": {"summary": summary, "description": ""}}] + list(ops)
    return b"".join(json.dumps(x).encode() + b"\n" for x in lines)


def post_commit(hub, body: bytes) -> hg.Response:
    return hub.server.request("POST", f"/api/models/{REPO}/commit/main", body=body,
                              headers={"Content-Type": "application/x-ndjson",
                                       "Authorization": f"Bearer {hub.write_token}"})


def file_op(path: str, data: bytes = b"evil\n") -> dict:
    return {"key": "file", "value": {"path": path, "content": base64.b64encode(data).decode(),
                                     "encoding": "base64"}}


BAD_COMMIT_PATHS = ["../evil.txt", "dir/../../evil.txt", "..", "/etc/evil", "/abs.txt",
                    "a\u0000b.txt", "dir\\evil.txt", "..\\evil.txt", "x" * 5000, ""]


@pytest.mark.parametrize("path", BAD_COMMIT_PATHS)
def test_commit_with_bad_path(hub, target, path):
    before = state(hub)
    r = post_commit(hub, commit_body(file_op("ok-sibling.txt"), file_op(path)))
    assert_clear_4xx(r, f"commit path {path[:40]!r}")
    assert state(hub) == before  # not even the valid sibling of the bad file landed
    assert not any(p.name == "evil.txt" for p in hub.root.rglob("*"))
    assert_still_serving(hub)


@pytest.mark.parametrize("repo", ["e2e/..", "../x", "e2e/a%00b", "e2e/" + "n" * 500, "e2e/a\\b"])
def test_create_repo_bad_name(hub, target, repo):
    ns, _, name = repo.partition("/")
    body = json.dumps({"name": name, "organization": ns, "type": "model"}).encode()
    r = hub.server.request("POST", "/api/repos/create", body=body,
                           headers={"Content-Type": "application/json",
                                    "Authorization": f"Bearer {hub.write_token}"})
    assert_clear_4xx(r, f"create {repo[:40]!r}")
    assert_still_serving(hub)


def test_malformed_commit_json(hub, target):
    before = state(hub)
    r = post_commit(hub, b'{"key":"header","value":{"summary":"x"}}\n{"key":"file","value":{')
    assert_clear_4xx(r, "truncated ndjson")
    assert state(hub) == before
    assert_still_serving(hub)


def test_body_shorter_than_content_length(hub, target):
    before = state(hub)
    body = commit_body(file_op("short.txt"))
    head = (f"POST /api/models/{REPO}/commit/main HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {hub.write_token}\r\nContent-Type: application/x-ndjson\r\n"
            f"Content-Length: {len(body) + 500}\r\nConnection: close\r\n\r\n").encode()
    raw = hg.raw_exchange(hub.server.port, head + body, shutdown_write=True, timeout=20)
    r = hg.parse_raw_response(raw)
    assert_clear_4xx(r, "short body")
    assert state(hub) == before
    assert_still_serving(hub)


def lfs_batch(hub, oid: str, size: int) -> dict:
    body = json.dumps({"operation": "upload", "transfers": ["basic"], "hash_algo": "sha256",
                       "ref": {"name": "main"}, "objects": [{"oid": oid, "size": size}]}).encode()
    r = hub.server.request("POST", f"/{REPO}.git/info/lfs/objects/batch", body=body,
                           headers={"Accept": "application/vnd.git-lfs+json",
                                    "Content-Type": "application/vnd.git-lfs+json",
                                    "Authorization": f"Bearer {hub.write_token}"})
    assert r.status == 200, (r.status, r.body)
    return r.json()["objects"][0]


def put_href(hub, href: str, data: bytes) -> hg.Response:
    assert href.startswith(hub.url), href
    return hub.server.request("PUT", href[len(hub.url):], body=data)


def lfs_op(path: str, oid: str, size: int) -> dict:
    return {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}}


def test_lfs_upload_with_wrong_bytes(hub, target):
    before = state(hub)
    claimed = os.urandom(3 << 20)
    actual = os.urandom(3 << 20)
    oid = hg.sha256_bytes(claimed)
    size0 = hg.dir_size(hub.server.data_dir)
    obj = lfs_batch(hub, oid, len(claimed))
    r = put_href(hub, obj["actions"]["upload"]["href"], actual)
    assert_clear_4xx(r, "LFS PUT with mismatching sha256")
    # Neither the claimed oid nor the bytes sent are stored anywhere under the data dir.
    assert hg.dir_size(hub.server.data_dir) < size0 + (1 << 20)
    bad = hg.sha256_bytes(actual)
    assert not any(hg.sha256_file(p) in (bad, oid) for p in hub.server.data_dir.rglob("*")
                   if p.is_file() and p.stat().st_size == len(actual))
    # The object is still missing: a commit naming it fails, and the batch still asks for it.
    c = post_commit(hub, commit_body(lfs_op("wrong.bin", oid, len(claimed))))
    assert_clear_4xx(c, "commit of a never-verified object")
    assert "actions" in lfs_batch(hub, oid, len(claimed))
    assert state(hub) == before
    assert_still_serving(hub)


def test_lfs_upload_with_wrong_size(hub, target):
    data = os.urandom(100_000)
    obj = lfs_batch(hub, hg.sha256_bytes(data), len(data))
    r = put_href(hub, obj["actions"]["upload"]["href"], data[:-1])
    assert_clear_4xx(r, "LFS PUT one byte short")
    assert "actions" in lfs_batch(hub, hg.sha256_bytes(data), len(data))
    assert_still_serving(hub)


def test_commit_naming_object_never_uploaded(hub, target):
    before = state(hub)
    oid = hg.sha256_bytes(b"never uploaded " + os.urandom(16))
    r = post_commit(hub, commit_body(file_op("ok-sibling.txt"), lfs_op("ghost.bin", oid, 1234)))
    assert r.status == 400, (r.status, r.body)
    assert r.header("x-error-message")
    assert "error" in r.json()
    assert state(hub) == before
    assert_still_serving(hub)


def test_lfs_upload_correct_bytes_then_commit(hub, target):
    """The control for the tests above: the same route with honest bytes works."""
    data = os.urandom(2 << 20)
    oid = hg.sha256_bytes(data)
    obj = lfs_batch(hub, oid, len(data))
    r = put_href(hub, obj["actions"]["upload"]["href"], data)
    assert 200 <= r.status < 300, (r.status, r.body)
    assert "actions" not in lfs_batch(hub, oid, len(data))
    c = post_commit(hub, commit_body(lfs_op("honest.bin", oid, len(data)), summary="honest"))
    assert c.status == 200, (c.status, c.body)
    got = hub.server.request("GET", f"/{REPO}/resolve/main/honest.bin")
    assert got.status == 200 and hg.sha256_bytes(got.body) == oid


def test_serving_after_all_bad_input(hub, target):
    assert_still_serving(hub)
    r = hub.server.request("GET", "/healthz")
    assert r.status == 200


def test_lfs_put_cut_short_leaves_nothing(hub, target):
    """An LFS PUT (spooled to disk by the server) whose body stops 1 MiB short of its
    Content-Length: a 4xx, no object, and no leftover spool file in the data dir."""
    data = os.urandom(4 << 20)
    oid = hg.sha256_bytes(data)
    href = lfs_batch(hub, oid, len(data))["actions"]["upload"]["href"]
    path = href[len(hub.url):]
    head = (f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(data)}\r\n"
            f"Connection: close\r\n\r\n").encode()
    raw = hg.raw_exchange(hub.server.port, head + data[: (3 << 20)], shutdown_write=True,
                          timeout=20)
    r = hg.parse_raw_response(raw)
    assert_clear_4xx(r, "LFS PUT cut short")
    assert "actions" in lfs_batch(hub, oid, len(data))
    big = [p for p in hub.server.data_dir.rglob("*")
           if p.is_file() and (2 << 20) <= p.stat().st_size <= (4 << 20)
           and hg.sha256_file(p) != hg.sha256_bytes(WEIGHTS)]
    # Objects committed earlier in this module are 2-3 MiB; none may hold a prefix of `data`.
    for p in big:
        with open(p, "rb") as f:
            assert f.read(4096) != data[:4096], f"leftover partial upload {p}"
    assert_still_serving(hub)
