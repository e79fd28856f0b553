"""Runs one huggingface_hub call in a fresh process (so HF_* variables are read fresh).

Usage: python hh.py <op> '<json params>'; prints one JSON line. The caller sets HF_ENDPOINT,
HF_HOME, HF_TOKEN and HF_HUB_DISABLE_XET in the environment.
"""

import json
import sys


def main() -> None:
    op, params = sys.argv[1], json.loads(sys.argv[2])
    import huggingface_hub as hh
    from huggingface_hub.utils import _runtime

    api = hh.HfApi()
    out: object = None
    rt = params.get("repo_type")
    if op == "upload_folder":
        info = api.upload_folder(repo_id=params["repo"], folder_path=params["folder"], repo_type=rt,
                                 commit_message=params.get("message", "upload"),
                                 create_pr=params.get("create_pr", False))
        out = {"commit": info.oid, "pr_revision": info.pr_revision}
    elif op == "snapshot_download":
        out = {"dir": hh.snapshot_download(params["repo"], revision=params.get("revision"), repo_type=rt,
                                           cache_dir=params.get("cache_dir"))}
    elif op == "hf_hub_download":
        out = {"file": hh.hf_hub_download(params["repo"], params["path"], revision=params.get("revision"), repo_type=rt,
                                          cache_dir=params.get("cache_dir"))}
    elif op == "create_commit":  # small text files; an HTTP error is reported, not raised
        from huggingface_hub.errors import HfHubHTTPError
        ops = [hh.CommitOperationAdd(path_in_repo=k, path_or_fileobj=v.encode()) for k, v in params["files"].items()]
        try:
            info = api.create_commit(repo_id=params["repo"], operations=ops, commit_message=params.get("message", "c"),
                                     parent_commit=params.get("parent_commit"), repo_type=rt)
            out = {"commit": info.oid}
        except HfHubHTTPError as e:
            out = {"http_status": e.response.status_code, "error": str(e)}
    elif op == "create_repo":
        out = {"url": str(api.create_repo(params["repo"], repo_type=rt, exist_ok=True))}
    else:
        raise SystemExit(f"unknown op {op}")
    if isinstance(out, dict):
        out["xet_available"] = _runtime.is_xet_available()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
