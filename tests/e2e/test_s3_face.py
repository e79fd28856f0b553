"""The read-only S3 face of `hubgate serve` on hosted repositories, with real clients:
runai-model-streamer (what vLLM's `--load-format runai_streamer` calls) streams every tensor
byte-identical to `safetensors.torch.load_file`, signed and unsigned; boto3 (list_objects_v2
paginator, head/get, download_file of a file above the 8 MiB multipart threshold, presigned
URLs); the AWS CLI (`aws s3 ls`, `aws s3 cp`, recursive); curl for the raw shapes (Content-Range,
416 bodies, ETag equal in listing/HEAD/GET, XML errors, SigV4 with `--aws-sigv4`); private
repositories refuse unsigned, unknown-key and wrong-secret requests and accept the right key;
the Hub routes under /datasets/… keep working beside the S3 bucket of the same name.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import hubgate_e2e as hg
import s3_clients as s3

BIG = 20 * 1024 * 1024 + 4321  # above boto3's 8 MiB multipart threshold: ranged parts with If-Match
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def make_safetensors(path: Path, seed: int) -> None:
    import torch
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(seed)
    tensors = {
        "embed.weight": torch.randn(512, 256, generator=g),                          # float32, 512 KiB
        "layer.0.attn.q": torch.randn(256, 256, generator=g).to(torch.bfloat16),
        "layer.0.attn.k": torch.randn(256, 128, generator=g).to(torch.float16),
        "layer.0.mlp.up": torch.randn(1024, 1024, generator=g),                       # 4 MiB
        "layer.0.norm.bias": torch.randn(3, 7, generator=g).to(torch.float64),
        "positions": torch.arange(0, 4099, dtype=torch.int64),
        "mask": torch.randint(0, 2, (333,), generator=g).to(torch.bool),
        "quant": torch.randint(-128, 127, (1000,), generator=g, dtype=torch.int8),
        "ids": torch.randint(0, 1 << 30, (77, 3), generator=g, dtype=torch.int32),
    }
    save_file(tensors, str(path), metadata={"format": "pt"})


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("s3face")
    data = root / "data"
    data.mkdir()
    writer = hg.create_token(data, "writer", write=True)

    def s3_key(name: str, repos: str | None) -> tuple[str, str]:
        cmd = [hg.hubgate_bin(), "token", "create", "--s3", "--data-dir", str(data), "--name", name]
        if repos:
            cmd += ["--repos", repos]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        kv = dict(line.split("=", 1) for line in r.stdout.split())
        return kv["AWS_ACCESS_KEY_ID"], kv["AWS_SECRET_ACCESS_KEY"]

    keys = {"loader": s3_key("loader", "e2e/*"), "stranger": s3_key("stranger", "other/*")}
    srv = hg.start_server(data, ["--s3-domain", "s3.test"])
    model = root / "model"
    (model / "sub").mkdir(parents=True)
    make_safetensors(model / "model-00001-of-00002.safetensors", seed=1)
    make_safetensors(model / "model-00002-of-00002.safetensors", seed=2)
    (model / "config.json").write_text('{"hidden_size": 256, "model_type": "e2e"}\n')
    (model / "tokenizer.json").write_text('{"version": "1.0"}\n')
    (model / "sub" / "notes.txt").write_text("notes\n" * 50)
    (model / "sub" / "unicode é+plus.txt").write_text("héllo\n")
    (model / "empty.txt").write_bytes(b"")
    hg.write_random(model / "big.bin", BIG, seed=3)
    r = hg.hubgate_push(model, "e2e/tiny", srv.url, writer)
    assert r.returncode == 0, r.stderr
    secret = root / "secret"
    secret.mkdir()
    make_safetensors(secret / "model.safetensors", seed=4)
    (secret / "config.json").write_text('{"private": true}\n')
    r = hg.hubgate_push(secret, "e2e/secret", srv.url, writer, private=True)
    assert r.returncode == 0, r.stderr
    dataset = root / "dataset"
    dataset.mkdir()
    (dataset / "data.csv").write_text("a,b\n1,2\n")
    r = hg.hubgate_push(dataset, "e2e/data", srv.url, writer, repo_type="dataset")
    assert r.returncode == 0, r.stderr
    yield {"srv": srv, "model": model, "secret": secret, "dataset": dataset, "keys": keys, "root": root}
    assert srv.stop() == 0, srv.log_text()


def files_of(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def test_runai_streams_every_tensor_byte_identical_signed_and_unsigned(site, tmp_path):
    srv, model = site["srv"], site["model"]
    uris = {f"s3://models/e2e/tiny/main/{n}": model / n
            for n in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")}
    # list_safetensors: ListObjectsV2 with delimiter '/' (top level only), as vLLM calls it.
    for key in (None, site["keys"]["loader"]):
        assert s3.runai_list(srv.url, "s3://models/e2e/tiny/main/", key) == sorted(uris)
    # pull_files, as vLLM fetches the config and tokenizer before streaming the weights.
    s3.runai_pull(srv.url, "s3://models/e2e/tiny/main/", tmp_path / "pulled", ["*.json", "*.model", "*.py"], None)
    assert hg.tree_hashes(tmp_path / "pulled") == {n: hg.sha256_file(model / n) for n in ("config.json", "tokenizer.json")}
    # The C++ reader always signs with whatever the credential chain finds: the gateway's key,
    # and a key it does not know (served as anonymous: the repository is public).
    for key in (site["keys"]["loader"], ("AKIAUNKNOWNKEY000000", "not-a-secret")):
        report = s3.runai_stream(srv.url, uris, tmp_path / "report.json", key)
        for uri in uris:
            assert report[uri].pop("__missing__") == []
            tensors = report[uri]
            assert len(tensors) == 9
            assert all(t["equal"] for t in tensors.values()), tensors
            assert {t["dtype"] for t in tensors.values()} >= {"torch.bfloat16", "torch.float16", "torch.float32",
                                                              "torch.int64", "torch.bool", "torch.int8"}
    # Small chunks: many concurrent ranged GETs per file.
    report = s3.runai_stream(srv.url, uris, tmp_path / "report2.json", site["keys"]["loader"],
                             {"RUNAI_STREAMER_CHUNK_BYTESIZE": str(5 * 1024 * 1024), "RUNAI_STREAMER_CONCURRENCY": "8"})
    assert all(t["equal"] for u in uris for n, t in report[u].items() if n != "__missing__")


def test_runai_streams_a_private_repository_with_the_right_key_only(site, tmp_path):
    srv, secret = site["srv"], site["secret"]
    uris = {"s3://models/e2e/secret/main/model.safetensors": secret / "model.safetensors"}
    report = s3.runai_stream(srv.url, uris, tmp_path / "r.json", site["keys"]["loader"])
    assert all(t["equal"] for n, t in report[next(iter(uris))].items() if n != "__missing__")
    env = s3.s3_env(srv.url, ("AKIAUNKNOWNKEY000000", "not-a-secret"))
    r = subprocess.run([os.sys.executable, str(s3.HERE / "s3_clients.py"), "stream", srv.url,
                        str(tmp_path / "no.json"), f"{next(iter(uris))}={secret / 'model.safetensors'}"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode != 0 and not (tmp_path / "no.json").exists()


def test_boto3_paginator_head_get_and_download_file(site, tmp_path):
    srv, model = site["srv"], site["model"]
    c = s3.boto3_client(srv.url)
    want = files_of(model)
    pages = list(c.get_paginator("list_objects_v2").paginate(Bucket="models", Prefix="e2e/tiny/main/",
                                                           PaginationConfig={"PageSize": 3}))
    assert len(pages) == -(-(len(want) + 1) // 3)  # + .gitattributes
    listed = {o["Key"]: o for p in pages for o in p.get("Contents", [])}
    assert sorted(listed) == sorted(["e2e/tiny/main/" + n for n in want] + ["e2e/tiny/main/.gitattributes"])
    for name, path in want.items():
        key = "e2e/tiny/main/" + name
        data = path.read_bytes()
        assert listed[key]["Size"] == len(data)
        head = c.head_object(Bucket="models", Key=key)
        got = c.get_object(Bucket="models", Key=key)
        body = got["Body"].read()
        assert body == data
        assert listed[key]["ETag"] == head["ETag"] == got["ETag"]
        assert head["ContentLength"] == len(data)
        lfs = name.endswith((".safetensors", ".bin"))
        assert head["ETag"] == '"%s"' % (hashlib.sha256(data).hexdigest() if lfs else hg.git_blob_sha1(data))
    # Delimiter: top-level objects and one common prefix.
    top = c.list_objects_v2(Bucket="models", Prefix="e2e/tiny/main/", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["e2e/tiny/main/sub/"]
    assert "e2e/tiny/main/sub/notes.txt" not in {o["Key"] for o in top["Contents"]}
    assert top["KeyCount"] == len(top["Contents"]) + 1
    # StartAfter and a prefix inside the revision.
    sub = c.list_objects_v2(Bucket="models", Prefix="e2e/tiny/main/sub/", StartAfter="e2e/tiny/main/sub/notes.txt")
    assert [o["Key"] for o in sub["Contents"]] == ["e2e/tiny/main/sub/unicode é+plus.txt"]
    # The commit id as revision.
    commit = srv.get("/api/models/e2e/tiny").json()["sha"]
    by_commit = c.list_objects_v2(Bucket="models", Prefix=f"e2e/tiny/{commit}/")
    assert by_commit["KeyCount"] == len(want) + 1
    # No such revision, or (for a caller who could see it) no such repository: an empty listing.
    # Anonymous callers cannot tell a missing repository from a private one: AccessDenied, as
    # S3 answers callers without the list permission.
    assert c.list_objects_v2(Bucket="models", Prefix="e2e/tiny/nobranch/")["KeyCount"] == 0
    signed = s3.boto3_client(srv.url, site["keys"]["loader"])
    assert signed.list_objects_v2(Bucket="models", Prefix="e2e/nothing/main/")["KeyCount"] == 0
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        c.list_objects_v2(Bucket="models", Prefix="e2e/nothing/main/")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # download_file: HEAD, then 8 MiB ranged GETs with If-Match (s3transfer) for big.bin.
    c.download_file("models", "e2e/tiny/main/big.bin", str(tmp_path / "big.bin"))
    assert hg.sha256_file(tmp_path / "big.bin") == hg.sha256_file(model / "big.bin")
    c.download_file("models", "e2e/tiny/main/sub/unicode é+plus.txt", str(tmp_path / "u.txt"))
    assert (tmp_path / "u.txt").read_bytes() == (model / "sub" / "unicode é+plus.txt").read_bytes()
    # Errors as S3 codes.
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="models", Key="e2e/tiny/main/missing.txt")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket="models", Key="e2e/tiny/main/config.json", Range="bytes=1000-2000")
    assert e.value.response["Error"]["Code"] == "InvalidRange"
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket="models", Key="e2e/tiny/main/new.txt", Body=b"x")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert [b["Name"] for b in c.list_buckets()["Buckets"]] == ["datasets", "models"]
    c.head_bucket(Bucket="models")
    # The datasets bucket.
    d = c.get_object(Bucket="datasets", Key="e2e/data/main/data.csv")["Body"].read()
    assert d == (site["dataset"] / "data.csv").read_bytes()


def test_private_repository_refuses_unsigned_and_wrong_keys(site, tmp_path):
    from botocore.exceptions import ClientError
    srv, secret = site["srv"], site["secret"]
    key = "e2e/secret/main/config.json"
    cases = {
        "unsigned": (None, "AccessDenied"),
        "unknown key": (("AKIAUNKNOWNKEY000000", "x" * 40), "AccessDenied"),
        "wrong secret": ((site["keys"]["loader"][0], "y" * 40), "SignatureDoesNotMatch"),
        "key without the repository": (site["keys"]["stranger"], "NoSuchKey"),
    }
    for what, (k, code) in cases.items():
        c = s3.boto3_client(srv.url, k)
        with pytest.raises(ClientError) as e:
            c.get_object(Bucket="models", Key=key)
        assert e.value.response["Error"]["Code"] == code, what
        if code == "AccessDenied":
            with pytest.raises(ClientError) as e:
                c.list_objects_v2(Bucket="models", Prefix="e2e/secret/main/")
            assert e.value.response["Error"]["Code"] == "AccessDenied", what
    c = s3.boto3_client(srv.url, site["keys"]["loader"])
    assert c.get_object(Bucket="models", Key=key)["Body"].read() == (secret / "config.json").read_bytes()
    assert sorted(o["Key"] for o in c.list_objects_v2(Bucket="models", Prefix="e2e/secret/main/")["Contents"]) == [
        "e2e/secret/main/.gitattributes", "e2e/secret/main/config.json", "e2e/secret/main/model.safetensors"]
    c.download_file("models", "e2e/secret/main/model.safetensors", str(tmp_path / "m.safetensors"))
    assert hg.sha256_file(tmp_path / "m.safetensors") == hg.sha256_file(secret / "model.safetensors")
    # A presigned URL (query-string SigV4) works with plain curl; tampering with it does not.
    url = c.generate_presigned_url("get_object", Params={"Bucket": "models", "Key": key}, ExpiresIn=600)
    status, _ = hg.curl(url, tmp_path / "presigned.out")
    assert status == 200 and (tmp_path / "presigned.out").read_bytes() == (secret / "config.json").read_bytes()
    status, _ = hg.curl(url.replace("config.json", "model.safetensors"), tmp_path / "tampered.out")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in (tmp_path / "tampered.out").read_bytes()


def test_aws_cli_ls_and_cp(site, tmp_path):
    srv, model = site["srv"], site["model"]
    r = s3.aws_cli(srv.url, ["s3", "ls", "s3://models/e2e/tiny/main/"])
    assert r.returncode == 0, r.stderr
    assert re.search(r"PRE sub/", r.stdout) and "config.json" in r.stdout and "big.bin" in r.stdout, r.stdout
    r = s3.aws_cli(srv.url, ["s3", "ls", "--recursive", "s3://models/e2e/tiny/main/sub/"])
    assert r.returncode == 0 and "unicode é+plus.txt" in r.stdout, r.stdout
    r = s3.aws_cli(srv.url, ["s3", "ls", "s3://models/e2e/tiny/nobranch/"])
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)  # empty listing
    r = s3.aws_cli(srv.url, ["s3", "cp", "--recursive", "s3://models/e2e/tiny/main/", str(tmp_path / "all")])
    assert r.returncode == 0, r.stderr
    got = hg.tree_hashes(tmp_path / "all")
    got.pop(".gitattributes")
    assert got == hg.tree_hashes(model)
    r = s3.aws_cli(srv.url, ["s3", "cp", "s3://models/e2e/secret/main/model.safetensors", str(tmp_path / "p")],
                   key=site["keys"]["loader"])
    assert r.returncode == 0, r.stderr
    assert hg.sha256_file(tmp_path / "p") == hg.sha256_file(site["secret"] / "model.safetensors")
    r = s3.aws_cli(srv.url, ["s3", "cp", "s3://models/e2e/secret/main/config.json", str(tmp_path / "q")])
    assert r.returncode != 0 and "403" in r.stderr, r.stderr


def test_raw_shapes_with_curl(site, tmp_path):
    srv, model = site["srv"], site["model"]
    base = f"{srv.url}/models/e2e/tiny/main"
    big = (model / "big.bin").read_bytes()
    # Ranged GETs: 206 with the exact Content-Range; open-ended and suffix ranges.
    for rng, (a, b) in {"bytes=0-7": (0, 7), "bytes=100-": (100, BIG - 1), "bytes=-10": (BIG - 10, BIG - 1),
                        f"bytes={BIG - 5}-{BIG + 100}": (BIG - 5, BIG - 1)}.items():
        status, h = hg.curl(f"{base}/big.bin", tmp_path / "r.out", range_header=rng)
        assert status == 206 and h["content-range"] == f"bytes {a}-{b}/{BIG}", (rng, status, h)
        assert (tmp_path / "r.out").read_bytes() == big[a:b + 1]
        assert h["etag"] == '"%s"' % hashlib.sha256(big).hexdigest() and h["accept-ranges"] == "bytes"
        assert h["x-amz-request-id"]
    # 416: Content-Range bytes */T, an XML body with RangeRequested and ActualObjectSize.
    for name, size in (("big.bin", BIG), ("empty.txt", 0)):
        status, h = hg.curl(f"{base}/{name}", tmp_path / "e.out", range_header=f"bytes={BIG}-")
        assert status == 416 and h["content-range"] == f"bytes */{size}", (name, h)
        assert h["content-type"] == "application/xml"
        err = ET.fromstring((tmp_path / "e.out").read_bytes())
        assert err.findtext("Code") == "InvalidRange" and err.findtext("ActualObjectSize") == str(size)
        assert err.findtext("RangeRequested") == f"bytes={BIG}-"
    # Whole objects: 200, no Content-Range; empty objects included.
    status, h = hg.curl(f"{base}/empty.txt", tmp_path / "z.out")
    assert status == 200 and "content-range" not in h and (tmp_path / "z.out").read_bytes() == b""
    # A malformed Range is ignored (the whole object).
    status, h = hg.curl(f"{base}/config.json", tmp_path / "m.out", range_header="bytes=zz")
    assert status == 200 and (tmp_path / "m.out").read_bytes() == (model / "config.json").read_bytes()
    # ETag identical in listing, HEAD and GET.
    status, _ = hg.curl(f"{srv.url}/models?list-type=2&prefix=e2e/tiny/main/con", tmp_path / "l.out")
    listing = ET.fromstring((tmp_path / "l.out").read_bytes())
    assert status == 200 and listing.tag == NS + "ListBucketResult"
    assert [k.text for k in listing.iter(NS + "Key")] == ["e2e/tiny/main/config.json"]
    list_etag = listing.find(f"{NS}Contents/{NS}ETag").text
    head = srv.request("HEAD", "/models/e2e/tiny/main/config.json")
    assert head.status == 200 and head.body == b"" and head.header("Content-Length") == str(
        (model / "config.json").stat().st_size)
    assert head.header("Last-Modified").endswith(" GMT")
    _, get = hg.curl(f"{base}/config.json", tmp_path / "g.out")
    assert list_etag == head.header("etag") == get["etag"] == '"%s"' % hg.git_blob_sha1((model / "config.json").read_bytes())
    # Conditionals: If-Match mismatch 412, If-None-Match match 304.
    r = srv.request("GET", "/models/e2e/tiny/main/config.json", headers={"If-Match": '"nope"'})
    assert r.status == 412 and ET.fromstring(r.body).findtext("Code") == "PreconditionFailed"
    r = srv.request("GET", "/models/e2e/tiny/main/config.json", headers={"If-None-Match": list_etag})
    assert r.status == 304 and r.body == b""
    # Date conditionals against Last-Modified (the commit date), with S3's precedence.
    last, old = head.header("Last-Modified"), "Mon, 01 Jan 2001 00:00:00 GMT"
    cond = {(("If-Modified-Since", last),): 304, (("If-Modified-Since", old),): 200,
            (("If-Unmodified-Since", old),): 412, (("If-Unmodified-Since", last),): 200,
            (("If-Match", list_etag), ("If-Unmodified-Since", old)): 200,
            (("If-None-Match", '"other"'), ("If-Modified-Since", last)): 200}
    for headers, status in cond.items():
        r = srv.request("GET", "/models/e2e/tiny/main/config.json", headers=dict(headers))
        assert r.status == status, (headers, r.status, r.body)
    # XML errors: NoSuchKey (GET has a body, HEAD none), NoSuchBucket, AccessDenied, NotImplemented.
    status, h = hg.curl(f"{base}/nope.txt", tmp_path / "n.out")
    err = ET.fromstring((tmp_path / "n.out").read_bytes())
    assert status == 404 and err.findtext("Code") == "NoSuchKey" and err.findtext("Key") == "e2e/tiny/main/nope.txt"
    assert err.findtext("RequestId") == h["x-amz-request-id"]
    r = srv.request("HEAD", "/models/e2e/tiny/main/nope.txt")
    assert r.status == 404 and r.body == b""
    akid, secret = site["keys"]["loader"]
    out = tmp_path / "nb.out"
    r = subprocess.run(["curl", "-sS", "-o", str(out), "-w", "%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
                        "--user", f"{akid}:{secret}", f"{srv.url}/weights/x/y/main/a.bin"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout == "404" and ET.fromstring(out.read_bytes()).findtext("Code") == "NoSuchBucket", r.stdout
    # curl's own SigV4 (no x-amz-content-sha256 header: the empty-body hash) on a private object.
    r = subprocess.run(["curl", "-sS", "-o", str(out), "-w", "%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:s3",
                        "--user", f"{akid}:{secret}", f"{srv.url}/models/e2e/secret/main/config.json"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout == "200" and out.read_bytes() == (site["secret"] / "config.json").read_bytes(), r.stdout
    status, _ = hg.curl(f"{srv.url}/models/e2e/secret/main/config.json", tmp_path / "ad.out")
    assert status == 403 and ET.fromstring((tmp_path / "ad.out").read_bytes()).findtext("Code") == "AccessDenied"
    r = srv.request("GET", "/models?acl")
    assert r.status == 501 and ET.fromstring(r.body).findtext("Code") == "NotImplemented"
    r = srv.request("DELETE", "/models/e2e/tiny/main/config.json")
    assert r.status == 403 and ET.fromstring(r.body).findtext("Code") == "AccessDenied"
    # Virtual-host style for the configured domain.
    def vhost(path: str, host: str) -> tuple[str, bytes]:
        r = subprocess.run(["curl", "-sS", "-o", str(out), "-w", "%{http_code}", "-H", f"Host: {host}",
                            srv.url + path], capture_output=True, text=True, timeout=60)
        return r.stdout, out.read_bytes()

    assert vhost("/e2e/tiny/main/config.json", f"models.s3.test:{srv.port}") == (
        "200", (model / "config.json").read_bytes())
    status, body = vhost("/?list-type=2&prefix=e2e/tiny/main/sub/", "models.s3.test")
    assert status == "200" and [k.text for k in ET.fromstring(body).iter(NS + "Key")] == [
        "e2e/tiny/main/sub/notes.txt", "e2e/tiny/main/sub/unicode é+plus.txt"]


def test_hub_routes_are_not_shadowed(site, tmp_path):
    srv = site["srv"]
    csv = (site["dataset"] / "data.csv").read_bytes()
    # /datasets/{org}/{name}/resolve/{rev}/{path} is the Hub's; /datasets/{org}/{name}/{rev}/{path} is S3's.
    hub = srv.request("GET", "/datasets/e2e/data/resolve/main/data.csv")
    assert hub.status == 200 and hub.body == csv and hub.header("X-Repo-Commit")
    assert hub.header("x-amz-request-id") is None
    face = srv.request("GET", "/datasets/e2e/data/main/data.csv")
    assert face.status == 200 and face.body == csv and face.header("x-amz-request-id")
    # The Hub's resolve shape under /models stays the Hub's (which reserves that namespace).
    r = srv.request("GET", "/models/tiny/resolve/main/config.json")
    assert r.status == 400 and r.json()["error"] == "namespace 'models' is reserved"
    assert r.header("x-amz-request-id") is None
    assert srv.get("/api/models/e2e/tiny").json()["id"] == "e2e/tiny"
    # huggingface_hub still downloads through the Hub routes.
    from huggingface_hub import hf_hub_download
    got = hf_hub_download("e2e/data", "data.csv", repo_type="dataset", endpoint=srv.url, cache_dir=tmp_path / "hc")
    assert Path(got).read_bytes() == csv


def test_s3_face_off_leaves_only_the_hub(tmp_path):
    data = tmp_path / "data"
    srv = hg.start_server(data, ["--s3-face", "off"])
    try:
        r = srv.request("GET", "/models?list-type=2&prefix=a/b/main/")
        assert r.status == 404 and r.header("Content-Type").startswith("application/json")
        assert srv.request("GET", "/").status == 404
    finally:
        assert srv.stop() == 0, srv.log_text()
