#!/usr/bin/env python3
"""Every hubgate command follows the same command-line conventions:
- `hubgate <command> --help` (and of each subcommand) prints its usage on stdout and exits 0;
- `hubgate --version` / `hubgate version` print the version and exit 0;
- an unknown flag is refused with exit status 2 and a message that names the flag;
- no arguments at all is a usage error (2), printed on stderr.
Usage: cli_conventions.py HUBGATE_BINARY"""
import re
import subprocess
import sys

HUBGATE = sys.argv[1]
failures = []


def run(*args):
    return subprocess.run([HUBGATE, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def check(cond, what, r=None):
    if not cond:
        detail = "" if r is None else f"\n  rc={r.returncode}\n  stdout={r.stdout[:300]!r}\n  stderr={r.stderr[:300]!r}"
        failures.append(what + detail)


top = run("--help")
check(top.returncode == 0 and top.stdout.startswith("usage:"), "hubgate --help", top)
commands = re.findall(r"^  (\S+)\s", top.stdout.split("commands:")[1], re.M)
check(len(commands) >= 10, "hubgate --help lists the commands", top)

subcommands = [("token", "create"), ("xet", "chunk"), ("xet", "hash"), ("xet", "dedup"), ("xet", "stats"),
               ("store", "migrate")]
for argv in [(c,) for c in commands] + subcommands:
    for flag in ("--help", "-h"):
        r = run(*argv, flag)
        name = " ".join(argv)
        check(r.returncode == 0, f"hubgate {name} {flag} exits 0", r)
        check(r.stdout.lstrip().lower().startswith("usage:"), f"hubgate {name} {flag} prints its usage on stdout", r)
        check(r.stderr == "", f"hubgate {name} {flag} writes nothing on stderr", r)

version = re.compile(r"^hubgate \d+\.\d+\.\d+\n$")
for argv in (("--version",), ("version",)):
    r = run(*argv)
    check(r.returncode == 0 and version.match(r.stdout), "hubgate " + " ".join(argv) + " prints the version", r)

# Unknown flags are named. Commands whose usage needs positional arguments get plausible ones,
# so that the flag is what they stumble on.
with_args = {"sign": ("key", "."), "verify": ("key", "."), "digest": ("."), "scan": (".",), "push": (".", "a/b"),
             "pull": ("a/b",), "xet": ("stats",), "token": ("create",)}
for c in commands + ["version"]:
    extra = with_args.get(c, ())
    extra = (extra,) if isinstance(extra, str) else extra
    r = run(c, *extra, "--no-such-flag")
    check(r.returncode == 2, f"hubgate {c} --no-such-flag exits 2", r)
    check("--no-such-flag" in r.stderr, f"hubgate {c} --no-such-flag names the flag", r)

r = run()
check(r.returncode == 2 and "usage:" in r.stderr and r.stdout == "", "hubgate without a command", r)
r = run("no-such-command")
check(r.returncode == 2 and "no-such-command" in r.stderr, "an unknown command is named", r)

checked = len(commands) + len(subcommands)
if failures:
    print(f"{len(failures)} convention(s) broken:")
    for f in failures:
        print(" -", f)
    sys.exit(1)
print(f"command-line conventions hold for {checked} commands and subcommands")
