"""NumPy .npy/.npz (plain, structured, object arrays) and joblib dumps (uncompressed and every
compressor joblib offers here); object arrays and joblib streams carrying payloads."""
import io
import os
import zipfile

import numpy as np

from _common import out_dirs, write

mal, ben = out_dirs()
rng = np.random.default_rng(0)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def npy(arr, **kw):
    b = io.BytesIO()
    np.save(b, arr, **kw)
    return b.getvalue()


arrays = {
    "f32": rng.standard_normal((8, 8)).astype(np.float32),
    "f16": rng.standard_normal(16).astype(np.float16),
    "i64": np.arange(100, dtype=np.int64),
    "u8": rng.integers(0, 255, 64).astype(np.uint8),
    "bool": rng.standard_normal(10) > 0,
    "c128": (rng.standard_normal(4) + 1j).astype(np.complex128),
    "unicode": np.array(["abc", "de", "fghij"]),
    "bytes": np.array([b"ab", b"c"]),
    "structured": np.zeros(3, dtype=[("x", "<f4"), ("y", "<i8", (2,)), ("name", "S4")]),
    "fortran": np.asfortranarray(rng.standard_normal((3, 5))),
    "scalar": np.array(3.5),
    "empty": np.zeros((0, 4)),
    "datetime": np.array(["2024-01-01", "2024-06-01"], dtype="datetime64[ns]"),
}
for k, a in arrays.items():
    write(ben, f"numpy_{k}.npy", npy(a))
write(ben, "numpy_object_strings.npy", npy(np.array(["a", 1, 2.5, None], dtype=object), allow_pickle=True))
b = io.BytesIO()
np.savez(b, **{k: v for k, v in arrays.items()})
write(ben, "numpy_savez.npz", b.getvalue())
b = io.BytesIO()
np.savez_compressed(b, **{k: v for k, v in arrays.items()})
write(ben, "numpy_savez_compressed.npz", b.getvalue())
for proto in (2, 4, 5):
    import pickle
    write(ben, f"numpy_pickled_p{proto}.pkl", pickle.dumps({"a": arrays["f32"], "s": np.float32(1.5),
                                                           "i": np.int64(3)}, protocol=proto))

evil_obj = np.array([1, Evil()], dtype=object)
write(mal, "numpy_object_payload.npy", npy(evil_obj, allow_pickle=True))
b = io.BytesIO()
np.savez(b, w=arrays["f32"], evil=evil_obj)
write(mal, "numpy_npz_payload.npz", b.getvalue())
b = io.BytesIO()
np.savez_compressed(b, w=arrays["f32"], evil=evil_obj)
write(mal, "numpy_npz_compressed_payload.npz", b.getvalue())

try:
    import joblib
except ImportError:  # joblib is pinned in tests/scan/peers/requirements.txt (installed by setup)
    joblib = None
if joblib is not None:
    def jdump(obj, compress=0):
        b = io.BytesIO()
        joblib.dump(obj, b, compress=compress)
        return b.getvalue()

    benign = {"w": rng.standard_normal((50, 20)), "b": rng.standard_normal(20).astype(np.float32),
              "ids": np.arange(30), "meta": {"name": "model", "version": 2}}
    evil = {"w": rng.standard_normal((5, 5)), "payload": Evil()}
    evil_array = {"w": rng.standard_normal(4), "objs": np.array([Evil(), 2], dtype=object)}
    write(ben, "joblib_arrays.joblib", jdump(benign))
    write(mal, "joblib_payload.joblib", jdump(evil))
    write(mal, "joblib_object_array_payload.joblib", jdump(evil_array))
    for c in ("zlib", "gzip", "xz", "lzma"):
        write(ben, f"joblib_arrays_{c}.joblib", jdump(benign, (c, 3)))
        write(mal, f"joblib_payload_{c}.joblib", jdump(evil, (c, 3)))
    write(mal, "joblib_object_array_payload_zlib.joblib", jdump(evil_array, ("zlib", 3)))


# Malformed arrays: a header that lies about the body (numpy refuses; a reader trusting the
# header reads out of bounds). Named `<rule>__<what>`: that rule must be reported, dangerous.
def npy_raw(header, body):
    h = header.encode()
    pad = 64 - (10 + len(h) + 1) % 64
    h += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h + body


write(mal, "npy.size-mismatch__short-body.npy", npy(arrays["f32"])[:-16])
write(mal, "npy.size-mismatch__huge-shape.npy",
      npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", bytes(64)))
write(mal, "npy.bad-shape__negative.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }", bytes(16)))
write(mal, "npy.bad-shape__overflow.npy",
      npy_raw("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", bytes(16)))
