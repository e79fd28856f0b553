"""Byte-level edits of zip archives (flag bits, CRCs, local names, hidden members)."""
import struct


def find_headers(data, name):
    """Offsets of the local and central headers of member `name`."""
    n = name.encode()
    local = central = None
    pos = 0
    while True:
        i = data.find(b"PK\x03\x04", pos)
        if i < 0:
            break
        nl, = struct.unpack_from("<H", data, i + 26)
        if data[i + 30:i + 30 + nl] == n:
            local = i
            break
        pos = i + 4
    pos = 0
    while True:
        i = data.find(b"PK\x01\x02", pos)
        if i < 0:
            break
        nl, = struct.unpack_from("<H", data, i + 28)
        if data[i + 46:i + 46 + nl] == n:
            central = i
            break
        pos = i + 4
    assert local is not None and central is not None, name
    return local, central


def set_flags(data, name, bits):
    d = bytearray(data)
    local, central = find_headers(d, name)
    for off in (local + 6, central + 8):
        f, = struct.unpack_from("<H", d, off)
        struct.pack_into("<H", d, off, f | bits)
    return bytes(d)


def break_crc(data, name):
    d = bytearray(data)
    local, central = find_headers(d, name)
    for off in (local + 14, central + 16):
        c, = struct.unpack_from("<I", d, off)
        struct.pack_into("<I", d, off, c ^ 0xDEADBEEF)
    return bytes(d)


def rename_local(data, name, new):
    assert len(new) == len(name)
    d = bytearray(data)
    local, _ = find_headers(d, name)
    d[local + 30:local + 30 + len(name)] = new.encode()
    return bytes(d)


def add_hidden_member(data, name, payload):
    """Insert a stored local entry before the central directory without listing it there."""
    eocd = data.rfind(b"PK\x05\x06")
    cd_size, cd_off = struct.unpack_from("<II", data, eocd + 12)
    n = name.encode()
    import zlib
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, zlib.crc32(payload), len(payload),
                        len(payload), len(n), 0) + n + payload
    d = bytearray(data[:cd_off] + local + data[cd_off:])
    eocd += len(local)
    struct.pack_into("<I", d, eocd + 16, cd_off + len(local))
    # PyTorch always writes a ZIP64 record + locator before the EOCD: move their offsets too.
    loc = eocd - 20
    if d[loc:loc + 4] == b"PK\x06\x07":
        rec, = struct.unpack_from("<Q", d, loc + 8)
        struct.pack_into("<Q", d, loc + 8, rec + len(local))
        rec += len(local)
        assert d[rec:rec + 4] == b"PK\x06\x06"
        struct.pack_into("<Q", d, rec + 48, cd_off + len(local))
    return bytes(d)


def set_central(data, name, method=None, csize=None, usize=None):
    """Change the central directory's view of `name` (the local header keeps its own)."""
    d = bytearray(data)
    _, central = find_headers(d, name)
    if method is not None:
        struct.pack_into("<H", d, central + 10, method)
    if csize is not None:
        struct.pack_into("<I", d, central + 20, csize)
    if usize is not None:
        struct.pack_into("<I", d, central + 24, usize)
    return bytes(d)
