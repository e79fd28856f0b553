"""Private repos are invisible without a token that may read them (401 anonymous, 404 otherwise,
both `X-Error-Code: RepoNotFound`), readable with one, and writes need a write token."""

from __future__ import annotations

import io

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.utils import HfHubHTTPError, RepositoryNotFoundError

import hubgate_e2e as hg

SECRET = "scoped/secret"  # readable by the read token and the "scoped/*" token
OTHER = "e2e/other-secret"  # readable by the read token only
PUBLIC = "e2e/public"
DATA = b"top secret weights\x00\x01\x02" * 1000

ENDPOINTS = ["/api/models/{r}", "/api/models/{r}/revision/main", "/api/models/{r}/tree/main",
             "/{r}/resolve/main/w.bin"]


@pytest.fixture(scope="module")
def repos(hub):
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    heads = {}
    for repo, private in ((SECRET, True), (OTHER, True), (PUBLIC, False)):
        w.create_repo(repo, private=private)
        heads[repo] = w.create_commit(repo, [CommitOperationAdd("w.bin", io.BytesIO(DATA))],
                                      commit_message="init").oid
    return heads


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_gets_401_repo_not_found(hub, repos, path):
    r = hub.server.request("GET", path.format(r=SECRET))
    assert r.status == 401, (r.status, r.headers)
    assert r.header("x-error-code") == "RepoNotFound"
    assert DATA not in r.body


@pytest.mark.parametrize("path", ENDPOINTS)
def test_token_without_access_gets_404(hub, repos, path):
    r = hub.server.get(path.format(r=OTHER), token=hub.scoped_token)
    assert r.status == 404, (r.status, r.headers)
    assert r.header("x-error-code") == "RepoNotFound"
    assert DATA not in r.body


def test_private_looks_like_missing_repo(hub, repos):
    """A private repo without access answers exactly like a repo that does not exist."""
    a = hub.server.get(f"/api/models/{OTHER}", token=hub.scoped_token)
    b = hub.server.get("/api/models/e2e/never-created", token=hub.scoped_token)
    assert (a.status, a.header("x-error-code")) == (b.status, b.header("x-error-code"))


def test_python_client_anonymous_sees_no_repo(hub, repos, tmp_path):
    api = HfApi(endpoint=hub.url, token=False)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(SECRET)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(SECRET, "w.bin", endpoint=hub.url, token=False,
                        cache_dir=str(tmp_path / "c"))


def test_npm_client_anonymous_sees_no_repo(hub, repos):
    with pytest.raises(hg.NodeError) as e:
        hg.run_node("modelInfo", {"hubUrl": hub.url, "repo": SECRET})
    assert '"statusCode":401' in e.value.stdout or '"statusCode":404' in e.value.stdout


@pytest.mark.parametrize("token_attr,repo", [("read_token", SECRET), ("read_token", OTHER),
                                             ("scoped_token", SECRET)])
def test_reader_downloads_private(hub, repos, tmp_path, token_attr, repo):
    f = hf_hub_download(repo, "w.bin", endpoint=hub.url, token=getattr(hub, token_attr),
                        cache_dir=str(tmp_path / "c"))
    assert hg.sha256_file(f) == hg.sha256_bytes(DATA)
    info = HfApi(endpoint=hub.url, token=getattr(hub, token_attr)).model_info(repo)
    assert info.private is True and info.sha == repos[repo]


def test_npm_client_with_token_reads_private(hub, repos, tmp_path):
    r = hg.run_node("downloadFileToCacheDir", {"hubUrl": hub.url, "accessToken": hub.scoped_token,
                                               "repo": SECRET, "path": "w.bin",
                                               "cacheDir": str(tmp_path / "c")})
    assert hg.sha256_file(r["file"]) == hg.sha256_bytes(DATA)


def test_public_repo_anonymous(hub, repos, tmp_path):
    f = hf_hub_download(PUBLIC, "w.bin", endpoint=hub.url, token=False,
                        cache_dir=str(tmp_path / "c"))
    assert hg.sha256_file(f) == hg.sha256_bytes(DATA)


def test_invalid_token_401(hub, repos):
    r = hub.server.get(f"/api/models/{PUBLIC}", token="hf_notarealtokenatall0000000000")
    assert r.status == 401
    assert r.header("x-error-message") == "Invalid credentials in Authorization header"


@pytest.mark.parametrize("repo", [PUBLIC, SECRET])
def test_read_token_cannot_commit(hub, repos, repo):
    api = HfApi(endpoint=hub.url, token=hub.read_token)
    with pytest.raises(HfHubHTTPError) as e:
        api.create_commit(repo, [CommitOperationAdd("x.txt", io.BytesIO(b"x"))],
                          commit_message="should fail")
    assert e.value.response.status_code in (401, 403)
    assert api.model_info(repo).sha == repos[repo]


def test_anonymous_cannot_commit(hub, repos):
    body = (b'{"key":"header","value":{"summary":"anon"}}\n'
            b'{"key":"file","value":{"path":"x.txt","content":"eA==","encoding":"base64"}}\n')
    r = hub.server.request("POST", f"/api/models/{PUBLIC}/commit/main", body=body,
                           headers={"Content-Type": "application/x-ndjson"})
    assert r.status == 401, (r.status, r.body)
    assert HfApi(endpoint=hub.url, token=hub.read_token).model_info(PUBLIC).sha == repos[PUBLIC]


def test_read_token_cannot_create_repo(hub, repos):
    with pytest.raises(HfHubHTTPError) as e:
        HfApi(endpoint=hub.url, token=hub.read_token).create_repo("e2e/by-reader")
    assert e.value.response.status_code in (401, 403)
    r = hub.server.get("/api/models/e2e/by-reader", token=hub.write_token)
    assert r.status == 404


def test_push_private(hub, repos, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "w.bin").write_bytes(DATA)
    r = hg.hubgate_push(folder, "scoped/pushed-private", hub.url, hub.write_token, private=True)
    assert r.returncode == 0, f"hubgate push failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    anon = hub.server.get("/api/models/scoped/pushed-private")
    assert anon.status == 401 and anon.header("x-error-code") == "RepoNotFound"
    info = HfApi(endpoint=hub.url, token=hub.scoped_token).model_info("scoped/pushed-private")
    assert info.private is True


def test_push_with_read_token_fails(hub, repos, tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "x.txt").write_text("x\n")
    r = hg.hubgate_push(folder, PUBLIC, hub.url, hub.read_token)
    assert r.returncode != 0
    assert HfApi(endpoint=hub.url, token=hub.read_token).model_info(PUBLIC).sha == repos[PUBLIC]


def test_npm_client_private_repo_roundtrip(hub, repos, tmp_path):
    folder = tmp_path / "up"
    folder.mkdir()
    (folder / "w.bin").write_bytes(DATA)
    (folder / "README.md").write_text("private\n")
    hg.run_node("createRepo", {"hubUrl": hub.url, "accessToken": hub.write_token,
                               "repo": "scoped/npm-private", "private": True})
    hg.run_node("uploadFolder", {"hubUrl": hub.url, "accessToken": hub.write_token,
                                 "repo": "scoped/npm-private", "folder": str(folder)})
    anon = hub.server.get("/api/models/scoped/npm-private")
    assert anon.status == 401 and anon.header("x-error-code") == "RepoNotFound"
    r = hg.run_node("snapshotDownload", {"hubUrl": hub.url, "accessToken": hub.scoped_token,
                                         "repo": "scoped/npm-private",
                                         "cacheDir": str(tmp_path / "c")})
    assert hg.repo_hashes(r["dir"]) == hg.tree_hashes(folder)
