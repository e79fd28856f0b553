"""One `hubgate serve` node with its blobs and Xet objects on SeaweedFS (`--store s3://…`):
uploads with huggingface_hub (hf_xet and LFS-basic) land in the object store and download
byte-identical; wiping the node's local copies (while running, and across a restart) loses
nothing; a wrong secret keeps the node from starting."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e_xet"))
sys.path.insert(0, str(HERE))
from cluster_harness import download_all, make_folder, start_node  # noqa: E402
from services import s3_keys, services  # noqa: E402
from xet_harness import hg, hh, metrics  # noqa: E402

MB = 1000 * 1000


@pytest.fixture(scope="module")
def cluster():
    tmp = hg.make_tempdir("cluster")
    with services(tmp) as env:
        srv = start_node(tmp / "data", env, ["--cache-max-bytes", str(64 * MB)])
        tok = hg.create_token(tmp / "data", "alice", write=True)
        state = {"srv": srv}
        yield state, tok, env, tmp
        rc = state["srv"].stop()
        assert rc == 0
    hg.remove_tempdir(tmp)


def wipe_local_copies(data: Path):
    for d in (data / "store" / "sha256", data / "xet" / "objects"):
        shutil.rmtree(d, ignore_errors=True)


def test_uploads_land_in_the_object_store_and_download_identical(cluster):
    state, tok, env, tmp = cluster
    srv = state["srv"]
    xet_src = make_folder(tmp / "src-xet", {"model.bin": 5 * MB + 3, "config.json": '{"x": 1}\n'}, seed=11)
    lfs_src = make_folder(tmp / "src-lfs", {"weights.bin": 3 * MB + 1, "README.md": "# lfs\n"}, seed=21)
    hh(srv, tok, tmp / "h1", "create_repo", {"repo": "alice/xet"}, xet=True)
    hh(srv, tok, tmp / "h1", "upload_folder", {"repo": "alice/xet", "folder": str(xet_src)}, xet=True)
    hh(srv, tok, tmp / "h2", "create_repo", {"repo": "alice/lfs"}, xet=False)
    hh(srv, tok, tmp / "h2", "upload_folder", {"repo": "alice/lfs", "folder": str(lfs_src)}, xet=False)

    # What the node stored is in the object store, not only on its disk.
    xorbs = [k for k in s3_keys(env, "xet/xorbs/")]
    shards = [k for k in s3_keys(env, "xet/shards/")]
    blobs = [k for k in s3_keys(env, "blobs/")]
    assert len(xorbs) >= 1 and len(shards) >= 2
    assert f"blobs/{hg.sha256_file(lfs_src / 'weights.bin')}" in blobs

    want_xet, want_lfs = hg.tree_hashes(xet_src), hg.tree_hashes(lfs_src)
    assert download_all(srv, tok, tmp / "d1", "alice/xet", xet=True) == want_xet
    assert download_all(srv, tok, tmp / "d2", "alice/xet", xet=False) == want_xet
    assert download_all(srv, tok, tmp / "d3", "alice/lfs", xet=True) == want_lfs
    assert download_all(srv, tok, tmp / "d4", "alice/lfs", xet=False) == want_lfs


def test_wiped_local_copies_lose_nothing(cluster):
    state, tok, env, tmp = cluster
    want_xet = hg.tree_hashes(tmp / "src-xet")
    want_lfs = hg.tree_hashes(tmp / "src-lfs")
    # Wiped under the running node.
    wipe_local_copies(state["srv"].data_dir)
    assert download_all(state["srv"], tok, tmp / "w1", "alice/xet", xet=True) == want_xet
    assert download_all(state["srv"], tok, tmp / "w2", "alice/lfs", xet=False) == want_lfs
    # The copies came back from the object store into the node's cache.
    blob = hg.sha256_file(tmp / "src-lfs" / "weights.bin")
    assert (tmp / "data" / "store" / "sha256" / blob[:2] / blob[2:4] / blob).is_file()
    assert any((tmp / "data" / "xet" / "objects" / "xorbs").rglob("*"))
    # Wiped while stopped: the restarted node rebuilds its Xet index from the shards in the store.
    assert state["srv"].stop() == 0
    wipe_local_copies(tmp / "data")
    state["srv"] = start_node(tmp / "data", env)
    assert download_all(state["srv"], tok, tmp / "w3", "alice/xet", xet=True) == want_xet
    assert download_all(state["srv"], tok, tmp / "w4", "alice/lfs", xet=True) == want_lfs
    assert download_all(state["srv"], tok, tmp / "w5", "alice/xet", xet=False) == want_xet


def test_wrong_secret_refuses_to_start(cluster):
    _, _, env, tmp = cluster
    bad = dict(env, AWS_SECRET_ACCESS_KEY=env["AWS_SECRET_ACCESS_KEY"] + "x")
    data = tmp / "bad"
    data.mkdir()
    r = subprocess.run([hg.hubgate_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data), "--upstream",
                        "none", "--store", env["HUBGATE_STORE"], "--s3-endpoint", env["HUBGATE_S3_ENDPOINT"]],
                       env=dict(os.environ, **{k: bad[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "SignatureDoesNotMatch" in r.stderr or "403" in r.stderr, r.stderr


def test_store_down_gives_503_then_recovers():
    """SeaweedFS stopped under a running node: a file without a local copy answers 503 with
    X-Error-Code StoreUnavailable (never a partial body); after the restart it is served whole.
    Uses engines of its own (stopping the shared ones would disturb other tests)."""
    tmp = hg.make_tempdir("cluster-down")
    own = tmp / "services"
    svc = str(HERE.parents[1] / "scripts" / "services.sh")
    subprocess.run([svc, "start", str(own)], check=True, capture_output=True, timeout=600)
    try:
        env = {k: v for k, v in (l.split("=", 1) for l in (own / "env").read_text().splitlines() if "=" in l)}
        srv = start_node(tmp / "data", env)
        tok = hg.create_token(tmp / "data", "alice", write=True)
        src = make_folder(tmp / "src", {"w.bin": 2 * MB + 5}, seed=31)
        hh(srv, tok, tmp / "h", "create_repo", {"repo": "alice/down"}, xet=False)
        hh(srv, tok, tmp / "h", "upload_folder", {"repo": "alice/down", "folder": str(src)}, xet=False)
        want = hg.sha256_file(src / "w.bin")
        wipe_local_copies(srv.data_dir)
        subprocess.run([svc, "stop", str(own)], check=True, timeout=120)
        r = srv.get("/alice/down/resolve/main/w.bin", token=tok)
        assert r.status == 503, (r.status, r.body[:300])
        assert r.header("X-Error-Code") == "StoreUnavailable"
        subprocess.run([svc, "start", str(own)], check=True, capture_output=True, timeout=600)
        r = srv.get("/alice/down/resolve/main/w.bin", token=tok)
        assert r.status == 200 and hg.sha256_bytes(r.body) == want
        assert srv.stop() == 0
    finally:
        subprocess.run([svc, "clean", str(own)], check=False, timeout=120)
        hg.remove_tempdir(tmp)
