"""Fixtures for the hubgate Python loader's tests: real `hubgate serve` processes on loopback
(started by the e2e harness, tests/e2e/hubgate_e2e.py) holding repositories pushed with
`hubgate push`, and safetensors files built here."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"):
    os.environ.pop(var, None)
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
sys.path.insert(0, str(HERE))
import hubgate_e2e as hg  # noqa: E402


@dataclass
class Hub:
    server: hg.Server
    root: Path
    write_token: str
    read_token: str

    @property
    def url(self) -> str:
        return self.server.url

    def push(self, folder: Path, repo: str) -> str:
        r = hg.hubgate_push(folder, repo, self.url, self.write_token)
        assert r.returncode == 0, f"hubgate push failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
        return repo


def start_hub(prefix: str, extra: list[str] | None = None, upstream: str = "none"):
    root = hg.make_tempdir(prefix)
    data = root / "data"
    data.mkdir()
    write = hg.create_token(data, "loader-writer", write=True)
    read = hg.create_token(data, "loader-reader")
    server = hg.start_server(data, extra, upstream=upstream)
    return Hub(server, root, write, read)


def stop_hub(h: Hub) -> None:
    rc = h.server.stop()
    hg.remove_tempdir(h.root)
    assert rc == 0, f"hubgate serve exited {rc}"


@pytest.fixture(scope="module")
def hub():
    """A hub with the security gate on (its default)."""
    h = start_hub("loader-hub")
    yield h
    stop_hub(h)


@pytest.fixture(scope="module")
def lax_hub():
    """A hub with the security gate off: it serves hostile files, so only the loader's own
    checks stand between them and the caller."""
    h = start_hub("loader-lax", ["--gate", "off"])
    yield h
    stop_hub(h)
