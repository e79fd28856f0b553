"""Helpers shared by the corpus generators: output folders and hand-built pickle opcodes."""
import os
import struct
import sys


def out_dirs():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    out = sys.argv[1]
    mal = os.path.join(out, "malicious")
    ben = os.path.join(out, "benign")
    os.makedirs(mal, exist_ok=True)
    os.makedirs(ben, exist_ok=True)
    return mal, ben


def write(folder, name, data):
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# --- opcode builders (protocol 0-5) ---------------------------------------------------------
def glob(module, name):  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def sbu(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def string0(s):  # proto-0 STRING
    return b"S'" + s.encode() + b"'\n"


def call1(module, name, arg):  # module.name(arg) with proto-2 opcodes
    return glob(module, name) + sbu(arg) + b"\x85R"


PROTO2 = b"\x80\x02"
PROTO4 = b"\x80\x04"
