#!/usr/bin/env python3
"""`hubgate xet dedup`: exact figures for a file, its copy and an edited revision.
Usage: test_cli_dedup.py HUBGATE_BINARY WORKDIR"""
import os
import random
import shutil
import subprocess
import sys


def main():
    hubgate, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "sub"))
    rng = random.Random(3)
    a = rng.randbytes(3 << 20)
    c = a[: 1 << 20] + rng.randbytes(100_000) + a[1 << 20:]
    for name, data in (("a.bin", a), ("sub/b.bin", a), ("c.bin", c)):
        with open(os.path.join(work, name), "wb") as f:
            f.write(data)
    out = subprocess.run([hubgate, "xet", "dedup", work], check=True, capture_output=True, text=True).stdout
    print(out)
    rows = {os.path.basename(l.split()[3]): [int(x) for x in l.split()[:3]] for l in out.splitlines()
            if len(l.split()) == 4 and l.split()[0].isdigit()}
    totals = {l.split()[0]: int(l.split()[1]) for l in out.splitlines() if l.split() and not l.split()[0].isdigit()
              and len(l.split()) > 1 and l.split()[1].isdigit()}
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok &= cond

    check(rows["a.bin"] [:2] == [len(a), len(a)], "first file is all new")
    check(rows["b.bin"][1] == 0 and rows["b.bin"][2] == 0, "identical copy stores nothing")
    check(100_000 <= rows["c.bin"][1] <= 100_000 + 2 * 131072, "revision stores the insertion plus at most two chunks")
    check(totals["logical_bytes"] == 2 * len(a) + len(c), "logical bytes")
    check(totals["whole_file_dedup_bytes"] == len(a) + len(c), "whole-file dedup counts distinct files")
    check(totals["chunk_dedup_bytes"] == rows["a.bin"][1] + rows["c.bin"][1], "chunk dedup total")
    check(totals["files"] == 3, "folders are walked")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
