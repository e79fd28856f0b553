"""Plain-curl download checks shared by the upload tests (one repo, any uploader)."""

from __future__ import annotations

from pathlib import Path

import hubgate_e2e as hg


def check_full_get(base: str, repo: str, rel: str, original: Path, tmp: Path, token=None):
    out = tmp / "full"
    status, h = hg.curl(f"{base}/{repo}/resolve/main/{hg.quote_path(rel)}", out, token=token)
    assert status == 200, f"status {status}, headers {h}"
    assert hg.sha256_file(out) == hg.sha256_file(original)
    assert int(h["content-length"]) == original.stat().st_size
    assert len(h.get("x-repo-commit", "")) == 40


def check_range(base: str, repo: str, rel: str, original: Path, tmp: Path, spec: str, token=None):
    """spec is 'a-b', 'a-' or '-n'; expects 206 with the exact slice and Content-Range."""
    size = original.stat().st_size
    a, _, b = spec.partition("-")
    if a == "":
        start, end = size - int(b), size - 1
    elif b == "":
        start, end = int(a), size - 1
    else:
        start, end = int(a), min(int(b), size - 1)
    out = tmp / f"range-{spec}"
    status, h = hg.curl(f"{base}/{repo}/resolve/main/{hg.quote_path(rel)}", out,
                        range_header=f"bytes={spec}", token=token)
    assert status == 206, f"status {status} for bytes={spec}, headers {h}"
    assert h.get("content-range") == f"bytes {start}-{end}/{size}", h
    assert int(h["content-length"]) == end - start + 1
    assert out.read_bytes() == hg.read_slice(original, start, end)


def check_unsatisfiable(base: str, repo: str, rel: str, original: Path, tmp: Path, token=None):
    size = original.stat().st_size
    out = tmp / "range-416"
    status, h = hg.curl(f"{base}/{repo}/resolve/main/{hg.quote_path(rel)}", out,
                        range_header=f"bytes={size}-{size + 10}", token=token)
    assert status == 416, f"status {status}, headers {h}"
    assert h.get("content-range") == f"bytes */{size}", h
