#!/usr/bin/env python3
"""Corpus: safetensors files and sharded-checkpoint indexes.

Usage: gen_safetensors.py OUT   -> OUT/benign/*, OUT/malicious/*
Benign files come from the real `safetensors` library (pinned in tests/scan/requirements.txt).
Malicious names are `<rule>__<what>.<ext>`: the rule the scanner must report for that file.
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import save

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmtlib import case, case_path, safetensors_raw, write  # noqa: E402


def main(out):
    b = os.path.join(out, "benign")
    # Benign: the reference writer, several dtypes, metadata, empty and scalar tensors.
    write(f"{b}/st_basic.safetensors", save({
        "w": np.arange(12, dtype=np.float32).reshape(3, 4),
        "b": np.zeros(4, dtype=np.float16),
        "i": np.arange(5, dtype=np.int64),
        "flag": np.array([True, False]),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "scalar": np.array(3.5, dtype=np.float64),
    }, metadata={"format": "pt", "note": "made by the safetensors library"}))
    write(f"{b}/st_u8.safetensors", save({"bytes": np.frombuffer(b"hello world", dtype=np.uint8).copy()}))
    write(f"{b}/model.safetensors.index.json", json.dumps({
        "metadata": {"total_size": 1234},
        "weight_map": {"a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors"}}).encode())

    t = {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
    d16 = bytes(16)
    mal = {
        "safetensors.header-length__past-eof.safetensors": safetensors_raw({"w": t}, d16, header_len=10_000),
        "safetensors.header-length__over-cap.safetensors": safetensors_raw({"w": t}, d16, header_len=200_000_000),
        "safetensors.truncated__short.safetensors": b"\x05\x00\x00",
        "safetensors.header-start__leading-space.safetensors": safetensors_raw(' {"w": ' + json.dumps(t) + "}", d16),
        "safetensors.json__invalid-utf8.safetensors": safetensors_raw(b'{"w\xff": ' + json.dumps(t).encode() + b"}", d16),
        "safetensors.json__syntax.safetensors": safetensors_raw('{"w": {"dtype": "F32",}}', d16),
        "safetensors.duplicate-key__two-w.safetensors": safetensors_raw(
            '{"w": ' + json.dumps(t) + ', "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', d16),
        "safetensors.dtype__unknown.safetensors": safetensors_raw({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, d16),
        "safetensors.size-mismatch__shape-vs-span.safetensors": safetensors_raw({"w": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 16]}}, d16),
        "safetensors.shape-overflow__huge-dims.safetensors": safetensors_raw(
            {"w": {"dtype": "F32", "shape": [2**32, 2**32 + 1], "data_offsets": [0, 16]}}, d16),
        "safetensors.overlap__aliased.safetensors": safetensors_raw({"w": t, "b": t}, d16),
        "safetensors.gap__hole.safetensors": safetensors_raw(
            {"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, "b": {"dtype": "U8", "shape": [4], "data_offsets": [12, 16]}}, d16),
        "safetensors.gap__not-from-zero.safetensors": safetensors_raw({"a": {"dtype": "U8", "shape": [8], "data_offsets": [8, 16]}}, d16),
        "safetensors.trailing-data__polyglot-zip.safetensors": safetensors_raw({"w": t}, d16 + b"PK\x03\x04 hidden payload"),
        "safetensors.out-of-bounds__end-past-data.safetensors": safetensors_raw({"w": {"dtype": "U8", "shape": [64], "data_offsets": [0, 64]}}, d16),
        "safetensors.offsets__end-before-begin.safetensors": safetensors_raw({"w": {"dtype": "U8", "shape": [0], "data_offsets": [16, 0]}}, d16),
        "safetensors.metadata__non-string.safetensors": safetensors_raw({"__metadata__": {"n": 1}, "w": t}, d16),
        "safetensors.bad-shape__negative-dim.safetensors": safetensors_raw({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, d16),
        # Malformed entries no writer produces (the reference loader refuses them; a lenient
        # reader gets an out-of-bounds or aliasing primitive): dangerous, one rule each.
        "safetensors.bad-offsets__negative-begin.safetensors": safetensors_raw({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [-16, 0]}}, d16),
        "safetensors.bad-offsets__fractional.safetensors": safetensors_raw({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16.5]}}, d16),
        "safetensors.bad-offsets__three-offsets.safetensors": safetensors_raw({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8, 16]}}, d16),
        "safetensors.bad-offsets__over-u64.safetensors": safetensors_raw('{"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 18446744073709551632]}}', d16),
        "safetensors.bad-shape__string-dim.safetensors": safetensors_raw({"w": {"dtype": "F32", "shape": ["4"], "data_offsets": [0, 16]}}, d16),
        "safetensors.missing-field__no-offsets.safetensors": safetensors_raw({"w": {"dtype": "F32", "shape": [2, 2]}}, d16),
        "safetensors.metadata__nested-object.safetensors": safetensors_raw({"__metadata__": {"n": {"a": "b"}}, "w": t}, d16),
        "safetensors.metadata__list.safetensors": safetensors_raw({"__metadata__": ["a"], "w": t}, d16),
        "safetensors.tensor-entry__not-an-object.safetensors": safetensors_raw({"w": t, "x": [0, 16]}, d16),
        # A harmless oddity stays suspicious: a field a newer writer may add.
        "safetensors.unknown-field__extra.safetensors": safetensors_raw({"w": dict(t, note="x")}, d16),
    }
    for name, data in mal.items():
        case(out, name, data)
    for what, shard in [("parent", "../../etc/passwd"), ("absolute", "/etc/passwd"), ("url", "https://evil.example/x.safetensors")]:
        case(out, f"safetensors.index-path__{what}.safetensors.index.json",
              json.dumps({"weight_map": {"a.weight": shard}}).encode())


if __name__ == "__main__":
    main(sys.argv[1])
