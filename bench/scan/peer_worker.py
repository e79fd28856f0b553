"""Run one peer scanner over a list of files in-process; print one JSON line per file:
{"file": path, "verdict": "dangerous"|"suspicious"|"safe"|"error", "seconds": t}.
Usage: peer_worker.py PEER FILE...   (PEER: picklescan | modelscan | modelaudit | fickling)"""
import json
import logging
import signal
import sys
import time
import zipfile

logging.disable(logging.CRITICAL)
peer = sys.argv[1]
files = sys.argv[2:]


def picklescan(path):
    from picklescan.scanner import SafetyLevel, scan_file_path
    r = scan_file_path(path)
    levels = {g.safety for g in r.globals}
    if r.infected_files > 0 or SafetyLevel.Dangerous in levels:
        return "dangerous"
    if SafetyLevel.Suspicious in levels:
        return "suspicious"
    if r.scan_err:
        return "error"
    return "safe"


_ms = None


def modelscan(path):
    global _ms
    from modelscan.modelscan import ModelScan
    if _ms is None:
        _ms = ModelScan()
    r = ModelScan().scan(path)
    sev = {str(i.get("severity", "")).upper() for i in r.get("issues", [])}
    if sev & {"CRITICAL", "HIGH"}:
        return "dangerous"
    if sev & {"MEDIUM", "LOW"}:
        return "suspicious"
    if r.get("errors"):
        return "error"
    return "safe"


def modelaudit(path):
    from modelaudit.core import scan_file
    r = scan_file(path)
    sev = {getattr(i.severity, "value", str(i.severity)).lower() for i in r.issues}
    if "critical" in sev:
        return "dangerous"
    if "warning" in sev:
        return "suspicious"
    return "safe"


def fickling(path):
    from fickling.analysis import Severity
    from fickling.loader import scan_file, scan_zip_archive
    if zipfile.is_zipfile(path):
        results = list(scan_zip_archive(path, graceful=True).values())
    else:
        results = [scan_file(path, graceful=True)]
    worst = max((r.severity for r in results), default=Severity.LIKELY_SAFE)
    if worst >= Severity.LIKELY_UNSAFE:
        return "dangerous"
    if worst > Severity.LIKELY_SAFE:
        return "suspicious"
    return "safe"


run = {"picklescan": picklescan, "modelscan": modelscan, "modelaudit": modelaudit, "fickling": fickling}[peer]


def on_alarm(*_):
    raise TimeoutError


signal.signal(signal.SIGALRM, on_alarm)
for f in files:
    t = time.perf_counter()
    try:
        signal.alarm(120)
        v = run(f)
    except BaseException as e:  # a peer crashing on a file is a data point, not a bench failure
        v = "error"
        if isinstance(e, KeyboardInterrupt):
            raise
    finally:
        signal.alarm(0)
    print(json.dumps({"file": f, "verdict": v, "seconds": time.perf_counter() - t}), flush=True)
