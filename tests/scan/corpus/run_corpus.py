"""Generate the scan corpus into OUT (every gen_*.py here), scan it with hubgate, and assert:
every file under OUT/malicious is `dangerous`, no file under OUT/benign is `dangerous`.
Format-validation cases (named `<rule>__<what>.<ext>`, from the format generators) are format
violations graded by the spec (suspicious unless a known exploit shape): for them the verdict
must not be safe and a finding with that rule must be present.
Prints the counts (and each benign file found suspicious). Exit 0 on success.
Usage: run_corpus.py HUBGATE_BINARY OUT_DIR [PYTHON]"""
import glob
import json
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
hubgate, out = sys.argv[1], sys.argv[2]
python = sys.argv[3] if len(sys.argv) > 3 else sys.executable
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
env = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONDONTWRITEBYTECODE="1")
for gen in sorted(glob.glob(os.path.join(here, "gen_*.py"))):
    r = subprocess.run([python, gen, out], cwd=here, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"generator {os.path.basename(gen)} failed:\n{r.stderr}")
        sys.exit(1)


def scan(folder):
    r = subprocess.run([hubgate, "scan", "--format", "json", folder], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        print(f"hubgate scan {folder} exited {r.returncode}:\n{r.stderr}")
        sys.exit(1)
    return {os.path.relpath(f["file"], folder): f for f in json.loads(r.stdout)["files"]}


mal = scan(os.path.join(out, "malicious"))
ben = scan(os.path.join(out, "benign"))
failed = 0
def expected_ok(name, f):
    base = os.path.basename(name)
    if "__" in base:
        rule = base.split("__")[0]
        return f["verdict"] in ("suspicious", "dangerous") and any(x["rule"] == rule for x in f["findings"])
    return f["verdict"] == "dangerous"


for name, f in sorted(mal.items()):
    if not expected_ok(name, f):
        failed += 1
        print(f"MISSED malicious/{name}: {f['verdict']} ({f['format']})")
        for x in f["findings"]:
            print(f"    [{x['severity']}] {x['rule']} {x['subject']}: {x['message']}")
suspicious = 0
for name, f in sorted(ben.items()):
    if f["verdict"] == "dangerous":
        failed += 1
        print(f"FALSE ALARM benign/{name}: dangerous ({f['format']})")
        for x in f["findings"]:
            print(f"    [{x['severity']}] {x['rule']} {x['subject']}: {x['message']}")
    elif f["verdict"] == "suspicious":
        suspicious += 1
        print(f"note: benign/{name} is suspicious: " + "; ".join(x["rule"] for x in f["findings"]))
caught = sum(1 for f in mal.values() if f["verdict"] == "dangerous")
format_cases = sum(1 for n in mal if "__" in os.path.basename(n))
dangerous_benign = sum(1 for f in ben.values() if f["verdict"] == "dangerous")
print(f"malicious: {caught}/{len(mal)} dangerous ({format_cases} format-violation cases checked by rule); benign: {dangerous_benign}/{len(ben)} dangerous, "
      f"{suspicious}/{len(ben)} suspicious")
if not mal or not ben:
    print("empty corpus")
    sys.exit(1)
sys.exit(1 if failed else 0)
