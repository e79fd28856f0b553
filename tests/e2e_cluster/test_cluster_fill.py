"""Three `hubgate serve` edge nodes sharing one SeaweedFS + PostgreSQL (`--advertise`) in front
of the fake upstream, which counts the bodies it sends: one upstream transfer per file for the
whole cluster (3 nodes x 8 concurrent curl clients on a cold 256 MiB file), `hubgate cluster
status`, a node's local copies wiped (served again from the object store, no upstream traffic),
and `kill -9` of the node that fills (its lease expires, a survivor takes over and resumes from
upstream; every client of the survivors gets the right bytes; the object store holds only the
verified object)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import cluster_nodes as cn  # noqa: E402
from services import EMPTY_SHA, s3_keys, services  # noqa: E402

BIG = 256 << 20  # model.bin of the fake upstream
PATH = "/org/model/resolve/main/model.bin"


def expected_sha() -> str:
    # tests/upstream/fake_upstream.py pattern(BIG, 1)
    out = bytearray()
    block = hashlib.sha256(b"1").digest()
    while len(out) < BIG:
        block = hashlib.sha256(block).digest()
        out += block * 32
    return hashlib.sha256(bytes(out[:BIG])).hexdigest()


SHA = expected_sha()


@pytest.fixture()
def cluster(tmp_path):
    """Fresh object-store prefix, fake upstream and three nodes (lease TTL 2 s)."""
    with services(tmp_path) as env:
        cn.use_store_credentials(env)
        up = cn.harness.FakeUpstream(str(tmp_path), big_size=BIG)
        nodes = [cn.start_node(tmp_path / f"node{i}", env, up.url, lease_ttl=2) for i in range(3)]
        try:
            yield env, up, nodes, tmp_path
        finally:
            for n in nodes:
                n.stop()
            up.stop()


def s3_object_sha(env: dict[str, str], key: str) -> str:
    bucket, _, prefix = env["HUBGATE_STORE"][len("s3://"):].partition("/")
    r = subprocess.run(f"set -o pipefail; curl -sS -f --aws-sigv4 'aws:amz:{env['AWS_REGION']}:s3' "
                       f"--user '{env['AWS_ACCESS_KEY_ID']}:{env['AWS_SECRET_ACCESS_KEY']}' "
                       f"-H 'x-amz-content-sha256: {EMPTY_SHA}' "
                       f"'{env['HUBGATE_S3_ENDPOINT']}/{bucket}/{prefix}/{key}' | sha256sum",
                       shell=True, executable="/bin/bash", capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()[0]


def wait_lease_released(env):
    deadline = time.time() + 120
    while time.time() < deadline and any(l["key"].endswith(SHA) for l in cn.status(env)["leases"]):
        time.sleep(0.2)
    assert not any(l["key"].endswith(SHA) for l in cn.status(env)["leases"])


def our_members(env, nodes):
    urls = {n.url for n in nodes}
    return [m for m in cn.status(env)["members"] if m["advertise_url"] in urls]


def test_one_upstream_transfer_for_the_cluster(cluster):
    env, up, nodes, tmp = cluster
    members = our_members(env, nodes)
    assert sorted(m["advertise_url"] for m in members) == sorted(n.url for n in nodes)
    assert all(m["live"] for m in members)

    clients = [p for n in nodes for p in cn.start_clients(n.url + PATH, 8)]
    got = cn.finish_clients(clients)
    assert got == [SHA] * 24
    st = up.stats()
    assert st["body_requests"].get("model.bin") == 1
    assert st["bytes_sent"] == BIG  # exactly one transfer of the file
    # The node that fetched it stores the verified object, then gives the lease back.
    wait_lease_released(env)
    assert s3_keys(env, "blobs/") == [f"blobs/{SHA}"]
    assert s3_object_sha(env, f"blobs/{SHA}") == SHA
    per_source = [n.metrics() for n in nodes]
    assert sum(m['hubgate_cluster_fill_bytes{source="upstream"}'] for m in per_source) == BIG
    assert sum(m["hubgate_cluster_uploads"] for m in per_source) == 1

    # A node's local copies wiped (stopped, wiped, restarted on the same port): served again
    # from the object store, with no upstream traffic.
    port = nodes[0].port
    nodes[0].stop()
    shutil.rmtree(tmp / "node0" / "upstream" / "blobs")
    nodes[0] = cn.start_node(tmp / "node0", env, up.url, lease_ttl=2, port=port)
    assert cn.finish_clients(cn.start_clients(nodes[0].url + PATH, 2)) == [SHA] * 2
    st = up.stats()
    assert st["body_requests"].get("model.bin") == 1 and st["bytes_sent"] == BIG
    m = nodes[0].metrics()
    assert m['hubgate_cluster_fill_bytes{source="store"}'] == BIG
    assert m['hubgate_cluster_fill_bytes{source="upstream"}'] == 0

    # A clean stop removes the member row.
    nodes[2].stop()
    assert nodes[2].url not in {m["advertise_url"] for m in our_members(env, nodes)}


def test_kill_9_of_the_filling_node(cluster):
    env, up, nodes, tmp = cluster
    stall = 64 << 20
    # The first upstream transfer sends 64 MiB, then stalls (as a node dying mid-transfer would
    # leave it); the next one is served normally.
    up.control({"faults": {"model.bin": {"stall_at": stall, "stall_s": 300, "times": 1}}})
    clients = {i: cn.start_clients(n.url + PATH, 4) for i, n in enumerate(nodes)}
    deadline = time.time() + 120
    owner = None
    while time.time() < deadline and owner is None:
        leases = [l for l in cn.status(env)["leases"] if l["key"].endswith(SHA)]
        if leases and up.stats()["bytes_sent"] >= stall:
            ids = {m["id"]: m["advertise_url"] for m in our_members(env, nodes)}
            owner = next(i for i, n in enumerate(nodes) if n.url == ids.get(leases[0]["owner"]))
        time.sleep(0.1)
    assert owner is not None, "no node took the lease and reached the stall"
    time.sleep(0.5)  # the peers stream what the owner has
    cn.kill9(nodes[owner])
    survivors = [i for i in range(3) if i != owner]
    for i in survivors:
        assert cn.finish_clients(clients[i]) == [SHA] * 4
    cn.finish_clients(clients[owner])  # cut off with their node: not checked
    st = up.stats()
    # The stalled transfer, then one takeover that resumed where the taker was.
    assert st["body_requests"].get("model.bin") == 2
    assert st["bytes_sent"] <= BIG + stall
    assert sum(nodes[i].metrics()["hubgate_cluster_takeovers"] for i in survivors) == 1
    # Only the verified object is stored.
    wait_lease_released(env)
    assert s3_keys(env, "blobs/") == [f"blobs/{SHA}"]
    assert s3_object_sha(env, f"blobs/{SHA}") == SHA
    dead = [m for m in cn.status(env)["members"] if m["advertise_url"] == nodes[owner].url]
    assert len(dead) == 1
