"""Signature policy at the gateway (README "Signature policy"): model folders signed here with
`hubgate sign key` and with the reference `model_signing` CLI (model-signing 1.1.1 in .venv),
pushed to an origin hubgate, read through an edge hubgate (`--upstream` = origin) whose policy
requires those signers, with the real huggingface_hub client.

Servers: origin (hosted repositories; its own policy covers `local/*` for the non-edge case) and
edge (pull-through; policy covers `signed/*`). Everything runs on 127.0.0.1 and stops at the end.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import hf_hub_download, snapshot_download
from huggingface_hub.utils import HfHubHTTPError

import hubgate_e2e as hg
from conftest import point_python_client_at

VENV_BIN = Path(sys.executable).parent


def _openssl_key(dir: Path, name: str) -> tuple[Path, Path]:
    priv, pub = dir / f"{name}.pem", dir / f"{name}.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(priv)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)], check=True,
                   capture_output=True)
    return priv, pub


def _model(folder: Path, seed: int) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"hidden_size": 8, "seed": seed}) + "\n")
    (folder / "sub" / "tokenizer.txt").write_text("a\nb\nc\n" * 50)
    hg.write_random_safetensors(folder / "model.safetensors", 300_000 + seed, seed=seed)  # LFS by pattern
    return folder


def _sign_hubgate(folder: Path, key: Path) -> None:
    r = subprocess.run([hg.hubgate_bin(), "sign", "key", str(folder), "--private-key", str(key),
                        "--signature", str(folder / "model.sig")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def _sign_reference(folder: Path, key: Path) -> None:
    exe = VENV_BIN / "model_signing"
    r = subprocess.run([str(exe), "sign", "key", str(folder), "--private_key", str(key), "--signature",
                        str(folder / "model.sig")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def _push(srv: hg.Server, token: str, folder: Path, repo: str) -> str:
    r = hg.hubgate_push(folder, repo, srv.url, token)
    assert r.returncode == 0, r.stderr
    info = srv.get(f"/api/models/{repo}/revision/main", token=token)
    assert info.status in (200, 403), info.body
    return info.header("x-repo-commit") or info.json()["sha"]


class Env:
    pass


@pytest.fixture(scope="module")
def env():
    e = Env()
    e.root = hg.make_tempdir("signing")
    keys = e.root / "keys"
    keys.mkdir()
    e.hg_key, e.hg_pub = _openssl_key(keys, "hubgate-signer")
    e.ref_key, e.ref_pub = _openssl_key(keys, "reference-signer")
    _, e.stranger_pub = _openssl_key(keys, "stranger")

    # Policies: the edge requires either signer for signed/*; the origin requires the hubgate
    # signer for local/* (the non-edge case) and lets unsigned extra files through for local/lax.
    edge_policy = keys / "edge-policy.json"
    edge_policy.write_text(json.dumps({"policies": [
        {"repos": "signed/*", "signers": [{"public_key": "hubgate-signer.pub"},
                                          {"public_key": "reference-signer.pub"}]}]}))
    origin_toml = e.root / "origin.toml"
    e.gw_key, e.gw_pub = _openssl_key(keys, "origin-gateway")
    origin_toml.write_text(
        f'[signing]\ncountersign_key = "{e.gw_key}"\n'
        "[[signing.policies]]\n"
        'repos = "local/lax"\nignore_unsigned_files = true\n'
        f'signers = [{{ public_key = "{e.hg_pub}" }}]\n'
        "[[signing.policies]]\n"
        'repos = "local/*"\n'
        f'signers = [{{ public_key = "{e.stranger_pub}" }}, {{ public_key = "{e.hg_pub}" }}]\n')

    e.origin_data = e.root / "origin"
    e.origin_data.mkdir()
    e.token = hg.create_token(e.origin_data, "signer", write=True)
    e.origin = hg.start_server(e.origin_data, ["--config", str(origin_toml)])
    e.edge = hg.start_server(e.root / "edge", ["--upstream", e.origin.url, "--signing-policy", str(edge_policy),
                                               "--ref-ttl", "0"])

    # Folders signed here, pushed to the origin.
    e.hg_model = _model(e.root / "m-hubgate", 1)
    _sign_hubgate(e.hg_model, e.hg_key)
    e.ref_model = _model(e.root / "m-reference", 2)
    _sign_reference(e.ref_model, e.ref_key)
    e.commits = {}
    e.commits["signed/hg"] = _push(e.origin, e.token, e.hg_model, "signed/hg")
    e.commits["signed/ref"] = _push(e.origin, e.token, e.ref_model, "signed/ref")
    _push(e.origin, e.token, _model(e.root / "m-unsigned", 3), "signed/unsigned")
    _push(e.origin, e.token, _model(e.root / "m-plain", 4), "plain/model")
    e.commits["local/hg"] = _push(e.origin, e.token, e.hg_model, "local/hg")
    yield e
    for srv in (e.edge, e.origin):
        rc = srv.stop()
        assert rc == 0, srv.log_text()
    hg.remove_tempdir(e.root)


def _snapshot(url: str, repo: str, dest: Path, revision: str | None = None) -> Path:
    point_python_client_at(url)
    return Path(snapshot_download(repo, revision=revision, endpoint=url, cache_dir=str(dest)))


def _expect_refused(err: pytest.ExceptionInfo, code: str, needle: str | None = None) -> None:
    # snapshot_download wraps the HTTP error of its repo_info call (raise ... from err).
    e = err.value
    while getattr(e, "response", None) is None and e.__cause__ is not None:
        e = e.__cause__
    resp = getattr(e, "response", None)
    assert resp is not None and resp.status_code == 403, (repr(err.value), repr(err.value.__cause__))
    assert resp.headers.get("X-Error-Code") == code, resp.headers
    if needle:
        assert needle in resp.headers.get("X-Error-Message", ""), resp.headers.get("X-Error-Message")


@pytest.mark.parametrize("repo,folder_attr,signer_pub", [("signed/hg", "hg_model", "hg_pub"),
                                                         ("signed/ref", "ref_model", "ref_pub")])
def test_edge_serves_signed_revision_byte_identical(env, tmp_path, repo, folder_attr, signer_pub):
    got = _snapshot(env.edge.url, repo, tmp_path / "cache")
    assert hg.repo_hashes(got) == hg.tree_hashes(getattr(env, folder_attr))  # model.sig included
    info = env.edge.get(f"/api/models/{repo}")
    assert info.status == 200
    sig = info.json()["hubgateSignature"]
    assert sig["status"] == "verified" and sig["policy"] == "signed/*" and sig["commit"] == env.commits[repo]
    assert sig["signer"], sig


def test_edge_refuses_altered_file_without_resigning(env, tmp_path):
    # A new origin commit changes one LFS file (hubgate-signed repo) and one small regular file
    # (reference-signed repo: its sha256 is known upstream only after fetching it) but keeps model.sig.
    for repo, folder, name in (("signed/hg", env.hg_model, "model.safetensors"),
                               ("signed/ref", env.ref_model, "config.json")):
        work = tmp_path / repo.replace("/", "-")
        shutil.copytree(folder, work)
        p = work / name
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0x01
        p.write_bytes(bytes(data))
        new_commit = _push(env.origin, env.token, work, repo)
        assert new_commit != env.commits[repo]
        with pytest.raises(Exception) as err:
            _snapshot(env.edge.url, repo, tmp_path / "cache-bad")
        _expect_refused(err, "SignatureInvalid", name)
        with pytest.raises(Exception) as err:
            hf_hub_download(repo, "sub/tokenizer.txt", endpoint=env.edge.url, cache_dir=str(tmp_path / "c2"))
        _expect_refused(err, "SignatureInvalid", name)
        r = env.edge.get(f"/api/models/{repo}/tree/main")
        assert r.status == 403 and r.header("x-error-code") == "SignatureInvalid"
        # The signed commit stays servable by id (verdicts are per commit).
        got = _snapshot(env.edge.url, repo, tmp_path / "cache-old", revision=env.commits[repo])
        assert hg.repo_hashes(got) == hg.tree_hashes(folder)


def test_edge_requires_signature_file(env, tmp_path):
    with pytest.raises(Exception) as err:
        _snapshot(env.edge.url, "signed/unsigned", tmp_path / "cache")
    _expect_refused(err, "SignatureRequired", "model.sig")
    r = env.edge.request("HEAD", "/signed/unsigned/resolve/main/config.json")
    assert r.status == 403 and r.header("x-error-code") == "SignatureRequired"


def test_edge_serves_uncovered_repo(env, tmp_path):
    got = _snapshot(env.edge.url, "plain/model", tmp_path / "cache")
    assert hg.repo_hashes(got) == hg.tree_hashes(env.root / "m-plain")
    sig = env.edge.get("/api/models/plain/model").json()["hubgateSignature"]
    assert sig["status"] == "not-required"


def test_local_repository_policy(env, tmp_path):
    # Verified by the origin itself (hosted repository, second signer of the rule).
    got = _snapshot(env.origin.url, "local/hg", tmp_path / "cache")
    assert hg.repo_hashes(got) == hg.tree_hashes(env.hg_model)
    sig = env.origin.get("/api/models/local/hg").json()["hubgateSignature"]
    assert sig["status"] == "verified" and sig["policy"] == "local/*"
    # Unsigned: refused on every read route.
    _push(env.origin, env.token, env.root / "m-unsigned", "local/unsigned")
    for method, path in (("GET", "/api/models/local/unsigned"), ("GET", "/api/models/local/unsigned/tree/main"),
                         ("GET", "/local/unsigned/resolve/main/config.json"),
                         ("POST", "/api/models/local/unsigned/paths-info/main")):
        r = env.origin.request(method, path, body=b"paths=config.json" if method == "POST" else None,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 403 and r.header("x-error-code") == "SignatureRequired", (path, r.status, r.body)
    # An extra unsigned file: refused by local/*, allowed by local/lax (ignore_unsigned_files).
    extra = tmp_path / "extra"
    shutil.copytree(env.hg_model, extra)
    (extra / "notes.txt").write_text("added after signing\n")
    for repo, ok in (("local/extra", False), ("local/lax", True)):
        _push(env.origin, env.token, extra, repo)
        r = env.origin.get(f"/api/models/{repo}")
        if ok:
            assert r.status == 200 and r.json()["hubgateSignature"]["status"] == "verified"
        else:
            assert r.status == 403 and r.header("x-error-code") == "SignatureInvalid"
            assert "notes.txt" in r.header("x-error-message")
            assert r.json()["hubgateSignature"]["status"] == "invalid"
    # The decisions were recorded in the audit log (src/audit/), once per commit.
    db = sqlite3.connect(f"file:{env.origin_data / 'audit.db'}?mode=ro", uri=True)
    rows = db.execute("SELECT repo, decision, reason FROM audit WHERE kind = 'signature' ORDER BY id").fetchall()
    db.close()
    by_repo = {}
    for repo, decision, reason in rows:
        by_repo.setdefault(repo, []).append((decision, reason))
    assert [d for d, _ in by_repo["local/unsigned"]] == ["SignatureRequired"], by_repo
    assert [d for d, _ in by_repo["local/extra"]] == ["SignatureInvalid"], by_repo
    assert "notes.txt" in by_repo["local/extra"][0][1]
    assert [d for d, _ in by_repo["local/hg"]] == ["serve"] and "verified" in by_repo["local/hg"][0][1]
    assert "event=signature repo=local/unsigned" in (env.root / "origin.access.log").read_text()


class _TamperingProxy:
    """Forwards every request to `origin` unchanged, except that the body of a GET for a path
    ending in `victim` gets one byte flipped (same length, same headers): metadata stays
    honest, bytes lie."""

    def __init__(self, origin_port: int, victim: str):
        import http.client
        import http.server
        import threading

        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                if "/xet-read-token/" in self.path:  # no Xet through here: the edge takes the plain bytes
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                conn = http.client.HTTPConnection("127.0.0.1", origin_port, timeout=30)
                hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                conn.close()
                if self.command == "GET" and self.path.split("?")[0].endswith(victim) and data:
                    data = bytearray(data)
                    data[len(data) // 3] ^= 0xFF
                    data = bytes(data)
                    proxy.tampered += 1
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)) if self.command != "HEAD"
                                 else r.getheader("Content-Length", "0"))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = _forward

        self.tampered = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_edge_never_serves_bytes_that_differ_from_the_signed_hashes(env, tmp_path):
    # Upstream metadata is honest (the signature verifies), the bytes are not: the fill's hash
    # check must stop them, and they must not be cached for later.
    repo = "signed/hg"
    commit = env.commits[repo]
    proxy = _TamperingProxy(env.origin.port, "model.safetensors")
    edge = hg.start_server(env.root / "edge-lied-to", ["--upstream", proxy.url, "--signing-policy",
                                                       str(env.root / "keys" / "edge-policy.json")])
    try:
        info = edge.get(f"/api/models/{repo}/revision/{commit}")
        assert info.status == 200 and info.json()["hubgateSignature"]["status"] == "verified", info.body
        ok = edge.get(f"/{repo}/resolve/{commit}/config.json")
        assert ok.status == 200 and ok.body == (env.hg_model / "config.json").read_bytes()
        expected = (env.hg_model / "model.safetensors").read_bytes()
        for _ in range(2):  # a second request must not find a (bad) cached copy
            try:
                r = edge.get(f"/{repo}/resolve/{commit}/model.safetensors")
                got = r.body
            except Exception:  # the edge ends the response early: no client takes it as complete
                got = None
            assert got is None or len(got) < len(expected), "tampered bytes were served as complete"
        assert proxy.tampered == 2  # fetched again: nothing bad was cached
        metrics = edge.get("/metrics").body.decode()
        assert re.search(r"fills_failed_total 2\b", metrics), metrics
        with pytest.raises(Exception):
            hf_hub_download(repo, "model.safetensors", revision=commit, endpoint=edge.url,
                            cache_dir=str(tmp_path / "cache"))
    finally:
        rc = edge.stop()
        proxy.close()
        assert rc == 0, edge.log_text()


def test_policy_configuration_forms_and_errors(env, tmp_path):
    # [signing] policy = FILE (relative to the TOML file) is the same policy as --signing-policy.
    conf = env.root / "keys" / "edge.toml"
    conf.write_text('[signing]\npolicy = "edge-policy.json"\n')
    srv = hg.start_server(tmp_path / "data", ["--config", str(conf), "--upstream", env.origin.url])
    try:
        r = srv.get("/api/models/signed/unsigned")
        assert r.status == 403 and r.header("x-error-code") == "SignatureRequired"
        assert srv.get("/api/models/plain/model").json()["hubgateSignature"]["status"] == "not-required"
    finally:
        assert srv.stop() == 0
    # A policy that cannot be loaded stops the server at start, naming the problem.
    bad = tmp_path / "bad.json"
    for text, needle in (('{"policies": [{"repos": "a/*", "signers": [{"public_key": "missing.pub"}]}]}',
                          "missing.pub"),
                         ('{"policies": [{"repos": "a/*", "signers": []}]}', "signers")):
        bad.write_text(text)
        r = subprocess.run([hg.hubgate_bin(), "serve", "--listen", "127.0.0.1:0", "--data-dir",
                            str(tmp_path / "d2"), "--upstream", "none", "--signing-policy", str(bad)],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and needle in r.stderr, r.stderr


def test_downstream_tier_requires_the_upstream_gateway_countersignature(env, tmp_path):
    # The origin verified local/hg under its policy and countersigned it with its gateway key.
    cs = env.origin.get("/local/hg/resolve/main/.hubgate/countersignature.sig")
    assert cs.status == 200 and cs.header("x-repo-commit") == env.commits["local/hg"], cs.body
    assert cs.header("etag") == f'"{hg.git_blob_sha1(cs.body)}"'
    assert env.origin.get("/local/hg/resolve/main/.hubgate/countersignature.sig").body == cs.body  # stable
    # The reference verifier accepts it for the revision as downloaded (model.sig included).
    point_python_client_at(env.origin.url)
    folder = tmp_path / "local-hg"
    snapshot_download("local/hg", local_dir=str(folder), endpoint=env.origin.url, cache_dir=str(tmp_path / "c0"))
    (tmp_path / "cs.sig").write_bytes(cs.body)
    r = subprocess.run([str(VENV_BIN / "model_signing"), "verify", "key", str(folder), "--signature",
                        str(tmp_path / "cs.sig"), "--public_key", str(env.gw_pub), "--ignore-paths",
                        str(folder / ".cache")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr + r.stdout
    # What the origin serves without verifying it is not countersigned.
    assert env.origin.get("/plain/model/resolve/main/.hubgate/countersignature.sig").status == 404

    # A downstream tier that trusts only the origin gateway's countersignature.
    policy = tmp_path / "downstream.json"
    policy.write_text(json.dumps({"policies": [{"repos": "*", "signature_file": ".hubgate/countersignature.sig",
                                                "signers": [{"public_key": str(env.gw_pub)}]}]}))
    down = hg.start_server(tmp_path / "down", ["--upstream", env.origin.url, "--signing-policy", str(policy)])
    try:
        got = _snapshot(down.url, "local/hg", tmp_path / "c1")
        assert hg.repo_hashes(got) == hg.tree_hashes(env.hg_model)
        sig = down.get("/api/models/local/hg").json()["hubgateSignature"]
        assert sig["status"] == "verified" and sig["signatureFile"] == ".hubgate/countersignature.sig", sig
        r = down.get("/api/models/plain/model")
        assert r.status == 403 and r.header("x-error-code") == "SignatureRequired", r.body
    finally:
        assert down.stop() == 0, down.log_text()
