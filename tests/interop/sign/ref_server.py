"""Runs reference `model_signing` CLI commands in one process (imports once), for interop.sh.
Reads one command per line (shell-quoted arguments, as `printf '%q '` writes them), runs
model_signing's click CLI in-process, and answers the exit status on stdout ("rc N"). The
CLI's own messages go to stderr."""
import os
import shlex
import sys
import warnings

warnings.filterwarnings("ignore")
from model_signing import _cli  # noqa: E402

# The answers use the original stdout; everything the CLI prints goes to stderr.
proto = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

for line in sys.stdin:
    args = shlex.split(line)
    if not args:
        continue
    rc = 0
    try:
        _cli.main.main(args=args, prog_name="model_signing", standalone_mode=False)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 1
    except Exception as e:  # click usage errors and the like
        print(f"model_signing: {type(e).__name__}: {e}", file=sys.stderr)
        rc = 2
    sys.stderr.flush()
    print(f"rc {rc}", file=proto, flush=True)
