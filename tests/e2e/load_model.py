"""Loads a model with transformers or sentence-transformers and prints its embeddings as JSON.

Usage: python load_model.py MODEL  (MODEL: a local folder or a repo id resolved through
HF_ENDPOINT). Prints {"st": [...], "tf": [...]}: sentence-transformers embeddings and transformers
mean-pooled last hidden states. Run by test_real_model.py in a subprocess, so that
HF_ENDPOINT/HF_HOME are read fresh (and torch is imported once per source).
"""

import json
import sys

SENTENCES = ["hubgate serves models next to the compute.",
             "A quick brown fox jumps over the lazy dog.",
             "Ünïcödé and numbers 12345 too."]


def sentence_transformers_embeddings(model: str):
    from sentence_transformers import SentenceTransformer

    m = SentenceTransformer(model, device="cpu")
    return m.encode(SENTENCES, convert_to_numpy=True).tolist()


def transformers_embeddings(model: str):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    m = AutoModel.from_pretrained(model)
    m.eval()
    batch = tok(SENTENCES, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        out = m(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return ((out * mask).sum(1) / mask.sum(1)).tolist()  # mean pooling


def main():
    model = sys.argv[1]
    print(json.dumps({"st": sentence_transformers_embeddings(model),
                      "tf": transformers_embeddings(model)}))


if __name__ == "__main__":
    main()
