"""@huggingface/hub 2.17.5 (npm) against hubgate with `hubUrl`: createRepo, uploadFiles of a folder
(small text files, an empty file, a 5 MB and a >= 200 MB binary), then every download path of the
npm client and plain curl, all compared by sha256 with the originals."""

from __future__ import annotations

import pytest

import curl_checks
import hubgate_e2e as hg
from conftest import BIG_SIZE

REPO = "e2e/npm-model"
BINARIES = ("big.bin", "sub/small.bin")


@pytest.fixture(scope="module")
def uploaded(hub, payload):
    """The repo created and the payload folder uploaded by the npm client, in one commit."""
    created = hg.run_node("createRepo", {"hubUrl": hub.url, "accessToken": hub.write_token,
                                         "repo": REPO})
    commit = hg.run_node("uploadFolder", {"hubUrl": hub.url, "accessToken": hub.write_token,
                                          "repo": REPO, "folder": str(payload),
                                          "message": "npm upload"})
    return {"created": created, "commit": commit}


def node(hub, op, **params):
    return hg.run_node(op, {"hubUrl": hub.url, "accessToken": hub.read_token, **params})


def test_create_repo_returns_url(hub, uploaded):
    created = uploaded["created"]
    assert created["repoUrl"].rstrip("/").endswith(f"/{REPO}"), created


def test_upload_returns_commit_that_is_head(hub, uploaded):
    commit = uploaded["commit"]
    oid = commit["commit"]["oid"]
    assert len(oid) == 40 and int(oid, 16) >= 0
    info = node(hub, "modelInfo", repo=REPO)
    assert info["sha"] == oid


def test_snapshot_download_matches(hub, uploaded, payload_hashes, tmp_path):
    r = node(hub, "snapshotDownload", repo=REPO, cacheDir=str(tmp_path / "cache"))
    assert hg.repo_hashes(r["dir"]) == payload_hashes


@pytest.mark.parametrize("rel", ["big.bin", "sub/small.bin", "README.md", "empty.txt",
                                 "sub/deeper/unicode-é.txt"])
def test_download_file_to_cache_dir(hub, uploaded, payload, rel, tmp_path):
    r = node(hub, "downloadFileToCacheDir", repo=REPO, path=rel, cacheDir=str(tmp_path / "c"))
    assert hg.sha256_file(r["file"]) == hg.sha256_file(payload / rel)


def test_list_files_recursive(hub, uploaded, payload):
    entries = node(hub, "listFiles", repo=REPO, recursive=True)
    files = {e["path"]: e for e in entries if e["type"] == "file"}
    dirs = {e["path"] for e in entries if e["type"] == "directory"}
    expected = hg.tree_hashes(payload)
    # .gitattributes may be added by the server; every uploaded file must be listed exactly once.
    assert set(expected) <= set(files), set(expected) - set(files)
    assert len([e for e in entries if e["type"] == "file"]) == len(files)
    assert {"sub", "sub/deeper"} <= dirs
    for rel in expected:
        data_size = (payload / rel).stat().st_size
        assert files[rel]["size"] == data_size, rel
    for rel in BINARIES:
        lfs = files[rel].get("lfs")
        assert lfs, f"{rel} should be stored as LFS: {files[rel]}"
        assert lfs["oid"] == expected[rel]
        assert lfs["size"] == (payload / rel).stat().st_size
    readme = (payload / "README.md").read_bytes()
    assert files["README.md"]["oid"] == hg.git_blob_sha1(readme)
    assert "lfs" not in files["README.md"]


def test_list_files_one_level(hub, uploaded):
    entries = node(hub, "listFiles", repo=REPO, recursive=False, path="sub")
    got = {(e["type"], e["path"]) for e in entries}
    assert got == {("file", "sub/notes.txt"), ("file", "sub/small.bin"),
                   ("directory", "sub/deeper")}


def test_model_info(hub, uploaded, payload):
    info = node(hub, "modelInfo", repo=REPO)
    assert info["name"] == REPO
    assert info["private"] is False
    names = {s["rfilename"] for s in info["siblings"]}
    assert set(hg.tree_hashes(payload)) <= names


def test_file_download_info_lfs(hub, uploaded, payload_hashes):
    r = node(hub, "fileDownloadInfo", repo=REPO, path="big.bin")
    assert r["size"] == BIG_SIZE
    assert r["etag"].strip('"') == payload_hashes["big.bin"]
    # LFS files get a Xet representation on commit: HJ sees it through the xet-fileinfo probe.
    assert len(r["xet"]["hash"]) == 64


def test_file_download_info_regular(hub, uploaded, payload):
    r = node(hub, "fileDownloadInfo", repo=REPO, path="config.json")
    data = (payload / "config.json").read_bytes()
    assert r["size"] == len(data)
    assert r["etag"].strip('"') == hg.git_blob_sha1(data)


def test_file_download_info_missing_is_null(hub, uploaded):
    assert node(hub, "fileDownloadInfo", repo=REPO, path="no/such/file.txt") is None


@pytest.mark.parametrize("rel", ["big.bin", "README.md", "sub/small.bin"])
def test_curl_full_get(hub, uploaded, payload, rel, tmp_path):
    curl_checks.check_full_get(hub.url, REPO, rel, payload / rel, tmp_path)


@pytest.mark.parametrize("spec", ["0-0", "1000-200999", "104857600-", "-4096",
                                  f"{BIG_SIZE - 10}-{BIG_SIZE + 100}"])
def test_curl_range_big(hub, uploaded, payload, spec, tmp_path):
    curl_checks.check_range(hub.url, REPO, "big.bin", payload / "big.bin", tmp_path, spec)


@pytest.mark.parametrize("spec", ["2-5", "3-", "-7"])
def test_curl_range_regular(hub, uploaded, payload, spec, tmp_path):
    curl_checks.check_range(hub.url, REPO, "README.md", payload / "README.md", tmp_path, spec)


def test_curl_range_unsatisfiable(hub, uploaded, payload, tmp_path):
    curl_checks.check_unsatisfiable(hub.url, REPO, "big.bin", payload / "big.bin", tmp_path)
