"""Loads a model with transformers or sentence-transformers and prints its embeddings as JSON.

Usage: python load_model.py st|tf MODEL  (MODEL: a local folder or a repo id resolved through
HF_ENDPOINT). Run by test_real_model.py in a subprocess, so that HF_ENDPOINT/HF_HOME are read fresh.
"""

import json
import sys

SENTENCES = ["hubgate serves models next to the compute.",
             "A quick brown fox jumps over the lazy dog.",
             "Ünïcödé and numbers 12345 too."]


def main():
    mode, model = sys.argv[1], sys.argv[2]
    if mode == "st":
        from sentence_transformers import SentenceTransformer

        m = SentenceTransformer(model, device="cpu")
        vecs = m.encode(SENTENCES, convert_to_numpy=True).tolist()
    elif mode == "tf":
        import torch
        from transformers import AutoModel, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(model)
        m = AutoModel.from_pretrained(model)
        m.eval()
        batch = tok(SENTENCES, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            out = m(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        vecs = ((out * mask).sum(1) / mask.sum(1)).tolist()  # mean pooling
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(vecs))


if __name__ == "__main__":
    main()
