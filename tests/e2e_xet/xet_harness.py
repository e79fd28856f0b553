"""Helpers for the Xet end-to-end tests: one hubgate per test module (tests/e2e/hubgate_e2e.py),
huggingface_hub calls in fresh processes (hh.py) with or without hf_xet, the npm peer, and the
server's Xet counters from /metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
import hubgate_e2e as hg  # noqa: E402

PYTHON = sys.executable


def hh(srv, token: str | None, home: Path, op: str, params: dict, xet: bool, timeout: float = 180,
       expect_failure: bool = False):
    """One huggingface_hub call against `srv`; `xet` False sets HF_HUB_DISABLE_XET=1. With
    `expect_failure`, the call must fail and its stderr is returned."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=srv.url, HF_HOME=str(home), HF_HUB_DISABLE_PROGRESS_BARS="1",
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_ETAG_TIMEOUT="30", PYTHONDONTWRITEBYTECODE="1")
    if token:
        env["HF_TOKEN"] = token
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    r = subprocess.run([PYTHON, str(HERE / "hh.py"), op, json.dumps(params)], env=env,
                       capture_output=True, text=True, timeout=timeout)
    if expect_failure:
        assert r.returncode != 0, f"hh {op} succeeded but should have failed: {r.stdout}"
        return r.stderr
    if r.returncode != 0:
        raise AssertionError(f"hh {op} failed ({r.returncode})\nstdout: {r.stdout[-3000:]}\n"
                             f"stderr: {r.stderr[-6000:]}\nserver log:\n{srv.log_text()}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["xet_available"] == xet, f"hf_xet availability {out['xet_available']} != {xet}"
    return out


def metrics(srv) -> dict[str, float]:
    """The hubgate_xet_* samples of /metrics, keyed by name plus labels."""
    r = srv.get("/metrics")
    assert r.status == 200
    out = {}
    for line in r.body.decode().splitlines():
        m = re.match(r"^(hubgate_xet_[a-z_]+(?:\{[^}]*\})?) ([0-9.eE+-]+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def delta(before: dict, after: dict, key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def xet_stats(srv) -> dict:
    """`hubgate xet stats --json` of the server's data dir."""
    r = subprocess.run([hg.hubgate_bin(), "xet", "stats", "--data-dir", str(srv.data_dir), "--json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def make_folder(root: Path, files: dict[str, int | str], seed: int = 1) -> Path:
    """A folder of test files: an int is that many random bytes (seeded), a str the file's text."""
    root.mkdir(parents=True, exist_ok=True)
    for i, (name, spec) in enumerate(files.items()):
        if isinstance(spec, int):
            hg.write_random(root / name, spec, seed + i)
        else:
            (root / name).write_text(spec)
    return root
