"""The security gate end to end: real `hubgate serve` processes on loopback, huggingface_hub and
curl as clients, files from the scan corpus generators (tests/scan/corpus/gen_pickle.py,
gen_safetensors.py).

- a malicious pickle pushed to a local repository is refused (403 BlockedBySecurityPolicy naming
  the finding) and no commit is created, through the LFS PUT and through an inline NDJSON file;
- a benign repository flows through untouched; paths-info/tree carry securityFileStatus;
- a suspicious file is served with X-Hubgate-Security; a per-repository exception lets a
  dangerous file through, and the audit log (CLI and admin endpoint) records it;
- an edge pulling from an origin hubgate that holds a malicious file (origin started with
  --gate off) never serves it — its first client gets the same 403 as later ones — and
  `hubgate audit` on the edge says why.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hubgate_e2e as hg

CORPUS = Path(__file__).resolve().parents[1] / "scan" / "corpus"
EVIL = "os_system_p2.pkl"        # malicious/: os.system (pickled as posix.system) via REDUCE
BENIGN = "plain_counter_p2.pkl"  # benign/: collections.Counter


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    for gen in ("gen_pickle.py", "gen_safetensors.py"):
        r = subprocess.run([sys.executable, str(CORPUS / gen), str(out)], cwd=CORPUS, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, f"{gen} failed: {r.stderr}"
    # A suspicious pickle: a call to a global no list knows (built with the corpus' opcode helpers).
    sys.path.insert(0, str(CORPUS))
    from _common import PROTO2, call1  # noqa: E402
    (out / "suspicious.pkl").write_bytes(PROTO2 + call1("acme_internal.loader", "build", "cfg") + b".")
    return out


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("gatehub")
    data = root / "data"
    data.mkdir()
    tokens = {
        "admin": hg.create_token(data, "root", write=True),
        "writer": hg.create_token(data, "writer", write=True, repos="e2e/*,research/*"),
    }
    srv = hg.start_server(data, ["--gate-allow", "research/*=red-team corpus", "--admin-tokens", "root"])
    yield srv, tokens
    assert srv.stop() == 0, srv.log_text()


def api(srv, token):
    from huggingface_hub import HfApi
    return HfApi(endpoint=srv.url, token=token)


def audit(data_dir: Path, *args: str) -> list[dict]:
    r = subprocess.run([hg.hubgate_bin(), "audit", "--data-dir", str(data_dir), "--format", "json", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def head_commit(a, repo: str) -> str:
    return a.repo_info(repo).sha


def test_malicious_lfs_upload_is_refused_and_no_commit(hub, corpus):
    from huggingface_hub.utils import HfHubHTTPError
    srv, tok = hub
    a = api(srv, tok["writer"])
    a.create_repo("e2e/evil")
    before = head_commit(a, "e2e/evil")
    with pytest.raises(RuntimeError) as ei:  # HH wraps the PUT's HfHubHTTPError
        a.upload_file(path_or_fileobj=str(corpus / "malicious" / EVIL), path_in_repo="model.pkl",
                      repo_id="e2e/evil")
    err = ei.value.__cause__
    assert isinstance(err, HfHubHTTPError), repr(ei.value)
    assert err.response.status_code == 403
    assert err.response.headers.get("X-Error-Code") == "BlockedBySecurityPolicy"
    msg = err.response.headers.get("X-Error-Message", "")
    assert "blocked by security policy: dangerous" in msg and "posix.system" in msg, msg
    assert "blocked by security policy" in str(err)
    assert head_commit(a, "e2e/evil") == before
    assert "model.pkl" not in a.list_repo_files("e2e/evil")
    # The content never entered the store.
    sha = hg.sha256_file(corpus / "malicious" / EVIL)
    assert not (srv.data_dir / "store" / "sha256" / sha[:2] / sha[2:4] / sha).exists()
    blocks = [r for r in audit(srv.data_dir, "--kind", "block") if r["sha256"] == sha]
    assert blocks and "posix.system" in blocks[-1]["reason"] and blocks[-1]["repo"] == "e2e/evil"


def test_malicious_inline_commit_file_is_refused(hub, corpus):
    srv, tok = hub
    a = api(srv, tok["writer"])
    a.create_repo("e2e/inline")
    before = head_commit(a, "e2e/inline")
    evil = (corpus / "malicious" / EVIL).read_bytes()
    body = "\n".join(json.dumps(x) for x in [
        {"key": "header", "value": {"summary": "sneak a pickle in inline"}},
        {"key": "file", "value": {"path": "notes.txt", "content": base64.b64encode(b"hi\n").decode(), "encoding": "base64"}},
        {"key": "file", "value": {"path": "inline.pkl", "content": base64.b64encode(evil).decode(), "encoding": "base64"}},
    ]).encode() + b"\n"
    r = srv.request("POST", "/api/models/e2e/inline/commit/main", body=body,
                    headers={"Authorization": f"Bearer {tok['writer']}", "Content-Type": "application/x-ndjson"})
    assert r.status == 403, r.body
    assert r.header("X-Error-Code") == "BlockedBySecurityPolicy"
    assert "inline.pkl" in r.header("X-Error-Message") and "posix.system" in r.header("X-Error-Message")
    assert "blocked by security policy" in r.json()["error"]
    assert head_commit(a, "e2e/inline") == before
    assert sorted(a.list_repo_files("e2e/inline")) == [".gitattributes"]


XET_UPLOAD = """
import os, sys
from huggingface_hub import HfApi
a = HfApi(endpoint=sys.argv[1], token=sys.argv[2])
try:
    a.upload_file(path_or_fileobj=sys.argv[3], path_in_repo="model.pkl", repo_id="e2e/xetevil")
    print("UPLOADED")
except Exception as e:
    while e.__cause__ is not None and getattr(e, "response", None) is None:
        e = e.__cause__
    r = getattr(e, "response", None)
    print("REFUSED", r.status_code if r is not None else None, r.headers.get("X-Error-Code") if r is not None else None)
"""


def test_malicious_xet_upload_is_refused_and_no_commit(hub, corpus, tmp_path):
    # huggingface_hub with hf_xet (its default): xorbs and shards go to the CAS, the commit names
    # the file by sha256; the gate scans it when the commit lands and refuses the commit.
    srv, tok = hub
    a = api(srv, tok["writer"])
    a.create_repo("e2e/xetevil")
    before = head_commit(a, "e2e/xetevil")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_XET"}
    env["HF_HOME"] = str(tmp_path / "hf")
    r = subprocess.run([sys.executable, "-c", XET_UPLOAD, srv.url, tok["writer"], str(corpus / "malicious" / EVIL)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.stdout.split()[:3] == ["REFUSED", "403", "BlockedBySecurityPolicy"], (r.stdout, r.stderr[-2000:])
    assert head_commit(a, "e2e/xetevil") == before
    assert "model.pkl" not in a.list_repo_files("e2e/xetevil")
    # It really went through Xet (the CAS saw the upload), not LFS basic.
    assert "cas" in srv.access_log.read_text()


def test_benign_repo_flows_through_with_security_status(hub, corpus, tmp_path):
    from huggingface_hub import hf_hub_download
    srv, tok = hub
    a = api(srv, tok["writer"])
    a.create_repo("e2e/good")
    folder = tmp_path / "good"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}\n')
    (folder / "counter.pkl").write_bytes((corpus / "benign" / BENIGN).read_bytes())
    (folder / "model.safetensors").write_bytes((corpus / "benign" / "st_basic.safetensors").read_bytes())
    a.upload_folder(folder_path=str(folder), repo_id="e2e/good")
    for name in ("config.json", "counter.pkl", "model.safetensors"):
        got = hf_hub_download("e2e/good", name, endpoint=srv.url, token=tok["writer"], cache_dir=tmp_path / "c")
        assert hg.sha256_file(got) == hg.sha256_file(folder / name)
        r = srv.get(f"/e2e/good/resolve/main/{name}", token=tok["writer"])
        assert r.status == 200 and r.body == (folder / name).read_bytes()
        assert r.header("X-Hubgate-Security") is None
    infos = {i.path: i for i in a.get_paths_info("e2e/good", ["counter.pkl", "model.safetensors", "config.json"],
                                                 expand=True)}
    assert infos["counter.pkl"].security["status"] == "safe"
    imports = infos["counter.pkl"].security["pickle_import_scan"]["imports"]
    assert {"module": "collections", "name": "Counter", "safety": "innocuous"} in imports
    assert infos["model.safetensors"].security["status"] == "safe"
    assert infos["model.safetensors"].security["pickle_import_scan"] is None
    tree = {e.path: e for e in a.list_repo_tree("e2e/good", expand=True)}
    assert tree["counter.pkl"].security["status"] == "safe"
    assert tree["config.json"].security["av_scan"]["virusFound"] is False
    # Without expand, no securityFileStatus (as the Hub).
    assert all(getattr(e, "security", None) is None for e in a.list_repo_tree("e2e/good"))


def test_suspicious_file_is_served_with_warning(hub, corpus, tmp_path):
    from huggingface_hub import hf_hub_download
    srv, tok = hub
    a = api(srv, tok["writer"])
    a.create_repo("e2e/odd")
    a.upload_file(path_or_fileobj=str(corpus / "suspicious.pkl"), path_in_repo="odd.pkl", repo_id="e2e/odd")
    r = srv.get("/e2e/odd/resolve/main/odd.pkl", token=tok["writer"])
    assert r.status == 200 and r.body == (corpus / "suspicious.pkl").read_bytes()
    assert r.header("X-Hubgate-Security").startswith("suspicious; pickle."), r.header("X-Hubgate-Security")
    got = hf_hub_download("e2e/odd", "odd.pkl", endpoint=srv.url, token=tok["writer"], cache_dir=tmp_path / "c")
    assert Path(got).read_bytes() == (corpus / "suspicious.pkl").read_bytes()
    [info] = a.get_paths_info("e2e/odd", ["odd.pkl"], expand=True)
    assert info.security["status"] == "suspicious"
    assert info.security["pickle_import_scan"]["imports"] == [
        {"module": "acme_internal.loader", "name": "build", "safety": "suspicious"}]
    warns = audit(srv.data_dir, "--kind", "warn", "--repo", "e2e/odd")
    assert warns and warns[-1]["decision"] == "served-with-warning" and warns[-1]["path"] == "odd.pkl"


def test_repo_exception_lets_it_through_and_is_audited(hub, corpus):
    srv, tok = hub
    a = api(srv, tok["writer"])
    a.create_repo("research/evil")
    a.upload_file(path_or_fileobj=str(corpus / "malicious" / EVIL), path_in_repo="evil.pkl", repo_id="research/evil")
    r = srv.get("/research/evil/resolve/main/evil.pkl", token=tok["writer"])
    assert r.status == 200 and r.body == (corpus / "malicious" / EVIL).read_bytes()
    assert "allowed by exception: red-team corpus" in r.header("X-Hubgate-Security")
    recs = audit(srv.data_dir, "--repo", "research/*", "--kind", "exception")
    assert len(recs) >= 2  # the upload PUT, the commit, the download: every use is recorded
    assert all("red-team corpus" in x["reason"] for x in recs)
    assert any(x["path"] == "evil.pkl" and x["client"] == "writer" for x in recs)
    # The same content stays blocked for a repository without the exception.
    a.create_repo("e2e/copy")
    body = "\n".join(json.dumps(x) for x in [
        {"key": "header", "value": {"summary": "copy"}},
        {"key": "lfsFile", "value": {"path": "evil.pkl", "algo": "sha256",
                                     "oid": hg.sha256_file(corpus / "malicious" / EVIL),
                                     "size": (corpus / "malicious" / EVIL).stat().st_size}},
    ]).encode() + b"\n"
    r = srv.request("POST", "/api/models/e2e/copy/commit/main", body=body,
                    headers={"Authorization": f"Bearer {tok['writer']}", "Content-Type": "application/x-ndjson"})
    assert r.status == 403 and r.header("X-Error-Code") == "BlockedBySecurityPolicy"


def test_admin_audit_endpoint(hub, corpus):
    srv, tok = hub
    r = srv.get("/api/admin/audit?kind=block", token=tok["admin"])
    assert r.status == 200
    recs = r.json()
    assert recs and all(x["kind"] == "block" for x in recs)
    assert recs == audit(srv.data_dir, "--kind", "block")
    assert srv.get("/api/admin/audit", token=tok["writer"]).status == 403
    assert srv.get("/api/admin/audit").status == 401
    assert srv.get("/api/admin/audit?since=yesterday", token=tok["admin"]).status == 400


def test_edge_never_serves_malicious_file_from_origin(corpus, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download
    odata = tmp_path / "origin"
    odata.mkdir()
    otok = hg.create_token(odata, "pub", write=True)
    origin = hg.start_server(odata, ["--gate", "off"])
    edata = tmp_path / "edge"
    edge = None
    try:
        oa = HfApi(endpoint=origin.url, token=otok)
        oa.create_repo("up/mixed")
        folder = tmp_path / "mixed"
        folder.mkdir()
        (folder / "evil.pkl").write_bytes((corpus / "malicious" / EVIL).read_bytes())
        (folder / "model.safetensors").write_bytes((corpus / "benign" / "st_basic.safetensors").read_bytes())
        (folder / "counter.pkl").write_bytes((corpus / "benign" / BENIGN).read_bytes())
        (folder / "eval.pkl").write_bytes((corpus / "malicious" / "builtins_eval.pkl").read_bytes())
        oa.upload_folder(folder_path=str(folder), repo_id="up/mixed")  # the origin's gate is off
        edge = hg.start_server(edata, ["--upstream", origin.url])
        evil_sha = hg.sha256_file(folder / "evil.pkl")
        # A cold malicious pickle: the edge holds the response head until the verdict (a small
        # file), so the first client gets the same 403 as every later one and no byte of it.
        out = tmp_path / "cold.out"
        r = subprocess.run(["curl", "-sS", "-D", "-", "-o", str(out), "-w", "%{http_code}", "--max-time", "60",
                            f"{edge.url}/up/mixed/resolve/main/eval.pkl"], capture_output=True, text=True, timeout=90)
        assert r.returncode == 0 and r.stdout.endswith("403"), (r.returncode, r.stdout, r.stderr)
        assert "x-error-code: blockedbysecuritypolicy" in r.stdout.lower(), r.stdout
        assert b"blocked by security policy" in out.read_bytes()
        assert edge.request("GET", "/up/mixed/resolve/main/eval.pkl").status == 403
        # huggingface_hub through the edge, also cold: the download fails with the refusal that
        # names the rule; nothing lands in its cache.
        from huggingface_hub.utils import HfHubHTTPError
        with pytest.raises(HfHubHTTPError) as err:
            hf_hub_download("up/mixed", "evil.pkl", endpoint=edge.url, cache_dir=tmp_path / "hc")
        assert err.value.response.status_code == 403
        assert err.value.response.headers.get("X-Error-Code") == "BlockedBySecurityPolicy"
        assert "posix.system" in str(err.value), str(err.value)
        assert not list((tmp_path / "hc").rglob("evil.pkl"))
        # Once the verdict is known every request is refused before any byte.
        for method in ("GET", "HEAD"):
            r = edge.request(method, "/up/mixed/resolve/main/evil.pkl")
            assert r.status == 403, (method, r.status)
            assert r.header("X-Error-Code") == "BlockedBySecurityPolicy"
            assert "posix.system" in r.header("X-Error-Message")
            assert r.header("X-Repo-Commit")
        status, _ = hg.curl(f"{edge.url}/up/mixed/resolve/main/evil.pkl", tmp_path / "curl.out")
        assert status == 403 and b"blocked by security policy" in (tmp_path / "curl.out").read_bytes()
        # Never published into the edge's cache.
        assert not [p for p in (edata / "upstream").rglob("*") if evil_sha in p.name]
        # Benign files of the same repository flow through (safetensors streams, pickles are held).
        for name in ("model.safetensors", "counter.pkl"):
            got = hf_hub_download("up/mixed", name, endpoint=edge.url, cache_dir=tmp_path / "hc")
            assert hg.sha256_file(got) == hg.sha256_file(folder / name)
        # The edge's own verdicts show in expanded paths-info/tree answers (the origin's gate is off).
        ea = HfApi(endpoint=edge.url)
        infos = {i.path: i for i in ea.get_paths_info("up/mixed", ["evil.pkl", "counter.pkl"], expand=True)}
        assert infos["evil.pkl"].security["status"] == "dangerous"
        assert infos["counter.pkl"].security["status"] == "safe"
        assert {e.path: e.security["status"] for e in ea.list_repo_tree("up/mixed", expand=True)
                if e.path in ("evil.pkl", "eval.pkl")} == {"evil.pkl": "dangerous", "eval.pkl": "dangerous"}
        # The edge's audit log says why.
        r = subprocess.run([hg.hubgate_bin(), "audit", "--data-dir", str(edata), "--repo", "up/mixed"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        lines = [ln.split("\t") for ln in r.stdout.splitlines()]
        blocks = [ln for ln in lines if ln[1] == "block" and ln[6] == evil_sha]
        assert blocks and "posix.system" in blocks[0][9] and blocks[0][5] == "evil.pkl", r.stdout
        scans = [ln for ln in lines if ln[1] == "scan" and ln[6] == evil_sha]
        assert len(scans) == 1 and scans[0][2] == "dangerous"
    finally:
        if edge:
            assert edge.stop() == 0, edge.log_text()
        assert origin.stop() == 0, origin.log_text()
