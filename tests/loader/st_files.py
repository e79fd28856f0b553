"""Builds safetensors files byte by byte (every dtype, sharded checkpoints, hostile headers) so
the tests control each byte the loader sees."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

# Every dtype the reference safetensors (0.7) knows -> bits per element.
DTYPE_BITS = {
    "F64": 64, "F32": 32, "F16": 16, "BF16": 16, "I64": 64, "I32": 32, "I16": 16, "I8": 8,
    "U64": 64, "U32": 32, "U16": 16, "U8": 8, "BOOL": 8, "C64": 64,
    "F8_E4M3": 8, "F8_E5M2": 8, "F8_E8M0": 8,
    "F6_E2M3": 6, "F6_E3M2": 6, "F4": 4,
}


def tensor_bytes(dtype: str, shape: list[int], rng: random.Random) -> bytes:
    n = 1
    for d in shape:
        n *= d
    nbytes = n * DTYPE_BITS[dtype] // 8
    if dtype == "BOOL":
        return bytes(rng.randint(0, 1) for _ in range(nbytes))
    if dtype in ("F32", "F64", "F16", "BF16", "C64"):
        # finite values (NaN payloads would make equality checks about NaN, not bytes)
        if dtype == "F32" or dtype == "C64":
            return b"".join(struct.pack("<f", rng.uniform(-4, 4)) for _ in range(nbytes // 4))
        if dtype == "F64":
            return b"".join(struct.pack("<d", rng.uniform(-4, 4)) for _ in range(nbytes // 8))
        if dtype == "F16":
            return b"".join(struct.pack("<e", rng.uniform(-4, 4)) for _ in range(nbytes // 2))
        return b"".join(struct.pack("<f", rng.uniform(-4, 4))[2:] for _ in range(nbytes // 2))
    return rng.randbytes(nbytes)


def build(tensors: list[tuple[str, str, list[int], bytes]], metadata: dict | None = None,
          header_patch=None) -> bytes:
    """[u64 N][header JSON][data], tensors laid out in the given order."""
    header: dict = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if header_patch:
        header_patch(header)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def every_dtype(rng: random.Random) -> list[tuple[str, str, list[int], bytes]]:
    out = []
    for i, dtype in enumerate(DTYPE_BITS):
        shape = [4, 6] if DTYPE_BITS[dtype] >= 8 else [4, 8]
        out.append((f"t{i:02d}.{dtype.lower()}", dtype, shape, tensor_bytes(dtype, shape, rng)))
    out.append(("zero.f32", "F32", [0, 3], b""))
    out.append(("scalar.f32", "F32", [], tensor_bytes("F32", [], rng)))
    return out


def write(path: Path, blob: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return path
