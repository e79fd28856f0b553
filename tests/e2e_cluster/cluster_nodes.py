"""Several `hubgate serve` edge nodes in cluster mode (`--store s3://… --database … --advertise`)
in front of the fake upstream (tests/upstream/fake_upstream.py, which counts the bodies it
sends), plus the clients and looks the cluster tests and bench/cluster share: `curl | sha256sum`
clients started together, `hubgate cluster status --format json`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e_upstream"))
import harness  # noqa: E402

SECRET = "e2e-cluster-secret-0123456789"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def use_store_credentials(env: dict[str, str]) -> None:
    """hubgate reads the object store's credentials from the environment."""
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        os.environ[k] = env[k]


def start_node(data: Path, env: dict[str, str], upstream_url: str, lease_ttl: float = 10,
               extra: list[str] | None = None, port: int | None = None, cluster: bool = True) -> harness.Hubgate:
    """One edge node on the shared store; `cluster` False leaves out --database/--advertise (a
    node that fills on its own, the baseline of bench/cluster)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    coordination = ["--database", env["HUBGATE_DATABASE_URL"], "--advertise", url, "--cluster-secret", SECRET,
                    "--lease-ttl", str(lease_ttl)] if cluster else []
    node = harness.Hubgate(str(data), upstream=upstream_url, extra=[
        "--listen", f"127.0.0.1:{port}", "--store", env["HUBGATE_STORE"],
        "--s3-endpoint", env["HUBGATE_S3_ENDPOINT"], "--s3-addressing", "path",
        *coordination, "--gate", "off", *(extra or [])])
    assert node.url == url
    return node


def status(env: dict[str, str]) -> dict:
    r = harness.run_hubgate("cluster", "status", "--database", env["HUBGATE_DATABASE_URL"], "--format", "json")
    return json.loads(r.stdout)


def start_clients(url: str, n: int) -> list[subprocess.Popen]:
    """n `curl | sha256sum` downloads of `url`, running; see finish_clients."""
    cmd = f"set -o pipefail; curl -sS -f --max-time 600 '{url}' | sha256sum"
    return [subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(n)]


def finish_clients(procs: list[subprocess.Popen]) -> list[str | None]:
    """The sha256 each client's bytes hash to, or None when its download failed."""
    out = []
    for p in procs:
        so, _ = p.communicate(timeout=900)
        out.append(so.split()[0] if p.returncode == 0 and so else None)
    return out


def kill9(node: harness.Hubgate) -> None:
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait()
    node.err.close()
