"""Shared writers for the format-validator corpus generators (gen_safetensors.py, gen_gguf.py,
gen_onnx.py, gen_keras.py, gen_archives.py) and the fuzz seeds.

Raw writers exist so that malformed files can be produced byte by byte (the real libraries refuse
to write them); benign files are made with the real libraries where one is available. zstd and
LZ4 frames are written with stored/uncompressed blocks (valid frames per RFC 8878 and the LZ4
frame spec) so no Python binding is needed.
"""
import json
import os
import struct


# Rules whose findings are `suspicious` by design (docs/scan-formats.md): their cases go to
# OUT/suspicious/ (checked by corpus_check: rule present, verdict at least suspicious); every other
# case goes to OUT/malicious/, which must scan as `dangerous` (also what run_corpus.py asserts).
SUSPICIOUS_RULES = {
    "safetensors.truncated", "safetensors.dtype", "safetensors.unknown-field", "safetensors.index",
    "gguf.version", "gguf.magic", "gguf.token-id",
    "template.suspicious", "onnx.custom-domain", "onnx.no-graph", "onnx.external-data", "onnx.depth",
    "keras.class-name", "keras.unknown-object", "hdf5.malformed", "hdf5.user-link", "hdf5.filter-plugin",
    "npy.malformed", "npy.trailing-data", "zip.header-mismatch", "zip.name-mismatch",
    "tar.special-file", "tar.setuid", "tar.duplicate", "tar.trailing-data", "tar.malformed", "tar.truncated",
    "tar.pax-global", "compressed.malformed", "compressed.trailing-data", "container.expansion-ratio",
    "container.limit",
}


def case_path(out, name):
    """Where a `<rule>__<what>.<ext>` case belongs: OUT/suspicious/ or OUT/malicious/."""
    rule = name.split("__", 1)[0]
    return os.path.join(out, "suspicious" if rule in SUSPICIOUS_RULES else "malicious", name)


def case(out, name, data):
    write(case_path(out, name), data)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def safetensors_raw(header, data=b"", header_len=None, pad=True):
    """header: dict or str/bytes (used verbatim). header_len overrides the length field."""
    if isinstance(header, dict):
        h = json.dumps(header, separators=(",", ":")).encode()
    elif isinstance(header, str):
        h = header.encode()
    else:
        h = header
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    n = len(h) if header_len is None else header_len
    return struct.pack("<Q", n) + h + data


# ---- GGUF ----------------------------------------------------------------------------------
GGUF_U32, GGUF_I32, GGUF_F32, GGUF_STRING, GGUF_ARRAY = 4, 5, 6, 8, 9


class Gguf:
    def __init__(self, version=3):
        self.version = version
        self.kvs = b""
        self.infos = b""
        self.n_kv = 0
        self.n_t = 0

    def _len(self, n):
        return struct.pack("<I" if self.version == 1 else "<Q", n)

    def _str(self, s):
        b = s.encode() if isinstance(s, str) else s
        return self._len(len(b)) + b

    def kv_raw(self, key, vtype, raw):
        self.kvs += self._str(key) + struct.pack("<I", vtype) + raw
        self.n_kv += 1
        return self

    def kv_u32(self, key, v):
        return self.kv_raw(key, GGUF_U32, struct.pack("<I", v))

    def kv_str(self, key, v):
        return self.kv_raw(key, GGUF_STRING, self._str(v))

    def kv_str_array(self, key, items):
        raw = struct.pack("<I", GGUF_STRING) + self._len(len(items)) + b"".join(self._str(s) for s in items)
        return self.kv_raw(key, GGUF_ARRAY, raw)

    def kv_array(self, key, etype, n, elem_size=4):
        return self.kv_raw(key, GGUF_ARRAY, struct.pack("<I", etype) + self._len(n) + b"\0" * (n * elem_size))

    def tensor(self, name, dims, ggml_type, offset):
        dfmt = "<I" if self.version == 1 else "<Q"
        self.infos += self._str(name) + struct.pack("<I", len(dims))
        self.infos += b"".join(struct.pack(dfmt, d) for d in dims)
        self.infos += struct.pack("<IQ", ggml_type, offset)
        self.n_t += 1
        return self

    def build(self, data=b"", alignment=32, n_tensors=None, n_kv=None):
        cfmt = "<II" if self.version == 1 else "<QQ"
        out = b"GGUF" + struct.pack("<I", self.version)
        out += struct.pack(cfmt, self.n_t if n_tensors is None else n_tensors, self.n_kv if n_kv is None else n_kv)
        out += self.kvs + self.infos
        out += b"\0" * ((alignment - len(out) % alignment) % alignment)
        return out + data


# ---- protobuf --------------------------------------------------------------------------------
def pb_varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_len(field, data):
    return pb_varint((field << 3) | 2) + pb_varint(len(data)) + data


# ---- zstd / lz4 frames with stored blocks ----------------------------------------------------
def zstd_stored(data):
    out = struct.pack("<I", 0xFD2FB528) + bytes([0xE0]) + struct.pack("<Q", len(data))
    blocks = [data[i:i + 65536] for i in range(0, len(data), 65536)] or [b""]
    for i, b in enumerate(blocks):
        last = 1 if i == len(blocks) - 1 else 0
        hdr = last | (0 << 1) | (len(b) << 3)
        out += struct.pack("<I", hdr)[:3] + b
    return out


def _xxh32(data, seed=0):
    P1, P2, P3, P4, P5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    M = 0xFFFFFFFF
    rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & M
    n = len(data)
    i = 0
    if n >= 16:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed & M, (seed - P1) & M]
        while i + 16 <= n:
            for k in range(4):
                lane = struct.unpack_from("<I", data, i + 4 * k)[0]
                v[k] = (rotl((v[k] + lane * P2) & M, 13) * P1) & M
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while i + 4 <= n:
        h = (rotl((h + struct.unpack_from("<I", data, i)[0] * P3) & M, 17) * P4) & M
        i += 4
    while i < n:
        h = (rotl((h + data[i] * P5) & M, 11) * P1) & M
        i += 1
    h ^= h >> 15
    h = (h * P2) & M
    h ^= h >> 13
    h = (h * P3) & M
    h ^= h >> 16
    return h


def lz4_stored(data):
    desc = bytes([0x60, 0x40])  # version 01, independent blocks; 64 KiB max block
    out = struct.pack("<I", 0x184D2204) + desc + bytes([(_xxh32(desc) >> 8) & 0xFF])
    for i in range(0, len(data), 65536):
        b = data[i:i + 65536]
        out += struct.pack("<I", len(b) | 0x80000000) + b
    return out + struct.pack("<I", 0)
