"""The S3 face on a pull-through edge: a repository the edge does not have yet is filled from
upstream (an origin hubgate) on the first S3 read, through the same resolve/fill/gate path as
`/{repo}/resolve/{rev}/{path}`. runai-model-streamer streams every tensor of a cold model
byte-identical to `safetensors.torch.load_file`; boto3 lists and downloads; the AWS CLI copies;
a file the edge's security gate blocks (a malicious pickle upstream, origin started with
--gate off) is AccessDenied with the gate's reason, cold and warm, GET and HEAD; a private
upstream repository is refused to anonymous S3 clients.
"""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import hubgate_e2e as hg  # noqa: E402
import s3_clients as s3  # noqa: E402
from test_s3_face import make_safetensors  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "scan" / "corpus"


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("s3edge")
    corpus = root / "corpus"
    r = subprocess.run([sys.executable, str(CORPUS / "gen_pickle.py"), str(corpus)], cwd=CORPUS,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    odata = root / "origin"
    odata.mkdir()
    otok = hg.create_token(odata, "pub", write=True)
    origin = hg.start_server(odata, ["--gate", "off"])
    model = root / "model"
    (model / "sub").mkdir(parents=True)
    make_safetensors(model / "model.safetensors", seed=11)
    (model / "config.json").write_text('{"model_type": "edge"}\n')
    (model / "sub" / "notes.txt").write_text("n\n" * 10)
    (model / "evil.pkl").write_bytes((corpus / "malicious" / "os_system_p2.pkl").read_bytes())
    hg.write_random(model / "big.bin", 12 * 1024 * 1024 + 3, seed=12)
    assert hg.hubgate_push(model, "up/model", origin.url, otok).returncode == 0
    private = root / "private"
    private.mkdir()
    (private / "config.json").write_text("{}\n")
    assert hg.hubgate_push(private, "up/private", origin.url, otok, private=True).returncode == 0
    edata = root / "edge"
    edge = hg.start_server(edata, upstream=origin.url)
    yield {"origin": origin, "edge": edge, "model": model, "edata": edata}
    assert edge.stop() == 0, edge.log_text()
    assert origin.stop() == 0, origin.log_text()


def test_runai_streams_a_cold_pull_through_model(chain, tmp_path):
    edge, model, edata = chain["edge"], chain["model"], chain["edata"]
    uri = "s3://models/up/model/main/model.safetensors"
    assert s3.runai_list(edge.url, "s3://models/up/model/main/", None) == [uri]
    report = s3.runai_stream(edge.url, {uri: model / "model.safetensors"}, tmp_path / "r.json",
                             ("AKIAUNKNOWNKEY000000", "not-a-secret"))
    assert report[uri].pop("__missing__") == []
    assert len(report[uri]) == 9 and all(t["equal"] for t in report[uri].values()), report
    # The edge filled its cache from upstream: the file is now served from it.
    sha = hg.sha256_file(model / "model.safetensors")
    assert [p for p in (edata / "upstream").rglob("*") if sha in p.name]


def test_boto3_and_aws_cli_through_the_edge(chain, tmp_path):
    edge, model = chain["edge"], chain["model"]
    c = s3.boto3_client(edge.url)
    pages = list(c.get_paginator("list_objects_v2").paginate(Bucket="models", Prefix="up/model/main/",
                                                           PaginationConfig={"PageSize": 2}))
    listed = {o["Key"]: o for p in pages for o in p.get("Contents", [])}
    assert sorted(listed) == ["up/model/main/.gitattributes", "up/model/main/big.bin", "up/model/main/config.json",
                              "up/model/main/evil.pkl", "up/model/main/model.safetensors",
                              "up/model/main/sub/notes.txt"]
    for name in ("config.json", "big.bin", "sub/notes.txt"):
        key = "up/model/main/" + name
        head = c.head_object(Bucket="models", Key=key)
        assert head["ETag"] == listed[key]["ETag"] and head["ContentLength"] == (model / name).stat().st_size
    c.download_file("models", "up/model/main/big.bin", str(tmp_path / "big.bin"))  # ranged parts, If-Match
    assert hg.sha256_file(tmp_path / "big.bin") == hg.sha256_file(model / "big.bin")
    r = s3.aws_cli(edge.url, ["s3", "cp", "s3://models/up/model/main/sub/notes.txt", str(tmp_path / "n.txt")])
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "n.txt").read_bytes() == (model / "sub" / "notes.txt").read_bytes()
    r = s3.aws_cli(edge.url, ["s3", "ls", "s3://models/up/model/main/"])
    assert r.returncode == 0 and "PRE sub/" in r.stdout and "model.safetensors" in r.stdout, r.stdout


def test_gate_blocked_file_is_access_denied_with_the_reason(chain, tmp_path):
    from botocore.exceptions import ClientError
    edge = chain["edge"]
    c = s3.boto3_client(edge.url)
    # Cold: the edge holds the answer until the verdict; then warm; GET and HEAD.
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            c.get_object(Bucket="models", Key="up/model/main/evil.pkl")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        assert "posix.system" in e.value.response["Error"]["Message"], e.value.response
    r = edge.request("HEAD", "/models/up/model/main/evil.pkl")
    assert r.status == 403 and r.body == b""
    status, _ = hg.curl(f"{edge.url}/models/up/model/main/evil.pkl", tmp_path / "evil.out")
    err = ET.fromstring((tmp_path / "evil.out").read_bytes())
    assert status == 403 and err.findtext("Code") == "AccessDenied" and "posix.system" in err.findtext("Message")
    r = s3.aws_cli(edge.url, ["s3", "cp", "s3://models/up/model/main/evil.pkl", str(tmp_path / "e.pkl")])
    assert r.returncode != 0 and not (tmp_path / "e.pkl").exists()


def test_private_upstream_repository_is_refused_to_anonymous_clients(chain):
    """Upstream sees S3 clients as anonymous (their AWS signature is the edge's business)."""
    from botocore.exceptions import ClientError
    for key in (None, ("AKIAUNKNOWNKEY000000", "x" * 40)):
        c = s3.boto3_client(chain["edge"].url, key)
        with pytest.raises(ClientError) as e:
            c.get_object(Bucket="models", Key="up/private/main/config.json")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
        with pytest.raises(ClientError) as e:
            c.list_objects_v2(Bucket="models", Prefix="up/private/main/")
        assert e.value.response["Error"]["Code"] == "AccessDenied"
