"""Real S3 clients against hubgate's S3 face (tests/e2e/test_s3_face.py,
tests/e2e_upstream/test_s3_edge.py): boto3, the AWS CLI (v1, `python -m awscli`) and Run:ai's
model streamer (runai-model-streamer + runai-model-streamer-s3, the code vLLM calls), each in the
configuration its documentation gives for a non-AWS endpoint (path style).

Run as a script, this file streams safetensors files with runai-model-streamer and compares
every tensor with `safetensors.torch.load_file` of a local copy of the same file:
    python s3_clients.py stream ENDPOINT OUT.json S3_URI=LOCAL_FILE...
(the S3 environment comes from the caller). It prints nothing; OUT.json holds, per file, the
tensor names, dtypes, shapes, and whether each tensor equals the reference byte for byte.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def clean_env() -> dict[str, str]:
    """The environment without any AWS setting of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUNAI_STREAMER_"))}
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # no IMDS probe (slow, and nothing to find)
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    return env


def s3_env(endpoint: str, key: tuple[str, str] | None) -> dict[str, str]:
    env = clean_env()
    env["AWS_ENDPOINT_URL"] = endpoint
    env["RUNAI_STREAMER_S3_USE_VIRTUAL_ADDRESSING"] = "0"
    if key:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = key
    else:
        env["RUNAI_STREAMER_S3_UNSIGNED"] = "1"  # its boto3 side (listing, pull_files) unsigned
    return env


def boto3_client(endpoint: str, key: tuple[str, str] | None = None):
    """boto3 S3 client; key None = unsigned requests (botocore.UNSIGNED)."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2, "mode": "standard"},
                 signature_version=UNSIGNED if key is None else "s3v4")
    kw = {}
    if key:
        kw = {"aws_access_key_id": key[0], "aws_secret_access_key": key[1]}
    # An empty environment: no credentials of the machine are picked up.
    session = boto3.session.Session(region_name="us-east-1", **kw)
    return session.client("s3", endpoint_url=endpoint, config=cfg)


def aws_cli(endpoint: str, args: list[str], key: tuple[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`aws <args>` (AWS CLI v1 from .venv) against the endpoint; unsigned without a key."""
    env = clean_env()
    if key:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = key
    cmd = [sys.executable, "-m", "awscli", "--endpoint-url", endpoint, *args]
    if not key:
        cmd.append("--no-sign-request")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def runai_stream(endpoint: str, files: dict[str, Path], out: Path, key: tuple[str, str] | None,
                 extra_env: dict[str, str] | None = None, timeout: float = 300) -> dict:
    """Streams each `s3://…` URI with runai-model-streamer in a fresh process (it reads its
    environment at load) and compares with the local file. Returns the JSON report."""
    env = s3_env(endpoint, key)
    env.update(extra_env or {})
    args = [f"{uri}={path}" for uri, path in files.items()]
    r = subprocess.run([sys.executable, str(HERE / "s3_clients.py"), "stream", endpoint, str(out), *args],
                       capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode == 0, f"runai stream failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    return json.loads(out.read_text())


def runai_list(endpoint: str, uri: str, key: tuple[str, str] | None, timeout: float = 120) -> list[str]:
    """runai_model_streamer.list_safetensors(uri) (boto3 inside, ListObjectsV2 with '/')."""
    code = ("import json, sys; from runai_model_streamer import list_safetensors; "
            "print(json.dumps(sorted(list_safetensors(sys.argv[1]))))")
    r = subprocess.run([sys.executable, "-c", code, uri], capture_output=True, text=True, timeout=timeout,
                       env=s3_env(endpoint, key))
    assert r.returncode == 0, f"list_safetensors failed: {r.stderr}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def runai_pull(endpoint: str, uri: str, dst: Path, patterns: list[str], key: tuple[str, str] | None,
               timeout: float = 300) -> None:
    """runai_model_streamer.pull_files(uri, dst, allow_pattern=patterns): what vLLM calls for the
    config and tokenizer files (ListObjectsV2 without delimiter, download_file per key)."""
    code = ("import sys, json; from runai_model_streamer import pull_files; "
            "pull_files(sys.argv[1], sys.argv[2], allow_pattern=json.loads(sys.argv[3]))")
    r = subprocess.run([sys.executable, "-c", code, uri, str(dst), json.dumps(patterns)], capture_output=True,
                       text=True, timeout=timeout, env=s3_env(endpoint, key))
    assert r.returncode == 0, f"pull_files failed: {r.stderr}"


def _stream_main(out: str, pairs: list[str]) -> int:
    import torch
    from runai_model_streamer import SafetensorsStreamer
    from safetensors.torch import load_file

    report = {}
    for pair in pairs:
        uri, _, local = pair.partition("=")
        ref = load_file(local)
        got = {}
        with SafetensorsStreamer() as streamer:
            streamer.stream_file(uri)
            for name, tensor in streamer.get_tensors():
                got[name] = tensor.clone()
        report[uri] = {
            name: {
                "dtype": str(ref[name].dtype) if name in ref else None,
                "shape": list(got[name].shape),
                "equal": name in ref and got[name].dtype == ref[name].dtype
                and got[name].shape == ref[name].shape
                and bool(torch.equal(got[name].contiguous().view(torch.uint8),
                                     ref[name].contiguous().view(torch.uint8))),
            }
            for name in got
        }
        report[uri]["__missing__"] = sorted(set(ref) - set(got))
    Path(out).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "stream":
        sys.exit(_stream_main(sys.argv[3], sys.argv[4:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
