"""A second commit that changes one file (an LFS binary) and deletes another is what `main` shows,
while the first commit's id still serves the first commit's bytes, to both clients and to curl."""

from __future__ import annotations

import io

import pytest
from huggingface_hub import (CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download)
from huggingface_hub.utils import EntryNotFoundError, HfHubHTTPError

import hubgate_e2e as hg

REPO = "e2e/revisions"
V1 = {"keep.txt": b"unchanged\n", "gone.txt": b"deleted in the second commit\n",
      "weights.bin": bytes(range(256)) * 4096 + b"\x00v1"}
V2_WEIGHTS = bytes(reversed(range(256))) * 4096 + b"\x00v2"


@pytest.fixture(scope="module")
def commits(hub):
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    w.create_repo(REPO)
    c1 = w.create_commit(REPO, [CommitOperationAdd(p, io.BytesIO(b)) for p, b in V1.items()],
                         commit_message="first")
    c2 = w.create_commit(REPO, [CommitOperationAdd("weights.bin", io.BytesIO(V2_WEIGHTS)),
                                CommitOperationDelete("gone.txt")],
                         commit_message="second", parent_commit=c1.oid)
    return c1.oid, c2.oid


def dl(hub, rel, revision, tmp_path):
    return open(hf_hub_download(REPO, rel, revision=revision, endpoint=hub.url,
                                token=hub.read_token, cache_dir=str(tmp_path / "c")), "rb").read()


def test_commits_differ_and_main_is_second(hub, commits):
    c1, c2 = commits
    assert c1 != c2
    assert HfApi(endpoint=hub.url, token=hub.read_token).model_info(REPO).sha == c2


def test_main_serves_changed_file(hub, commits, tmp_path):
    assert dl(hub, "weights.bin", "main", tmp_path) == V2_WEIGHTS


def test_main_lacks_deleted_file(hub, commits, tmp_path):
    with pytest.raises(EntryNotFoundError):
        dl(hub, "gone.txt", "main", tmp_path)
    r = hub.server.request("GET", f"/{REPO}/resolve/main/gone.txt")
    assert r.status == 404
    assert r.header("x-error-code") == "EntryNotFound"
    assert r.header("x-repo-commit") == commits[1]


def test_main_tree_after_second_commit(hub, commits):
    api = HfApi(endpoint=hub.url, token=hub.read_token)
    paths = {e.path for e in api.list_repo_tree(REPO, recursive=True)} - {".gitattributes"}
    assert paths == {"keep.txt", "weights.bin"}


def test_old_commit_serves_old_bytes(hub, commits, tmp_path):
    c1, _ = commits
    for rel, data in V1.items():
        assert dl(hub, rel, c1, tmp_path) == data, rel


def test_old_commit_tree(hub, commits):
    api = HfApi(endpoint=hub.url, token=hub.read_token)
    paths = {e.path for e in api.list_repo_tree(REPO, recursive=True, revision=commits[0])}
    assert paths - {".gitattributes"} == set(V1)


def test_old_commit_via_curl_and_short_sha(hub, commits, tmp_path):
    c1, _ = commits
    for rev in (c1, c1[:7]):
        out = tmp_path / f"w-{rev}"
        status, h = hg.curl(f"{hub.url}/{REPO}/resolve/{rev}/weights.bin", out)
        assert status == 200, (rev, h)
        assert out.read_bytes() == V1["weights.bin"]
        assert h["x-repo-commit"] == c1


def test_old_commit_via_npm_client(hub, commits, tmp_path):
    c1, _ = commits
    r = hg.run_node("downloadFileToCacheDir", {"hubUrl": hub.url, "accessToken": hub.read_token,
                                               "repo": REPO, "path": "gone.txt", "revision": c1,
                                               "cacheDir": str(tmp_path / "c")})
    assert open(r["file"], "rb").read() == V1["gone.txt"]


def test_info_at_old_revision(hub, commits):
    api = HfApi(endpoint=hub.url, token=hub.read_token)
    info = api.model_info(REPO, revision=commits[0])
    assert info.sha == commits[0]
    assert {s.rfilename for s in info.siblings} - {".gitattributes"} == set(V1)


def test_stale_parent_commit_rejected(hub, commits):
    c1, c2 = commits
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    with pytest.raises(HfHubHTTPError) as e:
        w.create_commit(REPO, [CommitOperationAdd("x.txt", io.BytesIO(b"x"))],
                        commit_message="stale", parent_commit=c1)
    assert 400 <= e.value.response.status_code < 500
    assert w.model_info(REPO).sha == c2


def test_unknown_revision(hub, commits):
    r = hub.server.request("GET", f"/api/models/{REPO}/revision/no-such-branch")
    assert r.status == 404
    assert r.header("x-error-code") == "RevisionNotFound"


def test_concurrent_commits_on_same_parent(hub, commits):
    """Six clients commit at once, all naming the same parent: exactly one wins, the others get a
    4xx, and main holds exactly the winner's file on top of the parent."""
    from concurrent.futures import ThreadPoolExecutor

    api = HfApi(endpoint=hub.url, token=hub.read_token)
    parent = api.model_info(REPO).sha

    def one(i):
        w = HfApi(endpoint=hub.url, token=hub.write_token)
        try:
            return w.create_commit(REPO, [CommitOperationAdd(f"race-{i}.txt", io.BytesIO(b"%d" % i))],
                                   commit_message=f"race {i}", parent_commit=parent).oid
        except HfHubHTTPError as e:
            return e.response.status_code

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if not isinstance(r, str)]
    assert len(winners) == 1, results
    assert all(400 <= s < 500 for s in losers), results
    assert api.model_info(REPO).sha == winners[0]
    races = {e.path for e in api.list_repo_tree(REPO)} & {f"race-{i}.txt" for i in range(6)}
    assert len(races) == 1
