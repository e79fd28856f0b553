"""Stream safetensors checkpoints from a hubgate (or any Hub-compatible) endpoint into memory.

The C++ core (``hubgate._core``, built from the repository's ``src/loader``) reads each file
with parallel HTTP range requests straight into one aligned buffer per tensor, validates every
header with the scanner's safetensors validator and checks each file's sha256 as the bytes
pass: a wrong byte raises :class:`IntegrityError` before the file's last tensor is handed out.
Tensors are handed over without a copy (DLPack for torch and numpy).

dtype representation (documented choice):

* ``framework="pt"``: torch's own dtype where torch has it (bf16 included). Where the installed
  torch lacks one (torch < 2.1 has no float8; < 2.3 no uint16/32/64): 8-bit floats come as
  ``torch.uint8`` of the same shape (the raw bytes), U16/U32/U64 as the signed integer of the
  same width (the same bits), F6/F4 as flat ``uint8`` bytes.
* ``framework="numpy"``: numpy's dtype, bf16 and float8 as ``ml_dtypes`` types when ml_dtypes is
  installed (it comes with jax), else ``uint16``/``uint8`` views of the same bits; F6/F4 as flat
  ``uint8`` bytes.
* ``framework="jax"``: the numpy array (ml_dtypes) put on the device with ``jax.device_put``, or
  built for a sharding with ``jax.make_array_from_callback`` (TPUs take host buffers). A dtype
  the installed jax refuses comes as ``uint8`` of the same bits; 64-bit dtypes keep their width
  only with ``jax_enable_x64`` (jax's own rule).
"""
from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np

from . import _core
from ._core import IntegrityError, LoaderError

__all__ = ["safe_open", "load_state_dict", "SafeOpen", "LoaderError", "IntegrityError"]

_NUMPY = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16,
    "U8": np.uint8, "BOOL": np.bool_, "C64": np.complex64,
}
_ML_DTYPES = {
    "BF16": ("bfloat16", np.uint16), "F8_E4M3": ("float8_e4m3fn", np.uint8),
    "F8_E5M2": ("float8_e5m2", np.uint8), "F8_E4M3FNUZ": ("float8_e4m3fnuz", np.uint8),
    "F8_E5M2FNUZ": ("float8_e5m2fnuz", np.uint8), "F8_E8M0": ("float8_e8m0fnu", np.uint8),
}
_SUB_BYTE = {"F6_E2M3", "F6_E3M2", "F4"}


def numpy_dtype(dtype: str):
    """The numpy dtype a safetensors dtype is given as (None: flat raw bytes)."""
    if dtype in _NUMPY:
        return np.dtype(_NUMPY[dtype])
    if dtype in _ML_DTYPES:
        name, fallback = _ML_DTYPES[dtype]
        try:
            import ml_dtypes
            return np.dtype(getattr(ml_dtypes, name))
        except (ImportError, AttributeError):
            return np.dtype(fallback)
    return None


def torch_dtype(dtype: str):
    """The torch dtype a safetensors dtype is given as (None: flat raw bytes)."""
    import torch
    native = {
        "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
        "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool", "C64": "complex64",
        "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "F8_E4M3FNUZ": "float8_e4m3fnuz",
        "F8_E5M2FNUZ": "float8_e5m2fnuz", "F8_E8M0": "float8_e8m0fnu",
        "U16": "uint16", "U32": "uint32", "U64": "uint64",
    }
    same_bits = {"U16": torch.int16, "U32": torch.int32, "U64": torch.int64}
    if dtype in _SUB_BYTE:
        return None
    t = getattr(torch, native.get(dtype, ""), None)
    if t is not None:
        return t
    if dtype in same_bits:
        return same_bits[dtype]
    if dtype.startswith("F8"):
        return torch.uint8
    raise LoaderError(f"dtype {dtype} has no torch representation")


def _jax_accepts(dtype) -> bool:
    import jax.numpy as jnp
    try:
        jnp.zeros((0,), dtype=dtype)
        return True
    except TypeError:
        return False


class _Capsule:
    """A DLPack capsule from the core (a CPU uint8 vector) as the protocol object numpy wants."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, stream=None, **_kw):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)  # kDLCPU


def _as_numpy(raw, dtype: str, shape) -> np.ndarray:
    flat = np.from_dlpack(_Capsule(raw))
    nd = numpy_dtype(dtype)
    if nd is None:
        return flat
    return flat.view(nd).reshape(shape)


def _as_torch(raw, dtype: str, shape):
    import torch
    import torch.utils.dlpack
    flat = torch.utils.dlpack.from_dlpack(raw)
    td = torch_dtype(dtype)
    if td is None:
        return flat
    if flat.numel() == 0:
        return torch.empty(shape, dtype=td)
    return flat.view(td).reshape(shape)


class _CudaMover:
    """Host tensors to a CUDA device on a side stream, through pinned staging buffers: the copy
    of one tensor overlaps the network transfer of the next ones."""

    def __init__(self, device: str, staging_bytes: int):
        import torch
        self.torch = torch
        self.device = torch.device(device)
        self.stream = torch.cuda.Stream(self.device)
        self.slots = [torch.empty(staging_bytes, dtype=torch.uint8, pin_memory=True) for _ in range(2)]
        self.events = [None, None]
        self.turn = 0

    def move(self, host):
        torch = self.torch
        flat = host.reshape(-1).view(torch.uint8) if host.numel() else host
        n = flat.numel() if host.numel() else 0
        slot = self.slots[self.turn]
        if n == 0 or n > slot.numel():
            return host.to(self.device)
        if self.events[self.turn] is not None:
            self.events[self.turn].synchronize()
        slot[:n].copy_(flat)
        with torch.cuda.stream(self.stream):
            out = torch.empty(n, dtype=torch.uint8, device=self.device)
            out.copy_(slot[:n], non_blocking=True)
            ev = torch.cuda.Event()
            ev.record(self.stream)
        self.events[self.turn] = ev
        self.turn ^= 1
        consumer = torch.cuda.current_stream(self.device)
        consumer.wait_stream(self.stream)  # the caller's work on `out` starts after the copy
        out.record_stream(consumer)  # allocated on the side stream, used on the caller's
        return out.view(host.dtype).reshape(host.shape)


class SafeOpen:
    """What :func:`safe_open` returns. ``keys()`` and ``metadata()`` come from the headers (read
    at open); ``tensors()`` streams every tensor in file order (the fast path); ``get_tensor``
    reads the tensor's whole file once (verified) and serves its tensors from that copy."""

    def __init__(self, repo_id: str, filename: str | list[str] | None = None, *, revision: str = "main",
                 endpoint: str | None = None, token: str | None = None, framework: str = "pt",
                 device: str = "cpu", repo_type: str = "model", connections: int = 8,
                 ring_bytes: int = 1 << 30, request_bytes: int = 16 << 20, verify: bool = True,
                 sharding: Any = None):
        if framework not in ("pt", "torch", "numpy", "np", "jax", "flax"):
            raise ValueError(f"framework must be pt, numpy or jax, not {framework!r}")
        self.framework = {"torch": "pt", "np": "numpy", "flax": "jax"}.get(framework, framework)
        self.device = device
        self.sharding = sharding
        self._args = dict(
            endpoint=(endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/"),
            repo_id=repo_id, token=token if token is not None else os.environ.get("HF_TOKEN", ""),
            repo_type=repo_type if repo_type.endswith("s") else repo_type + "s",
            connections=connections, ring_bytes=ring_bytes, request_bytes=request_bytes, verify=verify)
        names = [] if filename is None else ([filename] if isinstance(filename, str) else list(filename))
        self._stream = _core.open(revision=revision, filenames=names, **self._args)
        self.commit = self._stream.commit
        self._files = self._stream.files()
        self._index = self._stream.tensors()
        self._where = {t[0]: t for t in self._index}
        self._cache_file = None
        self._cache: dict[str, Any] = {}
        self._mover = None
        self._last = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for s in (self._stream, self._last):
            if s is not None:
                s.close()
        self._stream = self._last = None
        self._cache = {}

    def files(self) -> list[str]:
        return [f["path"] for f in self._files]

    def keys(self) -> list[str]:
        return [t[0] for t in self._index]

    def metadata(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in self._files:
            out.update(f["metadata"])
        return out

    def stats(self) -> list[dict]:
        """Per file of the last tensors() pass: bytes, seconds, verified."""
        s = self._last.stats() if self._last is not None else []
        return [dict(path=f["path"], **st) for f, st in zip(self._files, s)]

    @property
    def peak_inflight_bytes(self) -> int:
        """The most bytes the last tensors() pass held allocated and not yet handed out."""
        return self._last.peak_inflight_bytes if self._last is not None else 0

    def _convert(self, raw, dtype: str, shape):
        if self.framework == "pt":
            t = _as_torch(raw, dtype, shape)
            if self.device != "cpu":
                if self.device.startswith("cuda"):
                    if self._mover is None:
                        self._mover = _CudaMover(self.device, min(self._args["ring_bytes"], 256 << 20))
                    return self._mover.move(t)
                return t.to(self.device)
            return t
        arr = _as_numpy(raw, dtype, shape)
        if self.framework == "numpy":
            return arr
        import jax
        if not _jax_accepts(arr.dtype):
            arr = arr.view(np.uint8)  # e.g. float8_e8m0fnu before jax knew it: the same bits
        if self.sharding is not None:
            return jax.make_array_from_callback(arr.shape, self.sharding, lambda idx: arr[idx])
        kind, _, num = self.device.partition(":")
        return jax.device_put(arr, jax.devices(kind)[int(num or 0)])

    def _drain(self, stream) -> Iterator[tuple[str, Any]]:
        index = stream.tensors()
        while True:
            item = stream.next()
            if item is None:
                return
            i, raw = item
            name, _, dtype, shape, _ = index[i]
            yield name, self._convert(raw, dtype, shape)

    def tensors(self) -> Iterator[tuple[str, Any]]:
        """(name, tensor) in file order, each as soon as its bytes are in and hashed; a file's
        last tensor only once the file's digest matched."""
        stream = self._stream
        if stream is None:  # one pass per stream; a later call opens a new one (same commit)
            stream = _core.open(revision=self.commit, filenames=self.files(), **self._args)
        self._stream = None
        self._last = stream
        yield from self._drain(stream)

    def get_tensor(self, name: str):
        if name not in self._where:
            raise KeyError(name)
        path = self._files[self._where[name][1]]["path"]
        if self._cache_file != path:
            self._cache = {}
            stream = _core.open(revision=self.commit, filenames=[path], **self._args)
            try:
                self._cache = dict(self._drain(stream))
            finally:
                stream.close()
            self._cache_file = path
        return self._cache[name]


def safe_open(repo_id: str, filename: str | list[str] | None = None, **kw) -> SafeOpen:
    """Open a repository's safetensors checkpoint on an endpoint (``endpoint=`` or HF_ENDPOINT).
    ``filename=None``: every ``*.safetensors`` of the revision (the shards that
    ``model.safetensors.index.json`` names when there is one). See :class:`SafeOpen`."""
    return SafeOpen(repo_id, filename, **kw)


def load_state_dict(repo_id: str, filename: str | list[str] | None = None, **kw) -> dict[str, Any]:
    """Every tensor of the checkpoint in a dict, e.g. for transformers:
    ``AutoModel.from_pretrained(None, config=config, state_dict=hubgate.load_state_dict(repo))``."""
    with SafeOpen(repo_id, filename, **kw) as f:
        return dict(f.tensors())
