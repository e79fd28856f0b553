"""`hubgate store migrate`: a data directory made by a single-node hubgate (SQLite, local disk;
uploads with huggingface_hub over hf_xet and LFS, two commits, a branch) is copied into
SeaweedFS + PostgreSQL, twice (the second run copies nothing), and a cluster node serves it:
byte-identical downloads, the same commits and refs, the single node's token accepted, its
audit records in the cluster's log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cluster_harness import download_all, make_folder, start_node  # noqa: E402
from services import fresh_database, services  # noqa: E402
from xet_harness import hg, hh  # noqa: E402

MB = 1000 * 1000


def migrate(env: dict[str, str], src: Path, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([hg.hubgate_bin(), "store", "migrate", "--from", str(src), "--to-store", env["HUBGATE_STORE"],
                           "--to-database", db, "--s3-endpoint", env["HUBGATE_S3_ENDPOINT"], "--s3-addressing", "path"],
                          env=dict(os.environ, **{k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                                      "AWS_REGION")}),
                          capture_output=True, text=True, timeout=600)


def line(out: str, prefix: str) -> str:
    found = [x for x in out.splitlines() if x.startswith(prefix + ":")]
    assert found, f"no '{prefix}:' line in\n{out}"
    return found[-1]


def state(srv, tok: str) -> dict:
    """Commit ids of main in both repositories, the refs of alice/lfs, the file list of alice/xet."""
    out = {}
    for name in ("lfs", "xet"):
        r = srv.get(f"/api/models/alice/{name}/commits/main", token=tok)
        assert r.status == 200, (r.status, r.body[:300])
        out[name] = [c["id"] for c in r.json()]
    out["refs"] = srv.get("/api/models/alice/lfs/refs", token=tok).json()
    info = srv.get("/api/models/alice/xet/revision/main", token=tok).json()
    out["files"] = sorted(s["rfilename"] for s in info["siblings"])
    return out


def test_single_node_data_dir_moves_into_a_cluster():
    tmp = hg.make_tempdir("cluster-migrate")
    try:
        with services(tmp) as env:
            single = tmp / "single"
            srv = hg.start_server(single)
            tok = hg.create_token(single, "alice", write=True)
            xet_src = make_folder(tmp / "src-xet", {"model.bin": 3 * MB + 11, "config.json": '{"m": 1}\n'}, seed=61)
            lfs_src = make_folder(tmp / "src-lfs", {"weights.bin": 2 * MB + 5, "README.md": "# moved\n"}, seed=71)
            hh(srv, tok, tmp / "h1", "create_repo", {"repo": "alice/xet"}, xet=True)
            hh(srv, tok, tmp / "h1", "upload_folder", {"repo": "alice/xet", "folder": str(xet_src)}, xet=True)
            hh(srv, tok, tmp / "h2", "create_repo", {"repo": "alice/lfs"}, xet=False)
            hh(srv, tok, tmp / "h2", "upload_folder", {"repo": "alice/lfs", "folder": str(lfs_src)}, xet=False)
            hh(srv, tok, tmp / "h2", "create_commit", {"repo": "alice/lfs", "files": {"notes.txt": "second\n"}}, xet=False)
            r = srv.request("POST", "/api/models/alice/lfs/branch/dev", b"{}",
                            headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"})
            assert r.status == 200, (r.status, r.body[:300])
            before = state(srv, tok)
            assert srv.stop() == 0
            want_xet = hg.tree_hashes(xet_src)
            want_lfs = dict(hg.tree_hashes(lfs_src), **{"notes.txt": hg.sha256_bytes(b"second\n")})

            db = fresh_database(env, "migrate")
            first = migrate(env, single, db)
            assert first.returncode == 0, first.stderr
            blobs = line(first.stdout, "blobs")
            assert "copied 0," not in blobs, first.stdout
            assert "already there 0)" in line(first.stdout, "xet xorbs"), first.stdout
            catalog = f"catalog: 2 repositories, {len(before['lfs']) + len(before['xet'])} commits"
            assert line(first.stdout, "catalog") == catalog, first.stdout
            assert line(first.stdout, "tokens") == "tokens: 1", first.stdout
            assert line(first.stdout, "done")
            second = migrate(env, single, db)  # idempotent: everything is there already
            assert second.returncode == 0, second.stderr
            for kind in ("blobs", "xet xorbs", "xet shards"):
                assert "(copied 0, 0 bytes;" in line(second.stdout, kind), second.stdout
            assert line(second.stdout, "catalog") == catalog, second.stdout

            node = start_node(tmp / "node", env, ["--database", db])
            assert state(node, tok) == before
            assert download_all(node, tok, tmp / "d1", "alice/xet", xet=True) == want_xet
            assert download_all(node, tok, tmp / "d2", "alice/xet", xet=False) == want_xet
            assert download_all(node, tok, tmp / "d3", "alice/lfs", xet=False) == want_lfs
            assert download_all(node, tok, tmp / "d4", "alice/lfs", xet=True) == want_lfs
            assert node.stop() == 0
            audit = subprocess.run([hg.hubgate_bin(), "audit", "--database", db, "--kind", "repo", "--format", "json"],
                                   capture_output=True, text=True, timeout=60)
            assert audit.returncode == 0, audit.stderr
            records = json.loads(audit.stdout)
            assert {r["repo"] for r in records} >= {"alice/xet", "alice/lfs"}
            assert len(records) == len({(r["timeMs"], r["repo"], r["decision"], r["reason"]) for r in records})
    finally:
        hg.remove_tempdir(tmp)
