"""Cluster nodes for the end-to-end tests: `hubgate serve` on the engines of `services.py`
(object store always; `--database` for the PostgreSQL metadata), tokens of a cluster, and
downloads through huggingface_hub compared by hash (`make_folder` comes from xet_harness)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e_xet"))
from xet_harness import hg, hh, make_folder  # noqa: E402,F401 (make_folder: for the cluster tests)

def start_node(data: Path, env: dict[str, str], extra: list[str] | None = None):
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}
    os.environ.update({k: env[k] for k in saved})
    try:
        return hg.start_server(data, ["--store", env["HUBGATE_STORE"], "--s3-endpoint", env["HUBGATE_S3_ENDPOINT"],
                                      "--s3-addressing", "path"] + (extra or []))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def download_all(srv, tok, home: Path, repo: str, xet: bool) -> dict[str, str]:
    out = hh(srv, tok, home, "snapshot_download", {"repo": repo, "cache_dir": str(home / "cache")}, xet=xet)
    return hg.repo_hashes(out["dir"])


def create_token(database: str, name: str, write: bool = False) -> str:
    """`hubgate token create --database URL`: a token every node of the cluster accepts."""
    cmd = [hg.hubgate_bin(), "token", "create", "--database", database, "--name", name] + (["--write"] if write else [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]
