"""huggingface_hub's command line (`hf`, pinned huggingface_hub 0.36 in .venv) against hubgate,
configured only by environment: HF_ENDPOINT, HF_TOKEN, a fresh HF_HOME.

`hf upload REPO FOLDER` creates the repository and commits a folder (text, a small binary, a
>10 MiB binary, nested and non-ASCII paths); `hf download REPO --local-dir D` gets it back, bytes
equal. Once over plain HTTP + LFS (HF_HUB_DISABLE_XET=1) and once with hf_xet (pinned in
tests/e2e_xet/requirements.txt; Xet CAS both ways); the server's access log shows which transfer
each took.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hubgate_e2e as hg

HF = Path(sys.executable).parent / "hf"  # the venv's, beside the python running pytest


def hf(args: list[str], env_extra: dict[str, str], home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update({"HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_HUB_DISABLE_PROGRESS_BARS": "1"}, **env_extra)
    cmd = [str(HF) if HF.exists() else "hf", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert r.returncode == 0, f"{' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr[-6000:]}"
    return r


def make_folder(root: Path, seed: int) -> Path:
    """Its own random bytes per test, so that no chunk is already on the server (no dedup)."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "README.md").write_text("# uploaded by `hf upload`\n")
    (root / "config.json").write_text('{"hidden_size": 8, "name": "hf-cli"}\n')
    (root / "sub" / "deeper" / "unicode-é.txt").write_text("héllo wörld\n")
    hg.write_random(root / "sub" / "small.bin", 300_000 + 3, seed=seed)
    hg.write_random(root / "weights.bin", 12 * 1024 * 1024 + 5, seed=seed + 1)
    return root


def routes(log: Path) -> list[str]:
    return re.findall(r"route=(\S+)", log.read_text(errors="replace"))


def resolve_gets(log: Path, repo: str, name: str) -> int:
    """GETs of a file's resolve URL that the server answered with its bytes."""
    pat = re.compile(r"method=GET path=/" + re.escape(repo) + r"/resolve/[0-9a-f]{40}/"
                     + re.escape(name) + r" status=20[06] ")
    return sum(1 for line in log.read_text(errors="replace").splitlines() if pat.search(line))


def count(seq: list[str], name: str) -> int:
    return sum(1 for x in seq if x == name)


@pytest.mark.parametrize("xet", [False, True], ids=["lfs", "xet"])
def test_upload_then_download_bytes_equal(hub, tmp_path, xet):
    folder = make_folder(tmp_path / "src", seed=20 if xet else 10)
    repo = f"e2e/hf-cli-{'xet' if xet else 'lfs'}"
    transfer = {} if xet else {"HF_HUB_DISABLE_XET": "1"}
    log = hub.server.access_log
    seen = len(routes(log))

    hf(["upload", repo, str(folder), "--commit-message", "hf upload e2e"],
       {"HF_ENDPOINT": hub.url, "HF_TOKEN": hub.write_token, **transfer}, tmp_path / "home-up")
    up = routes(log)[seen:]
    info = hub.server.get(f"/api/models/{repo}", token=hub.read_token).json()
    assert info["id"] == repo and re.fullmatch(r"[0-9a-f]{40}", info["sha"])
    if xet:  # the large files went to the Xet CAS, never through the LFS PUT
        assert count(up, "cas_xorb_upload") >= 1 and count(up, "cas_shard_upload") >= 1, up
        assert count(up, "lfs_upload") == 0, up
    else:
        assert count(up, "lfs_upload") == 2, up  # small.bin and weights.bin
        assert count(up, "cas_xorb_upload") == 0, up

    # Download as an anonymous client (the repository is public).
    seen = len(routes(log))
    dest = tmp_path / "local"
    hf(["download", repo, "--local-dir", str(dest)], {"HF_ENDPOINT": hub.url, **transfer},
       tmp_path / "home-down")
    down = routes(log)[seen:]
    got = {k: v for k, v in hg.repo_hashes(dest).items() if not k.startswith(".cache/")}
    assert got == hg.tree_hashes(folder)
    if xet:  # weights.bin and small.bin were reconstructed from xorb ranges, not sent whole
        assert count(down, "cas_reconstruction") >= 2 and count(down, "cas_xorb_range") >= 2, down
        assert resolve_gets(log, repo, "weights.bin") == 0
    else:
        assert count(down, "cas_reconstruction") == 0, down
        assert resolve_gets(log, repo, "weights.bin") == 1
