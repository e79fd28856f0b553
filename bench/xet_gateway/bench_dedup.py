#!/usr/bin/env python3
"""Dedup of a hosted model through the real Xet client, measured at the server.

1. `org/base` revision 1: a safetensors model of SIZE_MB (default 500) MB, N_TENSORS tensors of
   random bytes, uploaded with huggingface_hub + hf_xet;
2. `org/base` revision 2: the same file with 10% of its tensors replaced;
3. `org/finetune`, a new repository: revision 2 with another 10% of the tensors replaced (a
   fine-tune of the base model), plus an unchanged copy of the base's config file.

After each upload it prints the xorb bytes the client sent (`hubgate_xet_xorb_bytes_received_total`),
how much the chunk store grew (`hubgate_xet_stored_bytes`), both against the bytes that changed,
and what whole-file storage would have needed. Then every revision is downloaded back with hf_xet
and compared by sha256. Not a test: the figures go into bench/xet_gateway/RESULTS.md.

usage: .venv/bin/python bench/xet_gateway/bench_dedup.py --hubgate build/hubgate
env: SIZE_MB (default 500), N_TENSORS (default 100)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e_xet"))


def write_safetensors(path: Path, tensors: list[bytes]) -> None:
    """A valid safetensors file: U8 tensors t0..tN-1, header padded to 8 bytes."""
    header, off = {}, 0
    for i, t in enumerate(tensors):
        header[f"t{i}"] = {"dtype": "U8", "shape": [len(t)], "data_offsets": [off, off + len(t)]}
        off += len(t)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for t in tensors:
            f.write(t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hubgate", default=str(ROOT / "build" / "hubgate"))
    args = ap.parse_args()
    os.environ["HUBGATE_BIN"] = os.path.abspath(args.hubgate)
    from xet_harness import delta, hg, hh, metrics  # noqa: E402

    size = int(os.environ.get("SIZE_MB", "500")) * 1000 * 1000
    n = int(os.environ.get("N_TENSORS", "100"))
    tsize = size // n
    rng = random.Random(2026)
    base = [rng.randbytes(tsize) for _ in range(n)]
    changed = max(1, n // 10)
    rev2 = list(base)
    for i in rng.sample(range(n), changed):
        rev2[i] = rng.randbytes(tsize)
    tuned = list(rev2)
    for i in rng.sample(range(n), changed):
        tuned[i] = rng.randbytes(tsize)

    tmp = hg.make_tempdir("bench-dedup")
    srv = hg.start_server(tmp / "data")
    tok = hg.create_token(tmp / "data", "bench", write=True)
    rows = []
    try:
        home = tmp / "home"
        for repo in ("org/base", "org/finetune"):
            hh(srv, tok, home, "create_repo", {"repo": repo}, xet=True)
        steps = [("org/base", "revision 1 (new model)", base, size),
                 ("org/base", "revision 2 (10% of tensors changed)", rev2, changed * tsize),
                 ("org/finetune", "fine-tune repo (10% more changed)", tuned, changed * tsize)]
        files = []
        for i, (repo, label, tensors, new_bytes) in enumerate(steps):
            folder = tmp / f"up{i}"
            folder.mkdir()
            write_safetensors(folder / "model.safetensors", tensors)
            (folder / "config.json").write_text('{"model_type": "bench", "n": %d}\n' % n)
            before = metrics(srv)
            commit = hh(srv, tok, home, "upload_folder", {"repo": repo, "folder": str(folder), "message": label},
                        xet=True, timeout=1800)["commit"]
            after = metrics(srv)
            file_size = os.path.getsize(folder / "model.safetensors")
            files.append((repo, commit, hg.sha256_file(folder / "model.safetensors")))
            rows.append((label, file_size, new_bytes, delta(before, after, "hubgate_xet_xorb_bytes_received_total"),
                         delta(before, after, "hubgate_xet_stored_bytes")))
            (folder / "model.safetensors").unlink()
        final = metrics(srv)
        for repo, commit, digest in files:
            out = hh(srv, tok, tmp / "down", "hf_hub_download",
                     {"repo": repo, "path": "model.safetensors", "revision": commit}, xet=True, timeout=1800)
            assert hg.sha256_file(out["file"]) == digest, (repo, commit)
            os.unlink(out["file"])
    finally:
        srv.stop()
        hg.remove_tempdir(tmp)

    print(f"safetensors model {size / 1e6:.0f} MB, {n} tensors of {tsize / 1e6:.1f} MB; uploads with huggingface_hub + hf_xet")
    print(f"{'upload':40s} {'file MB':>8s} {'changed MB':>10s} {'sent MB':>8s} {'sent/changed':>12s} "
          f"{'stored +MB':>10s} {'stored/changed':>14s}")
    whole = 0
    for label, fsize, new_bytes, sent, grown in rows:
        whole += fsize
        print(f"{label:40s} {fsize / 1e6:8.1f} {new_bytes / 1e6:10.1f} {sent / 1e6:8.1f} {sent / new_bytes:12.3f} "
              f"{grown / 1e6:10.1f} {grown / new_bytes:14.3f}")
    stored = final.get("hubgate_xet_stored_bytes", 0)
    print(f"logical {whole / 1e6:.1f} MB (what whole-file storage needs), chunk store {stored / 1e6:.1f} MB: "
          f"dedup ratio {whole / stored:.2f}; all {len(rows)} revisions downloaded back sha256-identical")


if __name__ == "__main__":
    main()
