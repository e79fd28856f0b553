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
