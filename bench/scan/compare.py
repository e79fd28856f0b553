"""hubgate scan side by side with the peer scanners (picklescan, modelscan, modelaudit, fickling)
on the same generated corpus, in the same run, plus single-core throughput on a ~1 GB torch
checkpoint. Prints a per-file table, a summary per tool, and the throughput figures.

Usage: compare.py HUBGATE_BINARY WORK_DIR [--size-mb N] [--runs N] [--skip-throughput]
Run with the project venv (.venv/bin/python): the peers are pinned in tests/scan/peers/."""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
corpus_dir = os.path.join(root, "tests", "scan", "corpus")
PEERS = ["picklescan", "modelscan", "modelaudit", "fickling"]
SHORT = {"dangerous": "D", "suspicious": "s", "safe": ".", "error": "E", None: "?"}

ap = argparse.ArgumentParser()
ap.add_argument("hubgate")
ap.add_argument("work")
ap.add_argument("--size-mb", type=int, default=1024)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--skip-throughput", action="store_true")
ap.add_argument("--only-throughput", action="store_true")
args = ap.parse_args()
py = sys.executable
available = list(PEERS)
env = dict(os.environ, PYTHONWARNINGS="ignore")
if not args.only_throughput:
    out = os.path.join(args.work, "corpus")
    os.makedirs(out, exist_ok=True)
    for gen in sorted(glob.glob(os.path.join(corpus_dir, "gen_*.py"))):
        subprocess.run([py, gen, out], cwd=corpus_dir, env=env, check=True, capture_output=True)

    files = sorted(glob.glob(os.path.join(out, "malicious", "*")) + glob.glob(os.path.join(out, "benign", "*")))
    expected = {f: os.path.basename(os.path.dirname(f)) for f in files}
    verdicts = {}

    r = subprocess.run([args.hubgate, "scan", "--format", "json"] + files, capture_output=True, text=True)
    verdicts["hubgate"] = {f["file"]: f["verdict"] for f in json.loads(r.stdout)["files"]}
    available = []
    for peer in PEERS:
        t = time.time()
        p = subprocess.run([py, os.path.join(here, "peer_worker.py"), peer] + files, capture_output=True, text=True, env=env)
        got = {}
        for line in p.stdout.splitlines():
            try:
                j = json.loads(line)
                got[j["file"]] = j["verdict"]
            except ValueError:
                pass
        if not got:
            print(f"{peer}: could not be run here ({p.stderr.strip().splitlines()[-1:] or 'no output'})")
            continue
        available.append(peer)
        verdicts[peer] = got
        print(f"{peer}: {len(got)} files in {time.time() - t:.1f} s", file=sys.stderr)

    tools = ["hubgate"] + available
    print("\n| file | expected | " + " | ".join(tools) + " |")
    print("|---|---|" + "---|" * len(tools))
    for f in files:
        row = [os.path.relpath(f, out), expected[f]] + [SHORT[verdicts[t].get(f)] for t in tools]
        print("| " + " | ".join(row) + " |")
    print("\nD = dangerous, s = suspicious, . = safe, E = error\n")
    print("| tool | malicious → dangerous | malicious flagged (D or s) | benign → dangerous | benign → suspicious | errors |")
    print("|---|---|---|---|---|---|")
    mal = [f for f in files if expected[f] == "malicious"]
    ben = [f for f in files if expected[f] == "benign"]
    for t in tools:
        v = verdicts[t]
        md = sum(v.get(f) == "dangerous" for f in mal)
        mf = sum(v.get(f) in ("dangerous", "suspicious") for f in mal)
        bd = sum(v.get(f) == "dangerous" for f in ben)
        bs = sum(v.get(f) == "suspicious" for f in ben)
        err = sum(v.get(f) in ("error", None) for f in files)
        print(f"| {t} | {md}/{len(mal)} | {mf}/{len(mal)} | {bd}/{len(ben)} | {bs}/{len(ben)} | {err} |")
    missed = [os.path.relpath(f, out) for f in mal if verdicts["hubgate"].get(f) != "dangerous"
              and any(verdicts[p].get(f) == "dangerous" for p in available)]
    print(f"\nmalicious files some peer calls dangerous but hubgate does not: {missed or 'none'}")

if args.skip_throughput:
    sys.exit(0)
# --- throughput: ~1 GB real torch checkpoint, single core ------------------------------------
big = os.path.join(args.work, f"checkpoint_{args.size_mb}mb.pt")
if not os.path.exists(big):
    subprocess.run([py, "-c", f"""
import torch, collections
torch.manual_seed(0)
n = {args.size_mb} * (1 << 20) // 4 // 64
sd = collections.OrderedDict((f"layers.{{i}}.weight", torch.randn(n // 1024, 1024)) for i in range(64))
torch.save(sd, {big!r})
"""], check=True, env=env)
size = os.path.getsize(big)


PEER_TIMEOUT = 300


def timed(cmd, runs, timeout=None):
    """Median wall time of `runs` runs pinned to core 0; None if a run exceeds `timeout`."""
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        try:
            subprocess.run(["taskset", "-c", "0"] + cmd, capture_output=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def show(peer, t, size, hub):
    if t is None:
        print(f"  {peer:12s}   did not finish within {PEER_TIMEOUT} s")
    else:
        print(f"  {peer:12s}   {t:.3f} s  ({size / t / 2**20:.0f} MiB/s, interpreter start included) → hubgate is {t / hub:.1f}x faster")


subprocess.run(["cat", big], stdout=subprocess.DEVNULL)  # warm the page cache
hub = timed([args.hubgate, "scan", big], args.runs)
print(f"\nthroughput on {size / 2**20:.0f} MiB torch checkpoint ({big}), single core (taskset -c 0), median of {args.runs}:")
print(f"  hubgate scan:  {hub:.3f} s  ({size / hub / 2**30:.2f} GiB/s, process start included)")
for peer in available:
    show(peer, timed([py, os.path.join(here, "peer_worker.py"), peer, big], max(1, args.runs // 2), PEER_TIMEOUT), size, hub)

# --- pickle machine throughput: an opcode-dense pickle (no big binary blobs to skip) ----------
dense = os.path.join(args.work, "dense_100mb.pkl")
if not os.path.exists(dense):
    subprocess.run([py, "-c", f"""
import pickle
rows = [{{"id": i, "name": "tok%d" % i, "score": i * 0.5, "tags": ("a", "b", i)}} for i in range(1_600_000)]
open({dense!r}, "wb").write(pickle.dumps(rows, protocol=4))
"""], check=True, env=env)
dsize = os.path.getsize(dense)
hub = timed([args.hubgate, "scan", dense], args.runs)
print(f"\npickle-machine throughput on a {dsize / 2**20:.0f} MiB opcode-dense pickle (1.6 M dicts), single core, median of {args.runs}:")
print(f"  hubgate scan:  {hub:.3f} s  ({dsize / hub / 2**20:.0f} MiB/s)")
for peer in [p for p in ("picklescan", "fickling", "modelscan") if p in available]:
    show(peer, timed([py, os.path.join(here, "peer_worker.py"), peer, dense], 1, PEER_TIMEOUT), dsize, hub)
