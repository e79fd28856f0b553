"""The hubgate loader gives the same tensors as the reference readers: every dtype safetensors
has, torch / numpy / JAX (CPU), streamed in file order and by name in any order; sharded
checkpoints through their index; through a pull-through edge; `hubgate load` on the command
line."""

from __future__ import annotations

import random
import subprocess

import numpy as np
import pytest
import safetensors
import safetensors.torch
import torch

import hubgate
import hubgate_e2e as hg
import st_files

REPO = "loader/every-dtype"
SHARDED = "loader/sharded"


@pytest.fixture(scope="module")
def every_dtype(hub):
    root = hg.make_tempdir("every-dtype")
    blob = st_files.build(st_files.every_dtype(random.Random(7)), {"format": "pt", "note": "every dtype"})
    path = st_files.write(root / "repo" / "model.safetensors", blob)
    (root / "repo" / "config.json").write_text("{}\n")
    hub.push(root / "repo", REPO)
    yield path
    hg.remove_tempdir(root)


@pytest.fixture(scope="module")
def sharded(hub):
    """Three shards named by model.safetensors.index.json, and a stray .safetensors file the
    index does not name (it must not be loaded)."""
    root = hg.make_tempdir("sharded")
    rng = random.Random(11)
    weight_map = {}
    for k in range(3):
        name = f"model-{k + 1:05d}-of-00003.safetensors"
        tensors = [(f"layer{k}.w{j}", "F32", [64, 32], st_files.tensor_bytes("F32", [64, 32], rng)) for j in range(5)]
        st_files.write(root / "repo" / name, st_files.build(tensors))
        weight_map.update({t[0]: name for t in tensors})
    st_files.write(root / "repo" / "stray.safetensors",
                   st_files.build([("stray", "U8", [3], b"abc")]))
    import json
    (root / "repo" / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    hub.push(root / "repo", SHARDED)
    yield root / "repo"
    hg.remove_tempdir(root)


def raw(t) -> bytes:
    if isinstance(t, torch.Tensor):
        t = t.contiguous()
        return t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
    return np.ascontiguousarray(np.asarray(t)).tobytes()


def test_torch_equals_reference(hub, every_dtype):
    reference = safetensors.deserialize(every_dtype.read_bytes())
    ref_raw = {name: bytes(v["data"]) for name, v in reference}
    ref_meta = {name: v for name, v in reference}
    with hubgate.safe_open(REPO, endpoint=hub.url, token=hub.read_token) as f:
        assert sorted(f.keys()) == sorted(ref_raw)
        assert f.metadata() == {"format": "pt", "note": "every dtype"}
        got = dict(f.tensors())
    assert list(got) == [name for name, *_ in st_files.every_dtype(random.Random(7))], "file order"
    torch_native = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "C64"}
    # The reference torch reader, tensor by tensor for the dtypes the installed torch has.
    with safetensors.safe_open(every_dtype, framework="pt") as ref:
        ref_torch = {n: ref.get_tensor(n) for n, v in reference if v["dtype"] in torch_native}
    for name, t in got.items():
        dtype = ref_meta[name]["dtype"]
        assert raw(t) == ref_raw[name], name
        if dtype in torch_native:
            assert t.dtype == ref_torch[name].dtype and t.shape == ref_torch[name].shape, name
            assert torch.equal(t, ref_torch[name]), name
        elif dtype in ("F6_E2M3", "F6_E3M2", "F4"):
            assert t.dtype == torch.uint8 and t.dim() == 1, name
        else:
            assert list(t.shape) == ref_meta[name]["shape"], name
    assert got["t03.bf16"].dtype == torch.bfloat16
    assert got["zero.f32"].shape == (0, 3)


def test_numpy_and_jax_equal_reference(hub, every_dtype):
    import jax
    import ml_dtypes
    jax.config.update("jax_enable_x64", True)  # F64/I64/U64 keep their width
    reference = dict(safetensors.deserialize(every_dtype.read_bytes()))
    np_native = {"F64", "F32", "F16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL", "C64"}
    with safetensors.safe_open(every_dtype, framework="numpy") as ref:
        ref_np = {n: ref.get_tensor(n) for n, v in reference.items() if v["dtype"] in np_native}
    with hubgate.safe_open(REPO, endpoint=hub.url, framework="numpy") as f:
        got = dict(f.tensors())
    for name, a in got.items():
        assert a.tobytes() == bytes(reference[name]["data"]), name
        if name in ref_np:
            assert a.dtype == ref_np[name].dtype and np.array_equal(a, ref_np[name]), name
    assert got["t03.bf16"].dtype == ml_dtypes.bfloat16
    assert got["t14.f8_e4m3"].dtype == ml_dtypes.float8_e4m3fn
    assert got["t15.f8_e5m2"].dtype == ml_dtypes.float8_e5m2

    with hubgate.safe_open(REPO, endpoint=hub.url, framework="jax", device="cpu") as f:
        jgot = dict(f.tensors())
    assert set(jgot) == set(got)
    for name, a in jgot.items():
        assert isinstance(a, jax.Array), name
        assert np.asarray(a).tobytes() == got[name].tobytes(), name
    # A sharding: the TPU path builds the array from host buffers with make_array_from_callback.
    mesh = jax.sharding.Mesh(np.array(jax.devices("cpu")[:1]), ("x",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
    with hubgate.safe_open(REPO, "model.safetensors", endpoint=hub.url, framework="jax", sharding=sharding) as f:
        for name, a in f.tensors():
            if name.startswith("t04.") or name.startswith("t01."):
                assert a.sharding == sharding
                assert np.asarray(a).tobytes() == got[name].tobytes(), name


def test_get_tensor_any_order(hub, every_dtype):
    reference = dict(safetensors.deserialize(every_dtype.read_bytes()))
    with hubgate.safe_open(REPO, "model.safetensors", endpoint=hub.url) as f:
        names = f.keys()
        for name in reversed(names):
            assert raw(f.get_tensor(name)) == bytes(reference[name]["data"]), name
        with pytest.raises(KeyError):
            f.get_tensor("absent")


def test_sharded_index_and_edge(hub, sharded):
    want = {}
    for k in range(3):
        want.update(safetensors.torch.load_file(sharded / f"model-{k + 1:05d}-of-00003.safetensors"))
    with hubgate.safe_open(SHARDED, endpoint=hub.url) as f:
        assert f.files() == [f"model-{k + 1:05d}-of-00003.safetensors" for k in range(3)]
        got = dict(f.tensors())
        assert [s["verified"] for s in f.stats()] == [True, True, True]
    assert set(got) == set(want) and "stray" not in got
    for name in want:
        assert torch.equal(got[name], want[name]), name
    # The same through a pull-through edge in front of the hub (cold: the edge fills as it serves).
    edge_root = hg.make_tempdir("edge")
    edge = hg.start_server(edge_root / "data", upstream=hub.url)
    try:
        sd = hubgate.load_state_dict(SHARDED, endpoint=edge.url, connections=4, request_bytes=64 << 10)
        assert set(sd) == set(want)
        for name in want:
            assert torch.equal(sd[name], want[name]), name
    finally:
        rc = edge.stop()
        hg.remove_tempdir(edge_root)
        assert rc == 0


def test_cli_load(hub, sharded):
    r = subprocess.run([hg.hubgate_bin(), "load", SHARDED, "--endpoint", hub.url, "--verify"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 4, r.stdout
    for k in range(3):
        assert lines[k].startswith(f"model-{k + 1:05d}-of-00003.safetensors") and lines[k].endswith("verified"), r.stdout
    assert " 3 files, 15 tensors, " in lines[3], r.stdout
    r = subprocess.run([hg.hubgate_bin(), "load", "loader/absent", "--endpoint", hub.url],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Repository not found: loader/absent" in r.stderr, r.stderr
