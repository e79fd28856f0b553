"""pytest fixtures for hubgate's e2e tests: a shared payload folder and running servers."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# The clients read these at import time: set them before any test module imports them.
os.environ["HF_HUB_DISABLE_XET"] = "1"  # plain HTTP here; Xet with hf_xet is tests/e2e_xet/
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
os.environ["HF_HUB_ETAG_TIMEOUT"] = "30"
os.environ["HF_HUB_DOWNLOAD_TIMEOUT"] = "60"
for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"):
    os.environ.pop(var, None)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hubgate_e2e as hg  # noqa: E402

BIG_SIZE = 200 * 1024 * 1024 + 12345  # >= 200 MB, deliberately not a multiple of any block size
SMALL_BIN_SIZE = 5 * 1024 * 1024 + 7


# One temp dir for the whole run; HH's default cache (HF_HOME) goes in it, never in $HOME.
_SESSION_DIR = hg.make_tempdir("session")
os.environ["HF_HOME"] = str(_SESSION_DIR / "hf_home")


def pytest_sessionfinish(session, exitstatus):
    hg.remove_tempdir(_SESSION_DIR)


@pytest.fixture(scope="session")
def session_dir():
    return _SESSION_DIR


@pytest.fixture(scope="session")
def payload(session_dir) -> Path:
    """A folder with small text files, an empty file, a small binary and a >= 200 MB binary."""
    root = session_dir / "payload"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "README.md").write_text("# e2e payload\n\nUploaded by hubgate's end-to-end tests.\n")
    (root / "config.json").write_text('{"hidden_size": 8, "name": "e2e"}\n')
    (root / "sub" / "notes.txt").write_text("notes\n" * 100)
    (root / "sub" / "deeper" / "unicode-é.txt").write_text("héllo wörld\n")
    (root / "empty.txt").write_bytes(b"")
    hg.write_random(root / "sub" / "small.bin", SMALL_BIN_SIZE, seed=1)
    hg.write_random(root / "big.bin", BIG_SIZE, seed=2)
    return root


@pytest.fixture(scope="session")
def payload_hashes(payload) -> dict[str, str]:
    return hg.tree_hashes(payload)


@dataclass
class Hub:
    server: hg.Server
    root: Path
    write_token: str  # may write every repo
    read_token: str  # may read every repo
    scoped_token: str  # may read repos matching "scoped/*" only

    @property
    def url(self) -> str:
        return self.server.url


def _start_hub(prefix: str):
    root = hg.make_tempdir(prefix)
    data = root / "data"
    data.mkdir()
    tokens = dict(
        write_token=hg.create_token(data, "e2e-writer", write=True),
        read_token=hg.create_token(data, "e2e-reader"),
        scoped_token=hg.create_token(data, "e2e-scoped", repos="scoped/*"),
    )
    srv = hg.start_server(data)
    point_python_client_at(srv.url)
    return Hub(server=srv, root=root, **tokens)


def point_python_client_at(url: str) -> None:
    """What HF_ENDPOINT does, for a server started after import: huggingface_hub reads
    HF_ENDPOINT into constants.ENDPOINT at import, and parses the commit URLs that the server
    returns (CommitInfo.repo_url) against it even when `endpoint=` is passed explicitly."""
    import huggingface_hub.constants
    import huggingface_hub.file_download

    template = url + "/{repo_id}/resolve/{revision}/{filename}"
    os.environ["HF_ENDPOINT"] = url
    huggingface_hub.constants.ENDPOINT = url
    huggingface_hub.constants.HUGGINGFACE_CO_URL_TEMPLATE = template
    huggingface_hub.file_download.HUGGINGFACE_CO_URL_TEMPLATE = template  # imported by name


def _stop_hub(hub: Hub):
    try:
        rc = hub.server.stop()
        assert rc == 0, f"hubgate exited with {rc} after SIGTERM\n{hub.server.log_text()}"
    finally:
        hg.remove_tempdir(hub.root)


@pytest.fixture(scope="module")
def hub():
    """One server per test module, stopped (and checked for a clean exit) after the module."""
    h = _start_hub("hub")
    yield h
    _stop_hub(h)


@pytest.fixture
def fresh_hub():
    """A server for a single test."""
    h = _start_hub("fresh")
    yield h
    _stop_hub(h)
