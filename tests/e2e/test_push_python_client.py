"""`hubgate push` uploads the payload folder; Python's huggingface_hub (HF_HUB_DISABLE_XET=1, explicit
endpoint) downloads it every way it can, compared by sha256; `upload_folder` uploads the same folder
to a second repo, which downloads identically. Plain curl checks on the pushed repo."""

from __future__ import annotations

import pytest
from huggingface_hub import (HfApi, hf_hub_download, snapshot_download)
from huggingface_hub.hf_api import RepoFile, RepoFolder
from huggingface_hub.utils import EntryNotFoundError, HfHubHTTPError

import curl_checks
import hubgate_e2e as hg
from conftest import BIG_SIZE

PUSHED = "e2e/pushed"
HH_REPO = "e2e/hh-upload"
BINARIES = ("big.bin", "sub/small.bin")


@pytest.fixture(scope="module")
def pushed(hub, payload):
    r = hg.hubgate_push(payload, PUSHED, hub.url, hub.write_token, message="push from e2e")
    assert r.returncode == 0, f"hubgate push failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def api(hub):
    return HfApi(endpoint=hub.url, token=hub.read_token)


@pytest.fixture(scope="module")
def hh_uploaded(hub, payload):
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    w.create_repo(HH_REPO)
    return w.upload_folder(repo_id=HH_REPO, folder_path=str(payload), commit_message="hh upload")


def test_push_is_head_commit(hub, pushed, api):
    info = api.model_info(PUSHED)
    assert len(info.sha) == 40
    # The CLI reports the commit it made.
    assert info.sha in pushed.stdout + pushed.stderr


def test_snapshot_download(hub, pushed, payload_hashes, tmp_path):
    d = snapshot_download(PUSHED, endpoint=hub.url, token=hub.read_token,
                          cache_dir=str(tmp_path / "cache"))
    assert hg.repo_hashes(d) == payload_hashes


@pytest.mark.parametrize("rel", ["big.bin", "sub/small.bin", "README.md", "empty.txt",
                                 "sub/deeper/unicode-é.txt"])
def test_hf_hub_download(hub, pushed, payload, rel, tmp_path):
    f = hf_hub_download(PUSHED, rel, endpoint=hub.url, token=hub.read_token,
                        cache_dir=str(tmp_path / "cache"))
    assert hg.sha256_file(f) == hg.sha256_file(payload / rel)


def test_hf_hub_download_missing_file(hub, pushed, tmp_path):
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(PUSHED, "nope.txt", endpoint=hub.url, token=hub.read_token,
                        cache_dir=str(tmp_path / "cache"))


def test_model_info_files_metadata(hub, pushed, api, payload, payload_hashes):
    info = api.model_info(PUSHED, files_metadata=True)
    assert info.id == PUSHED
    assert info.private is False
    sib = {s.rfilename: s for s in info.siblings}
    assert set(payload_hashes) <= set(sib)
    for rel in BINARIES:
        assert sib[rel].lfs is not None, rel
        assert sib[rel].lfs.sha256 == payload_hashes[rel]
        assert sib[rel].size == (payload / rel).stat().st_size
    assert sib["README.md"].blob_id == hg.git_blob_sha1((payload / "README.md").read_bytes())


def test_list_repo_tree_recursive(hub, pushed, api, payload, payload_hashes):
    entries = list(api.list_repo_tree(PUSHED, recursive=True))
    files = {e.path: e for e in entries if isinstance(e, RepoFile)}
    dirs = {e.path for e in entries if isinstance(e, RepoFolder)}
    assert set(payload_hashes) <= set(files)
    assert {"sub", "sub/deeper"} <= dirs
    for rel in payload_hashes:
        assert files[rel].size == (payload / rel).stat().st_size, rel
    for rel in BINARIES:
        assert files[rel].lfs is not None and files[rel].lfs.sha256 == payload_hashes[rel]
    assert files["config.json"].blob_id == hg.git_blob_sha1((payload / "config.json").read_bytes())


def test_list_repo_tree_subfolder(hub, pushed, api):
    entries = list(api.list_repo_tree(PUSHED, path_in_repo="sub/deeper"))
    assert [(type(e).__name__, e.path) for e in entries] == [("RepoFile", "sub/deeper/unicode-é.txt")]


def test_list_repo_tree_missing_path(hub, pushed, api):
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(PUSHED, path_in_repo="no-such-dir"))


def test_get_paths_info(hub, pushed, api, payload_hashes):
    got = api.get_paths_info(PUSHED, ["sub/small.bin", "missing.txt", "README.md", "sub"])
    assert [e.path for e in got] == ["sub/small.bin", "README.md", "sub"]
    assert isinstance(got[0], RepoFile) and got[0].lfs.sha256 == payload_hashes["sub/small.bin"]
    assert isinstance(got[2], RepoFolder)


def test_upload_folder_then_snapshot(hub, hh_uploaded, payload_hashes, tmp_path):
    d = snapshot_download(HH_REPO, endpoint=hub.url, token=hub.read_token,
                          cache_dir=str(tmp_path / "cache"))
    assert hg.repo_hashes(d) == payload_hashes


def test_upload_folder_commit_is_head(hub, hh_uploaded, api):
    assert api.model_info(HH_REPO).sha == hh_uploaded.oid


def test_upload_folder_readable_by_npm_client(hub, hh_uploaded, payload_hashes, tmp_path):
    r = hg.run_node("downloadFileToCacheDir", {"hubUrl": hub.url, "accessToken": hub.read_token,
                                               "repo": HH_REPO, "path": "sub/small.bin",
                                               "cacheDir": str(tmp_path / "c")})
    assert hg.sha256_file(r["file"]) == payload_hashes["sub/small.bin"]


def test_create_repo_twice_conflicts(hub):
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    w.create_repo("e2e/twice")
    with pytest.raises(HfHubHTTPError) as e:
        w.create_repo("e2e/twice")
    assert e.value.response.status_code == 409
    w.create_repo("e2e/twice", exist_ok=True)  # HH's exist_ok relies on the 409


@pytest.mark.parametrize("rel", ["big.bin", "config.json"])
def test_curl_full_get(hub, pushed, payload, rel, tmp_path):
    curl_checks.check_full_get(hub.url, PUSHED, rel, payload / rel, tmp_path)


@pytest.mark.parametrize("spec", ["0-0", "5-104857605", "200000000-", "-1"])
def test_curl_range(hub, pushed, payload, spec, tmp_path):
    curl_checks.check_range(hub.url, PUSHED, "big.bin", payload / "big.bin", tmp_path, spec)


def test_curl_range_unsatisfiable(hub, pushed, payload, tmp_path):
    curl_checks.check_unsatisfiable(hub.url, PUSHED, "sub/small.bin", payload / "sub/small.bin",
                                    tmp_path)


def test_big_file_size_header(hub, pushed, payload_hashes):
    r = hub.server.request("HEAD", f"/{PUSHED}/resolve/main/big.bin",
                           headers={"Accept-Encoding": "identity"})
    assert r.status == 200
    assert r.header("x-linked-size") == str(BIG_SIZE)
    assert r.header("x-linked-etag").strip('"') == payload_hashes["big.bin"]
    assert r.header("etag").strip('"').removeprefix("W/").strip('"') == payload_hashes["big.bin"]


DATASET = "e2e/a-dataset"
PUSHED_DATASET = "e2e/pushed-dataset"


def test_dataset_upload_folder_and_download(hub, payload, payload_hashes, tmp_path):
    """Datasets live under /datasets/ and /api/datasets/: HH parses the repo type back from the
    commit URL the server returns, so a wrong commitUrl breaks dataset uploads."""
    small = tmp_path / "ds"
    small.mkdir()
    (small / "train.csv").write_text("a,b\n1,2\n3,4\n")
    (small / "data.bin").write_bytes((payload / "sub" / "small.bin").read_bytes())
    w = HfApi(endpoint=hub.url, token=hub.write_token)
    w.create_repo(DATASET, repo_type="dataset")
    info = w.upload_folder(repo_id=DATASET, repo_type="dataset", folder_path=str(small))
    assert w.dataset_info(DATASET).sha == info.oid
    assert info.repo_url.repo_type == "dataset" and info.repo_url.repo_id == DATASET
    f = hf_hub_download(DATASET, "data.bin", repo_type="dataset", endpoint=hub.url,
                        token=hub.read_token, cache_dir=str(tmp_path / "c"))
    assert hg.sha256_file(f) == payload_hashes["sub/small.bin"]
    # Not visible as a model of the same name.
    assert hub.server.get(f"/api/models/{DATASET}", token=hub.read_token).status == 404


def test_push_dataset(hub, payload_hashes, payload, tmp_path):
    folder = tmp_path / "push-ds"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "small.bin").write_bytes((payload / "sub" / "small.bin").read_bytes())
    (folder / "README.md").write_bytes((payload / "README.md").read_bytes())
    r = hg.hubgate_push(folder, PUSHED_DATASET, hub.url, hub.write_token, repo_type="dataset")
    assert r.returncode == 0, f"hubgate push failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    d = snapshot_download(PUSHED_DATASET, repo_type="dataset", endpoint=hub.url,
                          token=hub.read_token, cache_dir=str(tmp_path / "c"))
    assert hg.repo_hashes(d) == {"sub/small.bin": payload_hashes["sub/small.bin"],
                                 "README.md": payload_hashes["README.md"]}


def test_parallel_downloads(hub, pushed, payload, payload_hashes, tmp_path):
    """Three full downloads of the big file and three range reads at the same time."""
    import subprocess

    url = f"{hub.url}/{PUSHED}/resolve/main/big.bin"
    procs = []
    for i in range(3):
        procs.append(subprocess.Popen(["curl", "-sS", "-f", "-o", str(tmp_path / f"full{i}"), url]))
    for i, (a, b) in enumerate([(0, 999_999), (50_000_000, 50_999_999), (BIG_SIZE - 10, BIG_SIZE - 1)]):
        procs.append(subprocess.Popen(["curl", "-sS", "-f", "-r", f"{a}-{b}", "-o",
                                       str(tmp_path / f"part{i}-{a}-{b}"), url]))
    assert [p.wait(timeout=180) for p in procs] == [0] * 6
    for i in range(3):
        assert hg.sha256_file(tmp_path / f"full{i}") == payload_hashes["big.bin"]
    for p in tmp_path.glob("part*"):
        _, a, b = p.name.split("-")
        assert p.read_bytes() == hg.read_slice(payload / "big.bin", int(a), int(b))


def received_bytes(hub) -> float:
    for line in hub.server.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith("hubgate_http_received_bytes_total "):
            return float(line.split()[1])
    raise AssertionError("no hubgate_http_received_bytes_total in /metrics")


def test_second_push_uploads_no_lfs_bytes_again(hub, pushed, payload, payload_hashes, tmp_path):
    """Pushing the same folder (plus one new file) to another repo: the LFS batch reports the
    big objects as already stored, so far less than their size crosses the wire."""
    before = received_bytes(hub)
    r = hg.hubgate_push(payload, "e2e/pushed-again", hub.url, hub.write_token)
    assert r.returncode == 0, f"hubgate push failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    assert received_bytes(hub) - before < 1 << 20
    f = hf_hub_download("e2e/pushed-again", "big.bin", endpoint=hub.url, token=hub.read_token,
                        cache_dir=str(tmp_path / "c"))
    assert hg.sha256_file(f) == payload_hashes["big.bin"]


def test_push_skips_dot_git(hub, tmp_path):
    folder = tmp_path / "withgit"
    (folder / ".git" / "objects").mkdir(parents=True)
    (folder / ".git" / "config").write_text("[core]\n")
    (folder / "model.txt").write_text("weights\n")
    r = hg.hubgate_push(folder, "e2e/withgit", hub.url, hub.write_token)
    assert r.returncode == 0, f"hubgate push failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    api = HfApi(endpoint=hub.url, token=hub.read_token)
    assert {e.path for e in api.list_repo_tree("e2e/withgit", recursive=True)} - \
        {".gitattributes"} == {"model.txt"}
