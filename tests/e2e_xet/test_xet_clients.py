"""Xet end to end with the real clients: huggingface_hub 0.36 + hf_xet 1.8.0 (in fresh
processes, with and without Xet) and @huggingface/hub 2.17.5 (XetBlob downloads, xet uploads).
Every download is compared byte for byte; the server's counters prove the transfer used Xet."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from xet_harness import delta, hg, hh, make_folder, metrics, xet_stats

MB = 1000 * 1000


@pytest.fixture(scope="module")
def server():
    tmp = hg.make_tempdir("xet")
    srv = hg.start_server(tmp / "data")
    tok = hg.create_token(tmp / "data", "alice", write=True)
    reader = hg.create_token(tmp / "data", "bob", write=False)
    yield srv, tok, reader, tmp
    rc = srv.stop()
    hg.remove_tempdir(tmp)
    assert rc == 0


def curl_sha256(url: str, extra: list[str] | None = None) -> tuple[str, int]:
    r = subprocess.run(["curl", "-sS", "-f", "-L", *(extra or []), url], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return hashlib.sha256(r.stdout).hexdigest(), len(r.stdout)


def test_lfs_upload_is_served_through_xet(server):
    """LFS-basic upload (no hf_xet) gets a Xet representation on commit; resolve/tree/token
    answers carry the Xet fields; snapshot_download with hf_xet downloads through the CAS."""
    srv, tok, _, tmp = server
    folder = make_folder(tmp / "p1", {"w.bin": 3 * MB + 17, "config.json": '{"a": 1}\n'})
    hh(srv, tok, tmp / "home1", "create_repo", {"repo": "alice/lfs"}, xet=False)
    hh(srv, tok, tmp / "home1", "upload_folder", {"repo": "alice/lfs", "folder": str(folder)}, xet=False)

    tree = srv.get("/api/models/alice/lfs/tree/main", token=tok).json()
    files = {e["path"]: e for e in tree}
    assert "xetHash" in files["w.bin"] and len(files["w.bin"]["xetHash"]) == 64
    assert "xetHash" not in files["config.json"]
    xh = files["w.bin"]["xetHash"]

    head = srv.request("HEAD", "/alice/lfs/resolve/main/w.bin", headers={"Authorization": f"Bearer {tok}"})
    assert head.status == 200
    assert head.header("X-Xet-Hash") == xh
    assert head.header("X-Linked-Size") == str(3 * MB + 17)
    commit = head.header("X-Repo-Commit")
    link = head.header("Link")
    assert f'<{srv.url}/api/models/alice/lfs/xet-read-token/{commit}>; rel="xet-auth"' in link
    assert f'<{srv.url}/cas/v1/reconstructions/{xh}>; rel="xet-reconstruction-info"' in link

    probe = srv.get("/alice/lfs/resolve/main/w.bin", token=tok,
                    headers={"Accept": "application/vnd.xet-fileinfo+json, */*", "Range": "bytes=0-0"})
    assert probe.status == 200 and probe.header("Content-Type") == "application/vnd.xet-fileinfo+json"
    assert probe.json()["hash"] == xh and probe.json()["size"] == 3 * MB + 17

    t = srv.get(f"/api/models/alice/lfs/xet-read-token/{commit}", token=tok)
    assert t.status == 200
    body = t.json()
    assert body["casUrl"] == srv.url + "/cas" and t.header("X-Xet-Cas-Url") == body["casUrl"]
    assert t.header("X-Xet-Access-Token") == body["accessToken"]
    assert t.header("X-Xet-Token-Expiration") == str(body["exp"])

    before = metrics(srv)
    out = hh(srv, tok, tmp / "home1b", "snapshot_download", {"repo": "alice/lfs"}, xet=True)
    after = metrics(srv)
    assert hg.repo_hashes(out["dir"]) == hg.tree_hashes(folder)
    recon = delta(before, after, 'hubgate_xet_reconstructions_total{version="v2"}') + \
        delta(before, after, 'hubgate_xet_reconstructions_total{version="v1"}')
    assert recon >= 1
    assert delta(before, after, "hubgate_xet_xorb_range_requests_total") >= 1
    assert delta(before, after, "hubgate_xet_xorb_range_bytes_total") >= 3 * MB


def test_xet_upload_roundtrip_and_plain_http(server):
    """upload_folder with hf_xet sends xorbs and a shard; the commit maps sha256 -> Xet file and
    materializes the blob; downloads through Xet and through plain HTTP (curl) are identical."""
    srv, tok, _, tmp = server
    size = 9 * MB + 123  # ~140 chunks
    folder = make_folder(tmp / "p2", {"weights.bin": size, "nested/extra.bin": 300_001, "README.md": "# x\n"},
                         seed=10)
    hh(srv, tok, tmp / "home2", "create_repo", {"repo": "alice/xup"}, xet=True)
    before = metrics(srv)
    hh(srv, tok, tmp / "home2", "upload_folder", {"repo": "alice/xup", "folder": str(folder)}, xet=True)
    mid = metrics(srv)
    assert delta(before, mid, "hubgate_xet_xorbs_received_total") >= 1
    assert delta(before, mid, "hubgate_xet_xorb_bytes_received_total") >= size
    assert delta(before, mid, "hubgate_xet_shards_accepted_total") >= 1
    assert delta(before, mid, "hubgate_xet_materialized_files_total") == 2
    assert delta(before, mid, "hubgate_xet_ingested_files_total") == 0

    out = hh(srv, tok, tmp / "home2b", "hf_hub_download", {"repo": "alice/xup", "path": "weights.bin"}, xet=True)
    after = metrics(srv)
    assert hg.sha256_file(out["file"]) == hg.sha256_file(folder / "weights.bin")
    assert delta(mid, after, "hubgate_xet_xorb_range_bytes_total") >= size

    want = hg.sha256_file(folder / "weights.bin")
    auth = ["-H", f"Authorization: Bearer {tok}"]
    assert curl_sha256(f"{srv.url}/alice/xup/resolve/main/weights.bin", auth) == (want, size)
    data = (folder / "weights.bin").read_bytes()[5 * MB:5 * MB + 1000]
    r = srv.get("/alice/xup/resolve/main/weights.bin", token=tok, headers={"Range": f"bytes={5 * MB}-{5 * MB + 999}"})
    assert r.status == 206 and r.body == data
    # Without hf_xet the same files come down as plain HTTP.
    out = hh(srv, tok, tmp / "home2c", "snapshot_download", {"repo": "alice/xup"}, xet=False)
    assert hg.repo_hashes(out["dir"]) == hg.tree_hashes(folder)


def tensors(n: int, size: int, seed: int) -> list[bytes]:
    import random
    rng = random.Random(seed)
    return [rng.randbytes(size) for _ in range(n)]


def test_second_revision_sends_only_changed_chunks(server):
    """A 20 MB model, then a revision with 2 of its 20 tensors changed: the second upload sends
    about 2 MB of xorbs and the chunk store grows by about that much; /metrics and
    `hubgate xet stats` agree; both revisions download identically."""
    srv, tok, _, tmp = server
    n, tsize = 20, 1_000_000
    ts = tensors(n, tsize, seed=99)
    v1 = tmp / "m1"
    v1.mkdir()
    (v1 / "model.bin").write_bytes(b"".join(ts))
    hh(srv, tok, tmp / "home3", "create_repo", {"repo": "alice/dedup"}, xet=True)
    m0 = metrics(srv)
    c1 = hh(srv, tok, tmp / "home3", "upload_folder", {"repo": "alice/dedup", "folder": str(v1)}, xet=True)["commit"]
    m1 = metrics(srv)
    sent1 = delta(m0, m1, "hubgate_xet_xorb_bytes_received_total")
    assert n * tsize <= sent1 < n * tsize * 1.05

    ts2 = list(ts)
    for i, new in zip((4, 13), tensors(2, tsize, seed=7)):
        ts2[i] = new
    v2 = tmp / "m2"
    v2.mkdir()
    (v2 / "model.bin").write_bytes(b"".join(ts2))
    hh(srv, tok, tmp / "home3", "upload_folder", {"repo": "alice/dedup", "folder": str(v2)}, xet=True)
    m2 = metrics(srv)
    sent2 = delta(m1, m2, "hubgate_xet_xorb_bytes_received_total")
    grown = delta(m1, m2, "hubgate_xet_stored_bytes")
    changed = 2 * tsize
    # Changed tensors plus at most a few boundary chunks (64 KiB average) around each.
    assert changed <= sent2 <= changed + 8 * 131072, sent2
    assert changed <= grown <= changed + 8 * 131072 + 65536, grown
    repo = 'repo="alice/dedup"'
    assert m2[f"hubgate_xet_repo_logical_bytes{{{repo}}}"] == 2 * n * tsize
    assert m2[f"hubgate_xet_repo_files{{{repo}}}"] == 2
    stored = m2[f"hubgate_xet_repo_stored_bytes{{{repo}}}"]
    assert stored <= n * tsize + changed + 16 * 131072
    assert m2[f"hubgate_xet_repo_dedup_ratio{{{repo}}}"] > 1.6

    st = xet_stats(srv)
    mine = [r for r in st["repos"] if r["repo"] == "alice/dedup"][0]
    assert mine["logical_bytes"] == 2 * n * tsize and mine["stored_bytes"] == stored
    assert st["stored_bytes"] == m2["hubgate_xet_stored_bytes"]

    out1 = hh(srv, tok, tmp / "home3b", "hf_hub_download", {"repo": "alice/dedup", "path": "model.bin", "revision": c1},
              xet=True)
    assert hg.sha256_file(out1["file"]) == hg.sha256_file(v1 / "model.bin")
    out2 = hh(srv, tok, tmp / "home3b", "hf_hub_download", {"repo": "alice/dedup", "path": "model.bin"}, xet=True)
    assert hg.sha256_file(out2["file"]) == hg.sha256_file(v2 / "model.bin")


def test_npm_client_uploads_and_downloads_through_xet(server):
    """@huggingface/hub: uploadFiles negotiates the xet transfer (xorbs + v1 shard with footer);
    downloadFileToCacheDir goes through fileDownloadInfo's xet-fileinfo probe and XetBlob (v2)."""
    srv, tok, _, tmp = server
    folder = make_folder(tmp / "p4", {"weights.bin": 4 * MB + 5, "notes.txt": "hi\n"}, seed=40)
    hg.run_node("createRepo", {"hubUrl": srv.url, "accessToken": tok, "repo": "alice/js"})
    m0 = metrics(srv)
    hg.run_node("uploadFolder", {"hubUrl": srv.url, "accessToken": tok, "repo": "alice/js", "folder": str(folder)})
    m1 = metrics(srv)
    assert delta(m0, m1, "hubgate_xet_xorb_bytes_received_total") >= 4 * MB
    assert delta(m0, m1, "hubgate_xet_shards_accepted_total") >= 1
    r = hg.run_node("downloadFileToCacheDir", {"hubUrl": srv.url, "accessToken": tok, "repo": "alice/js",
                                                "path": "weights.bin", "cacheDir": str(tmp / "jc")})
    m2 = metrics(srv)
    assert hg.sha256_file(r["file"]) == hg.sha256_file(folder / "weights.bin")
    assert delta(m1, m2, 'hubgate_xet_reconstructions_total{version="v2"}') >= 1
    assert delta(m1, m2, "hubgate_xet_xorb_range_bytes_total") >= 4 * MB
    # The same file through huggingface_hub + hf_xet (HJ's chunking differs; the server never re-chunks).
    out = hh(srv, tok, tmp / "home4", "hf_hub_download", {"repo": "alice/js", "path": "weights.bin"}, xet=True)
    assert hg.sha256_file(out["file"]) == hg.sha256_file(folder / "weights.bin")


def test_dataset_and_pull_request_through_xet(server):
    """A dataset repository, and an upload as a pull request (HH asks for xet-write-token/None
    with create_pr=1), both through Xet; the PR revision downloads through Xet too."""
    srv, tok, _, tmp = server
    folder = make_folder(tmp / "p5", {"data/train.parquet": 2 * MB + 3}, seed=50)
    hh(srv, tok, tmp / "home5", "create_repo", {"repo": "alice/ds", "repo_type": "dataset"}, xet=True)
    m0 = metrics(srv)
    hh(srv, tok, tmp / "home5", "upload_folder", {"repo": "alice/ds", "repo_type": "dataset", "folder": str(folder)}, xet=True)
    out = hh(srv, tok, tmp / "home5b", "hf_hub_download",
             {"repo": "alice/ds", "repo_type": "dataset", "path": "data/train.parquet"}, xet=True)
    assert hg.sha256_file(out["file"]) == hg.sha256_file(folder / "data/train.parquet")
    pr_folder = make_folder(tmp / "p5pr", {"data/train.parquet": 2 * MB + 4}, seed=51)
    pr = hh(srv, tok, tmp / "home5", "upload_folder",
            {"repo": "alice/ds", "repo_type": "dataset", "folder": str(pr_folder), "create_pr": True}, xet=True)
    assert pr["pr_revision"] == "refs/pr/1"
    out = hh(srv, tok, tmp / "home5c", "hf_hub_download",
             {"repo": "alice/ds", "repo_type": "dataset", "path": "data/train.parquet", "revision": "refs/pr/1"}, xet=True)
    assert hg.sha256_file(out["file"]) == hg.sha256_file(pr_folder / "data/train.parquet")
    m1 = metrics(srv)
    assert delta(m0, m1, "hubgate_xet_shards_accepted_total") >= 2
    assert delta(m0, m1, 'hubgate_xet_reconstructions_total{version="v2"}') >= 2


def test_security_gate_applies_to_xet_uploads(server):
    """A Xet upload is scanned when the commit makes it final: a file the gate blocks (a
    .safetensors whose header length is absurd) refuses the commit, and nothing is committed."""
    srv, tok, _, tmp = server
    folder = make_folder(tmp / "p6", {"model.safetensors": 1 * MB}, seed=60)
    hh(srv, tok, tmp / "home6", "create_repo", {"repo": "alice/bad"}, xet=True)
    head = srv.get("/api/models/alice/bad/revision/main", token=tok).json()["sha"]
    err = hh(srv, tok, tmp / "home6", "upload_folder", {"repo": "alice/bad", "folder": str(folder)}, xet=True,
             expect_failure=True)
    assert "403" in err and "blocked by security policy" in err
    assert srv.get("/api/models/alice/bad/revision/main", token=tok).json()["sha"] == head


def test_read_token_cannot_upload_and_foreign_repo_is_refused(server):
    """A read-only hub token gets no write token; a Xet token of another repository cannot
    reconstruct this repository's files."""
    srv, tok, reader, tmp = server
    r = srv.get("/api/models/alice/lfs/xet-write-token/main", token=reader)
    assert r.status == 403 and r.header("X-Error-Message")
    rt = srv.get("/api/models/alice/lfs/xet-read-token/main", token=reader).json()["accessToken"]
    xh = [e for e in srv.get("/api/models/alice/js/tree/main", token=tok).json() if e["path"] == "weights.bin"][0]["xetHash"]
    r = srv.get(f"/cas/v2/reconstructions/{xh}", headers={"Authorization": f"Bearer {rt}"})
    assert r.status == 403 and "not part of" in r.header("X-Error-Message")
    r = srv.request("POST", "/cas/v1/xorbs/default/" + "0" * 64, body=b"x",
                    headers={"Authorization": f"Bearer {rt}"})
    assert r.status == 403
