"""Tree listings longer than one page (hubgate caps pages at 1000 entries and links the next page
with an absolute `Link: <…>; rel="next"`): both clients see every entry exactly once."""

from __future__ import annotations

import io

import pytest
from huggingface_hub import CommitOperationAdd, HfApi

import hubgate_e2e as hg

REPO = "e2e/many-files"
N = 1050  # entries: N files + 7 folders + .gitattributes, more than one 1000-entry page


def content(i: int) -> bytes:
    return f"file {i}\n".encode()


@pytest.fixture(scope="module")
def many(hub):
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    w.create_repo(REPO)
    ops = [CommitOperationAdd(f"d{i % 7}/f{i:05d}.txt", io.BytesIO(content(i))) for i in range(N)]
    return w.create_commit(REPO, ops, commit_message=f"{N} files").oid


def expected_files() -> dict[str, str]:
    return {f"d{i % 7}/f{i:05d}.txt": hg.git_blob_sha1(content(i)) for i in range(N)}


def test_python_client_lists_every_file_once(hub, many):
    api = HfApi(endpoint=hub.url, token=hub.read_token)
    entries = [e for e in api.list_repo_tree(REPO, recursive=True) if e.path != ".gitattributes"]
    files = [(e.path, e.blob_id) for e in entries if e.path.endswith(".txt")]
    dirs = [e.path for e in entries if not e.path.endswith(".txt")]
    assert len(files) == N
    assert dict(files) == expected_files()
    assert sorted(dirs) == [f"d{k}" for k in range(7)]


def test_npm_client_lists_every_file_once(hub, many):
    entries = hg.run_node("listFiles", {"hubUrl": hub.url, "accessToken": hub.read_token,
                                        "repo": REPO, "recursive": True})
    files = {e["path"]: e["oid"] for e in entries if e["type"] == "file"
             and e["path"] != ".gitattributes"}
    assert len([e for e in entries if e["type"] == "file"]) == N + 1
    assert files == expected_files()


def test_first_page_links_next(hub, many):
    r = hub.server.get(f"/api/models/{REPO}/tree/main?recursive=true", token=hub.read_token)
    assert r.status == 200
    page = r.json()
    assert 0 < len(page) < N + 8
    link = r.header("link") or ""
    assert f'<{hub.url}/api/models/{REPO}/tree/' in link and 'rel="next"' in link, link


def test_paths_info_many(hub, many):
    api = HfApi(endpoint=hub.url, token=hub.read_token)
    want = [f"d{i % 7}/f{i:05d}.txt" for i in range(0, N, 3)]
    got = api.get_paths_info(REPO, want + ["nope.txt"])
    assert [e.path for e in got] == want
