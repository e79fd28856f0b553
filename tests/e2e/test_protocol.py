"""Wire details of spec/hub-api.md that the clients depend on, checked with plain HTTP: revision
forms (branch, HEAD, full and short sha, percent-encoded), the headers of resolve replies, the
zero-length rule, CORS, and X-Repo-Commit on a missing file."""

from __future__ import annotations

import io

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

import hubgate_e2e as hg

REPO = "e2e/protocol"
TEXT = b"hello protocol\n"
BIN = bytes(range(256)) * 64  # has NUL: stored as LFS


@pytest.fixture(scope="module")
def commit(hub):
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    w.create_repo(REPO)
    return w.create_commit(REPO, [CommitOperationAdd("t.txt", io.BytesIO(TEXT)),
                                  CommitOperationAdd("dir/b.bin", io.BytesIO(BIN)),
                                  CommitOperationAdd("empty.txt", io.BytesIO(b""))],
                           commit_message="protocol").oid


def get(hub, path, **headers):
    return hub.server.request("GET", path, headers=headers)


@pytest.mark.parametrize("rev", ["main", "HEAD", "FULL", "SHORT"])
def test_revision_forms(hub, commit, rev):
    rev = {"FULL": commit, "SHORT": commit[:7]}.get(rev, rev)
    r = get(hub, f"/{REPO}/resolve/{rev}/t.txt")
    assert r.status == 200, (rev, r.status, r.headers)
    assert r.body == TEXT
    assert r.header("x-repo-commit") == commit


@pytest.mark.parametrize("rev", ["main", "HEAD", "FULL"])
def test_info_revision_forms(hub, commit, rev):
    rev = {"FULL": commit}.get(rev, rev)
    r = get(hub, f"/api/models/{REPO}/revision/{rev}")
    assert r.status == 200, (rev, r.status)
    j = r.json()
    assert j["sha"] == commit and j["id"] == REPO


def test_regular_file_headers(hub, commit):
    r = hub.server.request("HEAD", f"/{REPO}/resolve/main/t.txt",
                           headers={"Accept-Encoding": "identity"})
    assert r.status == 200
    assert r.header("etag") == f'"{hg.git_blob_sha1(TEXT)}"'
    assert r.header("content-length") == str(len(TEXT))
    assert r.header("accept-ranges") == "bytes"
    assert r.header("content-encoding") in (None, "identity")


def test_lfs_file_headers(hub, commit):
    r = hub.server.request("HEAD", f"/{REPO}/resolve/main/dir/b.bin",
                           headers={"Accept-Encoding": "identity"})
    assert r.status == 200
    sha = hg.sha256_bytes(BIN)
    assert r.header("x-linked-etag") == f'"{sha}"'
    assert r.header("x-linked-size") == str(len(BIN))
    assert r.header("etag") == f'"{sha}"'
    assert r.header("x-repo-commit") == commit


def test_npm_probe_gets_206(hub, commit):
    """HJ's first request for every download: a non-Xet file (regular) answers 206 + Content-Range."""
    r = get(hub, f"/{REPO}/resolve/main/t.txt", Range="bytes=0-0",
            Accept="application/vnd.xet-fileinfo+json, */*")
    assert r.status == 206
    assert r.header("content-range") == f"bytes 0-0/{len(TEXT)}"
    assert r.body == TEXT[:1]


def test_npm_probe_of_xet_file_gets_fileinfo(hub, commit):
    """An LFS file has a Xet representation: the xet-fileinfo probe gets 200 + Xet headers."""
    r = get(hub, f"/{REPO}/resolve/main/dir/b.bin", Range="bytes=0-0",
            Accept="application/vnd.xet-fileinfo+json, */*")
    assert r.status == 200
    assert r.header("content-type") == "application/vnd.xet-fileinfo+json"
    assert r.header("x-linked-size") == str(len(BIN))
    assert len(r.header("x-xet-hash")) == 64 and r.json()["hash"] == r.header("x-xet-hash")
    assert 'rel="xet-auth"' in r.header("link") and 'rel="xet-reconstruction-info"' in r.header("link")


def test_zero_length_file(hub, commit):
    r = get(hub, f"/{REPO}/resolve/main/empty.txt", Range="bytes=0-0")
    assert r.status == 200
    assert r.header("content-length") == "0"
    assert r.header("content-range") == "bytes */0"
    assert r.body == b""


def test_missing_file_has_repo_commit(hub, commit):
    r = get(hub, f"/{REPO}/resolve/main/nope.bin")
    assert r.status == 404
    assert r.header("x-error-code") == "EntryNotFound"
    assert r.header("x-repo-commit") == commit
    assert "error" in r.json()


def test_missing_repo(hub, commit):
    r = get(hub, "/api/models/e2e/does-not-exist")
    assert r.status in (401, 404)
    assert r.header("x-error-code") == "RepoNotFound"


def test_tree_path_quoted_with_safe_empty(hub, commit):
    """HH quotes revision and path with safe="": `main%2Fdir` decodes to revision main, path dir."""
    r = get(hub, f"/api/models/{REPO}/tree/main/dir")
    assert r.status == 200
    assert [(e["type"], e["path"]) for e in r.json()] == [("file", "dir/b.bin")]
    r = get(hub, f"/api/models/{REPO}/tree/main%2Fdir")
    assert r.status == 200
    assert [e["path"] for e in r.json()] == ["dir/b.bin"]


def test_tree_expand_has_last_commit(hub, commit):
    r = get(hub, f"/api/models/{REPO}/tree/main?recursive=true&expand=true")
    assert r.status == 200
    files = [e for e in r.json() if e["type"] == "file"]
    assert files and all(e["lastCommit"]["id"] == commit for e in files
                         if e["path"] != ".gitattributes")
    for e in files:
        assert e["lastCommit"]["date"].endswith("Z")


def test_cors_headers(hub, commit):
    r = get(hub, f"/{REPO}/resolve/main/t.txt", Origin="http://example.test")
    assert r.header("access-control-allow-origin") in ("*", "http://example.test")
    exposed = {h.strip().lower() for h in (r.header("access-control-expose-headers") or "").split(",")}
    for h in ("content-range", "content-length", "etag", "x-linked-etag", "x-linked-size",
              "x-repo-commit", "x-xet-hash", "link", "x-error-code", "x-error-message",
              "x-request-id"):
        assert h in exposed, h


def test_cors_preflight(hub, commit):
    r = hub.server.request("OPTIONS", f"/{REPO}/resolve/main/t.txt",
                           headers={"Origin": "http://example.test",
                                    "Access-Control-Request-Method": "GET",
                                    "Access-Control-Request-Headers": "authorization,range"})
    assert 200 <= r.status < 300
    allowed = (r.header("access-control-allow-headers") or "").lower()
    assert "authorization" in allowed and "range" in allowed


def test_paths_info_json_body(hub, commit):
    """HJ sends paths-info as JSON (HH as a form)."""
    r = hub.server.request("POST", f"/api/models/{REPO}/paths-info/main",
                           body=b'{"paths":["dir/b.bin","nope","t.txt"],"expand":true}',
                           headers={"Content-Type": "application/json"})
    assert r.status == 200
    j = r.json()
    assert [e["path"] for e in j] == ["dir/b.bin", "t.txt"]
    assert j[0]["lfs"]["oid"] == hg.sha256_bytes(BIN)
    assert j[1]["oid"] == hg.git_blob_sha1(TEXT)


@pytest.mark.parametrize("value", ["bytes=5-1", "bytes=x-3", "items=0-1", "bytes=", "bytes=0-1,zz", "bytes=--2"])
def test_invalid_range_is_ignored(hub, commit, value):
    """RFC 9110 §14.2: a Range field that is not a valid byte-range set is ignored: 200, whole."""
    r = get(hub, f"/{REPO}/resolve/main/t.txt", Range=value)
    assert r.status == 200, (value, r.status, r.body[:200])
    assert r.body == TEXT
    assert r.header("content-range") is None
    r = get(hub, f"/{REPO}/resolve/main/dir/b.bin", Range=value)
    assert (r.status, r.body) == (200, BIN)


@pytest.mark.parametrize("value", [f"bytes={len(BIN)}-", f"bytes={len(BIN) + 5}-{len(BIN) + 9}",
                                   f"bytes={len(BIN)}-, {len(BIN) * 2}-{len(BIN) * 3}", "bytes=-0"])
def test_unsatisfiable_range_is_416(hub, commit, value):
    r = get(hub, f"/{REPO}/resolve/main/dir/b.bin", Range=value)
    assert r.status == 416, (value, r.status)
    assert r.header("content-range") == f"bytes */{len(BIN)}"


def test_range_unit_is_case_insensitive(hub, commit):
    r = get(hub, f"/{REPO}/resolve/main/dir/b.bin", Range="Bytes=10-19")
    assert r.status == 206 and r.body == BIN[10:20]


def test_absolute_form_request_target(hub, commit):
    """RFC 9112 §3.2.2: servers accept absolute-form (path, query, ranges as in origin-form)."""
    r = get(hub, f"http://hub.example:8080/{REPO}/resolve/main/t.txt")
    assert (r.status, r.body) == (200, TEXT)
    r = get(hub, f"HTTP://hub.example:8080/api/models/{REPO}?x=1")
    assert r.status == 200 and r.json()["id"] == REPO
    r = get(hub, f"http://hub.example:8080/{REPO}/resolve/main/dir%2Fb.bin", Range="bytes=2-5")
    assert (r.status, r.body) == (206, BIN[2:6])
