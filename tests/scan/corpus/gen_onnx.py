#!/usr/bin/env python3
"""Corpus: ONNX models.

Usage: gen_onnx.py OUT   -> OUT/benign/*, OUT/malicious/*
Benign models are built with Debian's python3-onnx and pass onnx.checker; malicious names are
`<rule>__<what>.onnx` (external-data path escapes in initializers, Constant attributes and
subgraphs, custom operator domains, malformed protobuf).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmtlib import case, pb_len, write  # noqa: E402

X = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
Y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])


def external(name, location, n=4):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend([n])
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value=location)
    t.external_data.add(key="offset", value="0")
    t.external_data.add(key="length", value=str(4 * n))
    return t


def model(nodes, inits=(), opsets=(("", 17),), functions=()):
    g = helper.make_graph(nodes, "g", [X], [Y], initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets], functions=list(functions))


def main(out):
    b = os.path.join(out, "benign")
    w = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
    mm = model([helper.make_node("MatMul", ["x", "w"], ["t"]), helper.make_node("Relu", ["t"], ["y"])], [w])
    onnx.checker.check_model(mm)
    write(f"{b}/onnx_mlp.onnx", mm.SerializeToString())
    # External data inside the model folder, and an ONNX Runtime contrib op.
    me = model([helper.make_node("Add", ["x", "e"], ["y"]), helper.make_node("Gelu", ["x"], ["g"], domain="com.microsoft")],
               [external("e", "weights/model.onnx.data")], opsets=(("", 17), ("com.microsoft", 1)))
    write(f"{b}/onnx_external_ok.onnx", me.SerializeToString())
    # A local function in its own domain is not a custom-op library.
    fn = helper.make_function("local.fns", "MyRelu", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])],
                              [helper.make_opsetid("", 17)])
    mf = model([helper.make_node("MyRelu", ["x"], ["y"], domain="local.fns")], opsets=(("", 17), ("local.fns", 1)), functions=[fn])
    write(f"{b}/onnx_local_function.onnx", mf.SerializeToString())

    for what, loc in [("parent", "../../../etc/passwd"), ("absolute", "/etc/shadow"), ("nested-parent", "data/../../secret.bin"),
                      ("windows", "C:\\Windows\\System32\\config\\SAM"), ("home", "~/.ssh/id_rsa"), ("url", "file:///etc/passwd")]:
        mx = model([helper.make_node("Add", ["x", "e"], ["y"])], [external("e", loc)])
        case(out, f"onnx.external-path__{what}.onnx", mx.SerializeToString())
    # Hidden in a Constant node inside an If branch.
    const = helper.make_node("Constant", [], ["c"], value=external("c", "../../proc/self/environ"))
    then = helper.make_graph([const, helper.make_node("Identity", ["c"], ["y"])], "then", [], [Y])
    mi = model([helper.make_node("If", ["cond"], ["y"], then_branch=then, else_branch=then)])
    case(out, "onnx.external-path__subgraph-constant.onnx", mi.SerializeToString())
    mc = model([helper.make_node("RunShell", ["x"], ["y"], domain="evil.ops")], opsets=(("", 17), ("evil.ops", 1)))
    case(out, "onnx.custom-domain__evil-ops.onnx", mc.SerializeToString())
    # Top-level fields are consistent (content detection says ONNX) but a node inside the graph
    # declares a field longer than the node: the loader's protobuf parser rejects it.
    bad_node = b"\x0a\xff\x01x"
    raw = b"\x08\x08" + pb_len(7, pb_len(1, bad_node) + pb_len(2, b"g")) + pb_len(8, b"\x10\x11")
    case(out, "onnx.malformed__bad-node-length.onnx", raw)


if __name__ == "__main__":
    main(sys.argv[1])
