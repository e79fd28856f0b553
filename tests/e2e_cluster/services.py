"""The engines of cluster mode for end-to-end tests: the ones the ctest fixture `services`
started (HUBGATE_SERVICES_ENV names their env file), else a private set started here with
scripts/services.sh and removed afterwards. Also a signed S3 listing through curl (its own
SigV4), to check what the gateway stored in the object store."""

from __future__ import annotations

import os
import subprocess
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "scripts" / "services.sh"
EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def read_env(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        k, _, v = line.partition("=")
        if k:
            out[k] = v
    return out


@contextmanager
def services(tmp: Path):
    """Yields the env dict (HUBGATE_STORE is given a fresh prefix of its own; HUBGATE_SERVICES_DIR
    names the engines' folder)."""
    shared = os.environ.get("HUBGATE_SERVICES_ENV")
    own = None
    if shared:
        env = read_env(Path(shared))
        env["HUBGATE_SERVICES_DIR"] = str(Path(shared).parent)
    else:
        own = tmp / "services"
        subprocess.run([str(SERVICES), "start", str(own)], check=True, capture_output=True, timeout=1800)
        env = read_env(own / "env")
        env["HUBGATE_SERVICES_DIR"] = str(own)
    env["HUBGATE_STORE"] = env["HUBGATE_STORE"].rstrip("/") + "/e2e-" + uuid.uuid4().hex[:12]
    try:
        yield env
    finally:
        if own:
            subprocess.run([str(SERVICES), "clean", str(own)], check=False, timeout=120)


def s3_keys(env: dict[str, str], sub_prefix: str) -> list[str]:
    """Every key under HUBGATE_STORE/<sub_prefix>, relative to HUBGATE_STORE."""
    bucket, _, prefix = env["HUBGATE_STORE"][len("s3://"):].partition("/")
    full = f"{prefix}/{sub_prefix}" if prefix else sub_prefix
    keys, token = [], None
    while True:
        query = (f"continuation-token={quote(token, safe='')}&" if token else "") + \
            f"list-type=2&prefix={quote(full, safe='')}"
        r = subprocess.run(["curl", "-sS", "-f", "--aws-sigv4", f"aws:amz:{env['AWS_REGION']}:s3",
                            "--user", f"{env['AWS_ACCESS_KEY_ID']}:{env['AWS_SECRET_ACCESS_KEY']}",
                            "-H", f"x-amz-content-sha256: {EMPTY_SHA}",
                            f"{env['HUBGATE_S3_ENDPOINT']}/{bucket}?{query}"],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        root = ET.fromstring(r.stdout)
        ns = {"s": root.tag.split("}")[0].strip("{")} if root.tag.startswith("{") else {}
        find = (lambda e, t: e.findall(f"s:{t}", ns)) if ns else (lambda e, t: e.findall(t))
        for c in find(root, "Contents"):
            k = find(c, "Key")[0].text
            keys.append(k[len(prefix) + 1:] if prefix else k)
        trunc = find(root, "IsTruncated")
        if not trunc or trunc[0].text != "true":
            return keys
        token = find(root, "NextContinuationToken")[0].text


PSQL = "/usr/lib/postgresql/15/bin/psql"


def fresh_database(env: dict[str, str], tag: str) -> str:
    """A new empty PostgreSQL database on the engines of `env`; returns its URL (libpq URI)."""
    base = env["HUBGATE_DATABASE_URL"]
    name = f"hubgate_e2e_{tag}_{uuid.uuid4().hex[:8]}"
    subprocess.run([PSQL, base, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"], check=True,
                   capture_output=True, timeout=60)
    return base[:base.rfind("/") + 1] + name


def restart_postgres(env: dict[str, str], down_seconds: float = 2.0) -> None:
    """Stops PostgreSQL only, keeps it down `down_seconds`, starts it again (same port, same data)."""
    subprocess.run([str(SERVICES), "restart-postgres", env["HUBGATE_SERVICES_DIR"], str(down_seconds)], check=True,
                   capture_output=True, timeout=180)
