"""Download counts, likes, pull-request diffs and the release of a deleted repository's blobs,
with huggingface_hub, curl-like raw requests and git itself as the reference for diffs.

Downloads follow the Hub's rule (docs/spec/hub-repo-api.md §13): for models every GET/HEAD of a
query file counts (config.json & co. at the root by default, the library's own rule from its
card, .gguf always); for datasets one download per user per 5-minute series."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, hf_hub_download
from huggingface_hub.utils import HfHubHTTPError, RepositoryNotFoundError

import hubgate_e2e as hg
from conftest import point_python_client_at

SERVE_ARGS = ["--hot-copies-max-bytes", "unlimited"]  # whole-file copies stay (blob release is visible)


class Hub:
    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.writer = hg.create_token(self.data, "e2e-writer", write=True)
        self.reader = hg.create_token(self.data, "e2e-reader")
        self.other = hg.create_token(self.data, "e2e-other", write=True, repos="other/*")
        self.server = hg.start_server(self.data, SERVE_ARGS)
        point_python_client_at(self.server.url)

    @property
    def url(self):
        return self.server.url

    def restart(self):
        assert self.server.stop() == 0
        self.server = hg.start_server(self.data, SERVE_ARGS)
        point_python_client_at(self.server.url)

    def api(self, token=None) -> HfApi:
        return HfApi(endpoint=self.url, token=self.writer if token is None else token)

    def req(self, method, path, token=None, body=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        return self.server.request(method, path, body=body, headers=h)


@pytest.fixture(scope="module")
def hub():
    root = hg.make_tempdir("stats")
    h = Hub(root)
    yield h
    try:
        assert h.server.stop() == 0, h.server.log_text()
    finally:
        hg.remove_tempdir(root)


def make_repo(hub, repo_id, files, repo_type=None, card=None):
    a = hub.api()
    a.create_repo(repo_id, repo_type=repo_type)
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=c if isinstance(c, bytes) else c.encode())
           for p, c in files.items()]
    if card is not None:
        ops.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()))
    a.create_commit(repo_id, ops, commit_message="files", repo_type=repo_type)
    return a


def downloads(hub, repo_id, repo_type="model"):
    info = hub.api().repo_info(repo_id, repo_type=repo_type, expand=["downloads", "downloadsAllTime"])
    return info.downloads, info.downloads_all_time


# ---------------------------------------------------------------- downloads


def test_model_downloads_count_query_files(hub):
    make_repo(hub, "e2e/counted", {"config.json": "{}\n", "model.safetensors": b"\0" * 64,
                                   "sub/config.json": "{}\n", "params.json": "{}\n"})
    assert downloads(hub, "e2e/counted") == (0, 0)
    for method, path, headers, status in [
        ("GET", "config.json", {}, 200),
        ("HEAD", "config.json", {}, 200),                   # HEAD counts too
        ("GET", "config.json", {"Range": "bytes=0-0"}, 206),
        ("GET", "params.json", {}, 200),                    # another default query file
        ("GET", "model.safetensors", {}, 200),              # weights: not a query file
        ("GET", "sub/config.json", {}, 200),                # only at the root
        ("GET", "missing.json", {}, 404),
    ]:
        r = hub.req(method, f"/e2e/counted/resolve/main/{path}", hub.reader, headers=headers)
        assert r.status == status, (path, r.status)
    r = hub.req("GET", "/e2e/counted/raw/main/config.json", hub.reader)
    assert r.status == 200
    assert downloads(hub, "e2e/counted") == (5, 5)
    # huggingface_hub: a metadata HEAD, then the GET — two requests to config.json, two downloads.
    hf_hub_download("e2e/counted", "config.json", endpoint=hub.url, token=hub.reader,
                    cache_dir=hub.root / "hf-cache")
    assert downloads(hub, "e2e/counted") == (7, 7)
    # Listings carry the same numbers and sort by them.
    make_repo(hub, "e2e/quiet", {"config.json": "{}\n"})
    hub.req("GET", "/e2e/quiet/resolve/main/config.json", hub.reader)
    listed = list(hub.api().list_models(author="e2e", sort="downloads", expand=["downloads", "downloadsAllTime"]))
    assert [(m.id, m.downloads, m.downloads_all_time) for m in listed[:2]] == [("e2e/counted", 7, 7), ("e2e/quiet", 1, 1)]
    r = hub.req("GET", "/api/models?author=e2e&sort=downloads&direction=1&limit=1", hub.reader)
    assert [m["id"] for m in r.json()][0] != "e2e/counted"  # ascending: the least downloaded first


def test_library_rules_decide_the_query_files(hub):
    make_repo(hub, "e2e/timm-model", {"config.json": "{}\n", "model.safetensors": b"\0" * 16},
              card="---\nlibrary_name: timm\n---\n")
    make_repo(hub, "e2e/diffusion", {"model_index.json": "{}\n", "unet/diffusion_pytorch_model.safetensors": b"\0" * 8,
                                     "lora.safetensors": b"\0" * 8}, card="---\nlibrary_name: diffusers\n---\n")
    make_repo(hub, "e2e/quantized", {"q4/model-q4.gguf": b"GGUF" + b"\0" * 12, "config.json": "{}\n"},
              card="---\nlibrary_name: timm\n---\n")
    for repo, path in [("e2e/timm-model", "config.json"),          # timm: pytorch_model.bin / model.safetensors
                       ("e2e/timm-model", "model.safetensors"),
                       ("e2e/diffusion", "model_index.json"),
                       ("e2e/diffusion", "unet/diffusion_pytorch_model.safetensors"),  # nested: not counted
                       ("e2e/diffusion", "lora.safetensors"),      # top-level weights: counted
                       ("e2e/quantized", "q4/model-q4.gguf")]:     # GGUF always counts
        assert hub.req("GET", f"/{repo}/resolve/main/{path}", hub.reader).status == 200
    assert downloads(hub, "e2e/timm-model") == (1, 1)
    assert downloads(hub, "e2e/diffusion") == (2, 2)
    assert downloads(hub, "e2e/quantized") == (1, 1)


def test_dataset_downloads_are_series_per_user(hub):
    make_repo(hub, "e2e/counted-ds", {"data/train.csv": "a,b\n1,2\n", "data/test.csv": "a,b\n3,4\n"},
              repo_type="dataset")
    for path in ("data/train.csv", "data/test.csv", "README.md", "data/train.csv"):
        hub.req("GET", f"/datasets/e2e/counted-ds/resolve/main/{path}", hub.reader)
    assert downloads(hub, "e2e/counted-ds", "dataset") == (1, 1)  # one series of e2e-reader
    hub.req("HEAD", "/datasets/e2e/counted-ds/resolve/main/data/train.csv", hub.writer)
    hub.req("GET", "/datasets/e2e/counted-ds/resolve/main/data/test.csv", None)  # anonymous: its address
    hub.req("GET", "/datasets/e2e/counted-ds/resolve/main/data/test.csv", None)
    assert downloads(hub, "e2e/counted-ds", "dataset") == (3, 3)
    ds = next(iter(hub.api().list_datasets(search="e2e/counted-ds", expand=["downloads"])))
    assert ds.downloads == 3


# ---------------------------------------------------------------- likes


def test_likes(hub):
    make_repo(hub, "e2e/liked", {"a.txt": "a\n"})
    make_repo(hub, "e2e/plain", {"a.txt": "a\n"})
    assert hub.req("POST", "/api/models/e2e/liked/like", hub.writer).status == 200
    assert hub.req("POST", "/api/models/e2e/liked/like", hub.writer).status == 200  # twice: one like
    assert hub.req("POST", "/api/models/e2e/liked/like", hub.reader).status == 200  # a read token may like
    assert hub.req("POST", "/api/models/e2e/liked/like").status == 401
    a = hub.api()
    assert a.model_info("e2e/liked").likes == 2
    assert sorted(u.username for u in a.list_repo_likers("e2e/liked")) == ["e2e-reader", "e2e-writer"]
    assert a.list_liked_repos().models == ["e2e/liked"]  # the token's user (whoami)
    assert hub.api(hub.reader).list_liked_repos("e2e-writer").models == ["e2e/liked"]
    listed = [m.id for m in a.list_models(author="e2e", sort="likes", expand=["likes"])]
    assert listed[0] == "e2e/liked"
    hub.api(hub.reader).unlike("e2e/liked")
    hub.api(hub.reader).unlike("e2e/liked")  # not liked any more: still fine
    assert a.model_info("e2e/liked").likes == 1
    assert [u.username for u in a.list_repo_likers("e2e/liked")] == ["e2e-writer"]
    # A private repository's like is seen only by those who may read it.
    a.create_repo("e2e/secret-liked", private=True)
    assert hub.req("POST", "/api/models/e2e/secret-liked/like", hub.writer).status == 200
    assert hub.req("POST", "/api/models/e2e/secret-liked/like", hub.other).status == 404
    assert hub.api(hub.other).list_liked_repos("e2e-writer").models == ["e2e/liked"]
    assert sorted(a.list_liked_repos("e2e-writer").models) == ["e2e/liked", "e2e/secret-liked"]
    with pytest.raises(RepositoryNotFoundError):
        list(hub.api(False).list_repo_likers("e2e/secret-liked"))


def test_npm_lists_sorted_by_real_counts(hub):
    make_repo(hub, "npmstats/most", {"config.json": "{}\n"})
    make_repo(hub, "npmstats/least", {"config.json": "{}\n"})
    for _ in range(2):
        hub.req("GET", "/npmstats/most/resolve/main/config.json", hub.reader)
    hub.req("POST", "/api/models/npmstats/least/like", hub.reader)
    common = {"hubUrl": hub.url, "accessToken": hub.reader, "search": {"owner": "npmstats"}}
    by_downloads = hg.run_node("listModels", {**common, "sort": "downloads"})
    assert [(m["name"], m["downloads"], m["likes"]) for m in by_downloads] == [("npmstats/most", 2, 0),
                                                                              ("npmstats/least", 0, 1)]
    by_likes = hg.run_node("listModels", {**common, "sort": "likes"})
    assert [m["name"] for m in by_likes] == ["npmstats/least", "npmstats/most"]


def test_counts_persist_and_follow_a_move(hub):
    make_repo(hub, "e2e/kept", {"config.json": "{}\n"})
    for _ in range(3):
        hub.req("GET", "/e2e/kept/resolve/main/config.json", hub.reader)
    hub.req("POST", "/api/models/e2e/kept/like", hub.other)
    hub.restart()
    assert downloads(hub, "e2e/kept") == (3, 3)
    a = hub.api()
    a.move_repo("e2e/kept", "e2e/kept-renamed")
    info = a.repo_info("e2e/kept-renamed", expand=["downloads", "likes"])
    assert (info.downloads, info.likes) == (3, 1)
    assert a.list_liked_repos("e2e-other").models == ["e2e/kept-renamed"]
    a.delete_repo("e2e/kept-renamed")
    a.create_repo("e2e/kept-renamed")  # a new repository under the name starts from zero
    info = a.repo_info("e2e/kept-renamed", expand=["downloads", "likes"])
    assert (info.downloads, info.likes) == (0, 0)
    assert a.list_liked_repos("e2e-other").models == []


# ---------------------------------------------------------------- pull request diff


def raw_commit(hub, repo_id, revision, files: dict[str, bytes], message):
    """A commit through the NDJSON route with base64 `file` lines (non-LFS, even when binary)."""
    lines = [json.dumps({"key": "header", "value": {"summary": message}})]
    lines += [json.dumps({"key": "file", "value": {"path": p, "content": base64.b64encode(c).decode(),
                                                   "encoding": "base64"}}) for p, c in files.items()]
    rev = revision.replace("/", "%2F")
    r = hub.req("POST", f"/api/models/{repo_id}/commit/{rev}", hub.writer, body="\n".join(lines).encode(),
                headers={"Content-Type": "application/x-ndjson"})
    assert r.status == 200, r.body


def git_reference_diff(hub, repo_id, base, head, tmp_path):
    """`git diff base head` of the same bytes (raw: LFS files as their pointers)."""
    a = hub.api()
    work = tmp_path / "git"
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "core.autocrlf=false"]
    commits = []
    for rev in (base, head):
        for p in work.iterdir():
            if p.name != ".git":
                subprocess.run(["rm", "-rf", str(p)], check=True)
        for path in a.list_repo_files(repo_id, revision=rev):
            if path == ".gitattributes":  # unchanged; its LFS attributes would steer git's diff
                continue
            r = hub.req("GET", f"/{repo_id}/raw/{urllib.parse.quote(rev, safe='')}/{path}", hub.writer)
            assert r.status == 200
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_bytes(r.body)
        subprocess.run(git + ["add", "-A"], check=True)
        subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", rev], check=True)
        commits.append(subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True,
                                      check=True).stdout.strip())
    out = subprocess.run(git + ["diff", "--no-color", "--no-renames", "--no-ext-diff", commits[0], commits[1]],
                         capture_output=True, check=True)
    return out.stdout.decode()


def test_pull_request_diff_is_git_diff(hub, tmp_path):
    text = "".join(f"line {i}\n" for i in range(1, 21))
    a = make_repo(hub, "e2e/diffed", {"a.txt": "header\n" + text, "old.txt": "to be removed\n",
                                      "notrail.txt": "x\ny", "w.bin": b"\0\1weights" * 50})
    raw_commit(hub, "e2e/diffed", "main", {"raw.dat": b"\0binary\0"}, "a raw binary")
    base = a.model_info("e2e/diffed").sha
    changed = ("header\n" + text).replace("line 3\n", "line three\n").replace("line 17\n", "") + "line 21\n"
    info = a.create_commit("e2e/diffed", [
        CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=changed.encode()),
        CommitOperationDelete(path_in_repo="old.txt"),
        CommitOperationAdd(path_in_repo="new/added.txt", path_or_fileobj=b"brand new\n"),
        CommitOperationAdd(path_in_repo="notrail.txt", path_or_fileobj=b"x\nz"),
        CommitOperationAdd(path_in_repo="w.bin", path_or_fileobj=b"\0\2weights" * 60),
        CommitOperationAdd(path_in_repo="empty.txt", path_or_fileobj=b""),
    ], commit_message="tune", create_pr=True)
    raw_commit(hub, "e2e/diffed", "refs/pr/1", {"raw.dat": b"\0changed\0"}, "change the raw binary")
    a.upload_file(path_or_fileobj=b"main moves on\n", path_in_repo="later.txt", repo_id="e2e/diffed")
    details = a.get_discussion_details("e2e/diffed", info.pr_num)
    expected = git_reference_diff(hub, "e2e/diffed", base, "refs/pr/1", tmp_path)
    assert "later.txt" not in details.diff  # against the merge base: the target's later commits are not the PR's
    assert "@@ -1,7 +1,7 @@\n" in expected and "-line 17\n" in expected
    assert "Binary files a/raw.dat and b/raw.dat differ" in expected
    assert "oid sha256:" + hashlib.sha256(b"\0\2weights" * 60).hexdigest() in expected
    assert details.diff == expected
    # A merged PR keeps showing what it changed.
    a.merge_pull_request("e2e/diffed", info.pr_num)
    assert a.get_discussion_details("e2e/diffed", info.pr_num).diff == expected
    # A plain discussion has no diff.
    d = a.create_discussion("e2e/diffed", title="Question", description="why?")
    assert a.get_discussion_details("e2e/diffed", d.num).diff is None


# ---------------------------------------------------------------- blob release on delete


def blob_path(hub, content: bytes) -> Path:
    h = hashlib.sha256(content).hexdigest()
    return hub.data / "store" / "sha256" / h[:2] / h[2:4] / h


def test_delete_releases_blobs_no_other_repository_names(hub):
    a = hub.api()
    own, shared, lfs_own, lfs_shared = b"only in one\n", b"in both\n", b"\0lfs one" * 100, b"\0lfs both" * 100
    make_repo(hub, "e2e/rel-a", {"own.txt": own, "shared.txt": shared, "own.bin": lfs_own, "shared.bin": lfs_shared})
    a.upload_file(path_or_fileobj=b"second version\n", path_in_repo="own.txt", repo_id="e2e/rel-a")  # history too
    make_repo(hub, "e2e/rel-b", {"copy.txt": shared, "copy.bin": lfs_shared})
    for content in (own, shared, lfs_own, lfs_shared, b"second version\n"):
        assert blob_path(hub, content).exists()
    a.delete_repo("e2e/rel-a")
    assert not blob_path(hub, own).exists() and not blob_path(hub, lfs_own).exists()
    assert not blob_path(hub, b"second version\n").exists()
    assert blob_path(hub, shared).exists() and blob_path(hub, lfs_shared).exists()
    for path, content in (("copy.txt", shared), ("copy.bin", lfs_shared)):
        got = hf_hub_download("e2e/rel-b", path, endpoint=hub.url, token=hub.writer, cache_dir=hub.root / "c1")
        assert Path(got).read_bytes() == content
    rec = [r for r in hub.req("GET", "/api/admin/audit?kind=repo&limit=100000", hub.writer).json()
           if r["decision"] == "delete_repo" and r["repo"] == "e2e/rel-a"]
    assert len(rec) == 1 and rec[0]["reason"].startswith("released 3 blobs")
    a.delete_repo("e2e/rel-b")
    assert not blob_path(hub, shared).exists() and not blob_path(hub, lfs_shared).exists()


def test_delete_keeps_a_blob_an_upload_is_about_to_commit(hub):
    """The LFS batch answered "already present" for a blob of a repository that is deleted before
    the commit that names it: the blob stays, and the commit succeeds."""
    a = hub.api()
    content = b"\0in flight" * 100
    oid, size = hashlib.sha256(content).hexdigest(), len(content)
    make_repo(hub, "e2e/going", {"w.bin": content})
    a.create_repo("e2e/coming")
    r = hub.req("POST", "/e2e/coming.git/info/lfs/objects/batch", hub.writer,
                body=json.dumps({"operation": "upload", "transfers": ["basic"],
                                 "objects": [{"oid": oid, "size": size}]}).encode(),
                headers={"Content-Type": "application/vnd.git-lfs+json", "Accept": "application/vnd.git-lfs+json"})
    assert r.status == 200 and "actions" not in r.json()["objects"][0]  # present: nothing to upload
    a.delete_repo("e2e/going")
    assert blob_path(hub, content).exists()  # pinned by the batch
    lines = [json.dumps({"key": "header", "value": {"summary": "late commit"}}),
             json.dumps({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": size}})]
    r = hub.req("POST", "/api/models/e2e/coming/commit/main", hub.writer, body="\n".join(lines).encode(),
                headers={"Content-Type": "application/x-ndjson"})
    assert r.status == 200, r.body
    got = hf_hub_download("e2e/coming", "w.bin", endpoint=hub.url, token=hub.writer, cache_dir=hub.root / "c2")
    assert Path(got).read_bytes() == content


def test_delete_other_namespace_is_refused(hub):
    make_repo(hub, "e2e/not-yours", {"a.txt": "mine\n"})
    with pytest.raises(HfHubHTTPError) as e:
        hub.api(hub.other).delete_repo("e2e/not-yours")
    assert e.value.response.status_code == 403
    assert blob_path(hub, b"mine\n").exists()
