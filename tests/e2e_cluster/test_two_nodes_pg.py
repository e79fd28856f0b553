"""Two `hubgate serve` nodes sharing one SeaweedFS and one PostgreSQL (`--database`): an upload
through node 1 (huggingface_hub with hf_xet and with LFS, @huggingface/hub) downloads
byte-identical through node 2; two commits to one
branch with the same parent, one per node, at once: exactly one wins, the other is a 412 the
client reports, and nothing is lost; PostgreSQL restarted under load: 503 with X-Error-Code
meanwhile, every request answered again after, no acknowledged commit lost."""

from __future__ import annotations

import base64
import subprocess
import json
import sys
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cluster_harness import create_token, download_all, make_folder, start_node  # noqa: E402
from services import fresh_database, restart_postgres, services  # noqa: E402
from xet_harness import hg, hh  # noqa: E402

MB = 1000 * 1000


@pytest.fixture(scope="module")
def cluster():
    tmp = hg.make_tempdir("cluster-pg")
    with services(tmp) as env:
        db = fresh_database(env, "twonodes")
        nodes = [start_node(tmp / f"n{i}", env, ["--database", db]) for i in (1, 2)]
        tok = create_token(db, "alice", write=True)
        yield nodes, tok, env, tmp
        for n in nodes:
            assert n.stop() == 0
    hg.remove_tempdir(tmp)


def head(srv, repo: str) -> str:
    r = srv.get(f"/api/models/{repo}/revision/main")
    assert r.status == 200, (r.status, r.body[:300])
    return r.json()["sha"]


def history(srv, repo: str) -> list[str]:
    r = srv.get(f"/api/models/{repo}/commits/main?limit=1000")
    assert r.status == 200, (r.status, r.body[:300])
    return [c["id"] for c in r.json()]


def test_upload_through_one_node_downloads_identical_through_the_other(cluster):
    (n1, n2), tok, _, tmp = cluster
    xet_src = make_folder(tmp / "src-xet", {"model.bin": 4 * MB + 7, "config.json": '{"a": 1}\n'}, seed=41)
    lfs_src = make_folder(tmp / "src-lfs", {"weights.bin": 3 * MB + 3, "README.md": "# two nodes\n"}, seed=51)
    hh(n1, tok, tmp / "h1", "create_repo", {"repo": "alice/xet"}, xet=True)
    hh(n1, tok, tmp / "h1", "upload_folder", {"repo": "alice/xet", "folder": str(xet_src)}, xet=True)
    hh(n1, tok, tmp / "h2", "create_repo", {"repo": "alice/lfs"}, xet=False)
    hh(n1, tok, tmp / "h2", "upload_folder", {"repo": "alice/lfs", "folder": str(lfs_src)}, xet=False)
    assert head(n2, "alice/xet") == head(n1, "alice/xet")
    want_xet, want_lfs = hg.tree_hashes(xet_src), hg.tree_hashes(lfs_src)
    assert download_all(n2, tok, tmp / "d1", "alice/xet", xet=True) == want_xet
    assert download_all(n2, tok, tmp / "d2", "alice/xet", xet=False) == want_xet
    assert download_all(n2, tok, tmp / "d3", "alice/lfs", xet=False) == want_lfs
    assert download_all(n2, tok, tmp / "d4", "alice/lfs", xet=True) == want_lfs


def test_npm_client_upload_through_one_node_downloads_through_the_other(cluster):
    (n1, n2), tok, _, tmp = cluster
    folder = make_folder(tmp / "src-js", {"weights.bin": 3 * MB + 9, "notes.txt": "js\n"}, seed=81)
    hg.run_node("createRepo", {"hubUrl": n1.url, "accessToken": tok, "repo": "alice/js"})
    hg.run_node("uploadFolder", {"hubUrl": n1.url, "accessToken": tok, "repo": "alice/js", "folder": str(folder)})
    for path in ("weights.bin", "notes.txt"):
        r = hg.run_node("downloadFileToCacheDir", {"hubUrl": n2.url, "accessToken": tok, "repo": "alice/js",
                                                    "path": path, "cacheDir": str(tmp / "jc")})
        assert hg.sha256_file(r["file"]) == hg.sha256_file(folder / path)
    assert download_all(n2, tok, tmp / "d5", "alice/js", xet=True) == hg.tree_hashes(folder)


def test_concurrent_commits_from_two_nodes_one_wins_one_conflict(cluster):
    (n1, n2), tok, _, tmp = cluster
    repo = "alice/race"
    hh(n1, tok, tmp / "r0", "create_repo", {"repo": repo}, xet=False)
    base = hh(n2, tok, tmp / "r0", "create_commit", {"repo": repo, "files": {"base.txt": "base\n"}}, xet=False)
    assert "commit" in base, base
    for round_ in range(3):
        parent = head(n1, repo)
        results: list[dict] = [{}, {}]
        start = threading.Barrier(2)

        def commit(i: int, srv) -> None:
            start.wait()
            results[i] = hh(srv, tok, tmp / f"r{round_}{i}", "create_commit",
                            {"repo": repo, "files": {f"node{i}.txt": f"round {round_} node {i}\n"},
                             "parent_commit": parent}, xet=False)

        ts = [threading.Thread(target=commit, args=(i, srv)) for i, srv in enumerate((n1, n2))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        won = [r for r in results if "commit" in r]
        lost = [r for r in results if "http_status" in r]
        assert len(won) == 1 and len(lost) == 1, results
        assert lost[0]["http_status"] == 412, lost[0]
        assert head(n1, repo) == head(n2, repo) == won[0]["commit"]
        # The loser retries on the new head: both commits are kept.
        retry = hh(n2, tok, tmp / "rr", "create_commit",
                   {"repo": repo, "files": {f"retry{round_}.txt": "again\n"}, "parent_commit": won[0]["commit"]},
                   xet=False)
        assert "commit" in retry, retry
    ids = history(n2, repo)
    assert len(ids) == 2 + 3 * 2  # the repository's first commit, base, then a winner and a retry per round
    assert ids == history(n1, repo)


def raw_commit(srv, tok: str, repo: str, path: str, text: str):
    lines = [{"key": "header", "value": {"summary": f"add {path}", "description": ""}},
             {"key": "file", "value": {"path": path, "encoding": "base64",
                                       "content": base64.b64encode(text.encode()).decode()}}]
    body = "\n".join(json.dumps(x) for x in lines).encode()
    return srv.request("POST", f"/api/models/{repo}/commit/main", body,
                       headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/x-ndjson"})


def test_postgres_restart_under_load_gives_503_then_recovers():
    """Engines of its own: restarting the shared PostgreSQL would disturb the other tests."""
    tmp = hg.make_tempdir("cluster-pg-restart")
    own = tmp / "services"
    svc = HERE.parents[1] / "scripts" / "services.sh"
    subprocess.run([str(svc), "start", str(own)], check=True, capture_output=True, timeout=600)
    try:
        env = {k: v for k, v in (l.split("=", 1) for l in (own / "env").read_text().splitlines() if "=" in l)}
        env["HUBGATE_SERVICES_DIR"] = str(own)
        db = env["HUBGATE_DATABASE_URL"]
        nodes = [start_node(tmp / f"n{i}", env, ["--database", db]) for i in (1, 2)]
        tok = create_token(db, "alice", write=True)
        repo = "alice/load"
        r = nodes[0].request("POST", "/api/repos/create", json.dumps({"name": "load", "organization": "alice"}).encode(),
                             headers={"Authorization": f"Bearer {tok}", "Content-Type": "application/json"})
        assert r.status == 200, (r.status, r.body[:300])
        acked: list[str] = []
        statuses: dict[int, int] = {}
        bad: list[tuple[int, str]] = []
        stop = threading.Event()

        def load(k: int) -> None:
            n = 0
            while not stop.is_set():
                srv = nodes[(k + n) % 2]
                if k == 0:  # commits, alternating nodes
                    resp = raw_commit(srv, tok, repo, f"f{n}.txt", f"file {n}\n")
                    if resp.status == 200:
                        acked.append(resp.json()["commitOid"])
                else:  # metadata reads
                    resp = srv.get(f"/api/models/{repo}/revision/main", token=tok)
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                if resp.status == 503 and not resp.header("X-Error-Code"):
                    bad.append((resp.status, "503 without X-Error-Code"))
                elif resp.status not in (200, 503):
                    bad.append((resp.status, resp.body[:200].decode(errors="replace")))
                n += 1
                time.sleep(0.02)

        ts = [threading.Thread(target=load, args=(k,)) for k in range(3)]
        for t in ts:
            t.start()
        time.sleep(1.0)
        restart_postgres(env, 3.0)
        # Every node answers again once the database is back.
        deadline = time.monotonic() + 60
        for srv in nodes:
            while srv.get(f"/api/models/{repo}/revision/main", token=tok).status != 200:
                assert time.monotonic() < deadline, "no recovery after the restart"
                time.sleep(0.1)
        time.sleep(1.0)
        stop.set()
        for t in ts:
            t.join()
        assert not bad, bad[:5]
        assert statuses.get(503, 0) >= 1, statuses
        after = raw_commit(nodes[1], tok, repo, "after.txt", "after\n")
        assert after.status == 200, (after.status, after.body[:300])
        ids = set(history(nodes[0], repo))
        missing = [c for c in acked if c not in ids]
        assert not missing, missing
        for srv in nodes:
            assert srv.stop() == 0
    finally:
        subprocess.run([str(svc), "clean", str(own)], check=False, timeout=120)
        hg.remove_tempdir(tmp)
