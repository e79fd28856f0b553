#!/usr/bin/env python3
"""A misbehaving Hub-shaped upstream for hubgate's pull-through tests (stdlib only).

Serves a few repositories with Hub-shaped metadata (resolve HEAD/GET, revision info, tree,
paths-info) and can be told to misbehave per file through a control endpoint:

  POST /_control  JSON {"faults": {"<path>": {...}}, "main": <commit index>, "lfs_redirect": bool,
                        "add_repo": {"name": "org/x", "dir": DIR},  (one commit: DIR's files)
                        "listing": [{"id", "downloads", "likes", ...}] (what GET /api/models lists)}
  fault keys:  truncate_at=N (send N bytes of the body, then close; Content-Length stays full)
               times=K      (the fault applies to the next K body requests, default forever)
               stall_at=N   (send N bytes, then stall for `stall_s` seconds, default 30)
               corrupt=true (flip one byte)
               status=S, retry_after=R (answer S instead, optional Retry-After header)
               ignore_range=true (answer 200 with the full body to a Range request; holds
                                  while the fault is configured, regardless of `times`)
  GET /_stats  JSON {"body_requests": {"<path>": n}, "head_requests": {...}, "api_requests": n,
                      "auth_leaks": n, "bytes_sent": n}

LFS files redirect (302) to a second "CDN" listener on another port, like the Hub does; the CDN
counts an `Authorization` header reaching it as a leak. Repos: `org/model` (public, two commits;
`main` points at commit 0 until moved), `org/private` (needs `Authorization: Bearer good`), `org/gated` (info and tree public; resolve
answers 401/403 `X-Error-Code: GatedRepo` except to `Authorization: Bearer accepted`).
Renamed and canonical names answer as the Hub does, a 307 whose relative Location names the
current repository (query kept): `old-org/model` (moved to `org/model`) and the single-segment
`model-canonical` (-> `org/model`), for `/api/models/{id}[/…]` and `/{id}/resolve/…`; every
such answer is counted in `redirects`.
Usage: fake_upstream.py --port-file FILE [--big-size BYTES]. Listens on 127.0.0.1 only.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def pattern(n, seed):
    out = bytearray()
    x = seed
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block * 32
    return bytes(out[:n])


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self, name, commits, private=False, gated=False):
        self.name = name
        self.commits = commits  # list of (commit_id, {path: bytes})
        self.private = private
        self.gated = gated  # info/tree public; resolve only for `Bearer accepted`
        self.main = 0

    def commit(self, rev):
        if rev in ("main", "HEAD"):
            return self.commits[self.main]
        for c in self.commits:
            if c[0] == rev:
                return c
        return None


def file_entry(path, data, lfs):
    e = {"type": "file", "oid": git_sha1(data), "size": len(data), "path": path}
    if lfs:
        sha = hashlib.sha256(data).hexdigest()
        pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (sha, len(data))
        e["lfs"] = {"oid": sha, "size": len(data), "pointerSize": len(pointer)}
    return e


def is_lfs(path):
    return path.endswith((".bin", ".safetensors", ".gguf", ".pkl", ".pt", ".npz"))


class State:
    def __init__(self, big_size):
        big = pattern(big_size, 1)
        c0 = {"config.json": b'{"model_type": "bert", "hidden_size": 8}\n', "model.bin": big,
              "sub/weights.safetensors": pattern(70000, 2), "README.md": b"# model\n"}
        c1 = dict(c0)
        c1["config.json"] = b'{"model_type": "bert", "hidden_size": 16}\n'
        self.repos = {
            "org/model": Repo("org/model", [("a" * 39 + "0", c0), ("b" * 39 + "1", c1)]),
            "org/private": Repo("org/private", [("c" * 39 + "2", {"secret.bin": pattern(5000, 3), "config.json": b"{}\n"})], private=True),
            "org/gated": Repo("org/gated", [("d" * 39 + "3", {"weights.bin": pattern(30000, 4), "config.json": b"{}\n"})], gated=True),
        }
        self.aliases = {"old-org/model": "org/model", "model-canonical": "org/model"}
        self.redirects = 0
        self.listing = []  # GET /api/models items: [{"id", "downloads", "likes", ...}] (set by /_control)
        self.list_requests = 0
        self.faults = {}
        self.lfs_redirect = True
        self.lock = threading.Lock()
        self.body_requests = {}
        self.head_requests = {}
        self.api_requests = 0
        self.auth_leaks = 0
        self.bytes_sent = 0
        self.blobs = {}
        for r in self.repos.values():
            for _, files in r.commits:
                for p, d in files.items():
                    self.blobs[hashlib.sha256(d).hexdigest()] = d
        self.cdn_port = 0

    def take_fault(self, path):
        with self.lock:
            f = self.faults.get(path)
            if not f:
                return None
            times = f.get("times")
            if times is not None:
                if times <= 0:
                    return None
                f["times"] = times - 1
            return dict(f)


STATE = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, msg, extra=None):
        h = {"X-Error-Code": code, "X-Error-Message": msg}
        h.update(extra or {})
        self.send_json(status, {"error": msg}, h)

    def authorized(self, repo):
        if not repo.private:
            return True
        return self.headers.get("Authorization") == "Bearer good"

    def find_repo(self, name):
        repo = STATE.repos.get(name)
        if repo is None or not self.authorized(repo):
            status = 401 if (repo is not None and not self.headers.get("Authorization")) else 404
            self.error(status, "RepoNotFound", "Repository not found")
            return None
        return repo

    # ---------------------------------------------------------------- routing
    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        if self.server.is_cdn:
            return self.cdn(parts)
        if parts[:1] == ["_control"]:
            return self.control()
        if parts[:1] == ["_stats"]:
            with STATE.lock:
                return self.send_json(200, {"body_requests": STATE.body_requests, "head_requests": STATE.head_requests,
                                            "api_requests": STATE.api_requests, "auth_leaks": STATE.auth_leaks,
                                            "bytes_sent": STATE.bytes_sent, "redirects": STATE.redirects,
                                            "list_requests": STATE.list_requests})
        if self.redirect_alias(parts, url):
            return
        if parts == ["api", "models"]:
            return self.listing(url.query)
        if parts[:2] == ["api", "models"] and len(parts) == 3:
            return self.error(404, "RepoNotFound", "Repository not found")  # an unknown bare name
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            with STATE.lock:
                STATE.api_requests += 1
            return self.api("/".join(parts[2:4]), parts[4:], url.query)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[0:2]), parts[3], "/".join(parts[4:]))
        self.error(404, "NotFound", "no route " + url.path)

    def redirect_alias(self, parts, url):
        """307 for an old or single-segment id, with the path re-rooted at the current id."""
        if parts[:2] == ["api", "models"]:
            head, rest = 2, parts[2:]
        else:
            head, rest = 0, parts
        for n in (2, 1):
            alias = "/".join(rest[:n])
            if len(rest) >= n and alias in STATE.aliases and (head == 2 or (len(rest) > n and rest[n] == "resolve")):
                target = STATE.aliases[alias]
                tail = [urllib.parse.quote(p, safe="") for p in rest[n:]]
                loc = "/" + "/".join(parts[:head] + [target] + tail) + ("?" + url.query if url.query else "")
                with STATE.lock:
                    STATE.redirects += 1
                self.send_response(307)
                self.send_header("Location", loc)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
        return False

    def listing(self, query):
        """GET /api/models: the `listing` set by /_control, filtered by author, sorted by `sort`
        (descending; ties by id), `limit` items per page, cursor = offset, absolute Link."""
        q = urllib.parse.parse_qs(query)
        with STATE.lock:
            STATE.list_requests += 1
            items = [dict(x) for x in STATE.listing]
        if "author" in q:
            items = [x for x in items if x["id"].split("/")[0] == q["author"][0]]
        key = q.get("sort", ["id"])[0]
        items.sort(key=lambda x: (-x.get(key, 0), x["id"]) if key != "id" else x["id"])
        if key == "id":
            items.reverse()
        limit = int(q.get("limit", ["1000"])[0])
        start = int(q.get("cursor", ["0"])[0])
        page = items[start:start + limit]
        extra = {}
        if start + limit < len(items):
            rest = {k: v for k, v in q.items() if k != "cursor"}
            rest["cursor"] = [str(start + limit)]
            host = "http://127.0.0.1:%d" % self.server.server_address[1]
            extra["Link"] = '<%s/api/models?%s>; rel="next"' % (host, urllib.parse.urlencode(rest, doseq=True))
        self.send_json(200, [{"_id": hashlib.sha1(x["id"].encode()).hexdigest()[:24], "private": False,
                              "tags": [], **x} for x in page], extra)

    def control(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        with STATE.lock:
            if "faults" in req:
                STATE.faults = req["faults"]
            if "main" in req:
                STATE.repos["org/model"].main = req["main"]
            if "listing" in req:
                STATE.listing = req["listing"]
            if "lfs_redirect" in req:
                STATE.lfs_redirect = req["lfs_redirect"]
            if "add_repo" in req:
                name, folder = req["add_repo"]["name"], req["add_repo"]["dir"]
                files = {}
                for root, _, names in os.walk(folder):
                    for n in names:
                        full = os.path.join(root, n)
                        files[os.path.relpath(full, folder)] = open(full, "rb").read()
                commit = hashlib.sha1(name.encode()).hexdigest()
                STATE.repos[name] = Repo(name, [(commit, files)])
                for d in files.values():
                    STATE.blobs[hashlib.sha256(d).hexdigest()] = d
            if req.get("reset_stats"):
                STATE.body_requests, STATE.head_requests = {}, {}
                STATE.api_requests = STATE.auth_leaks = STATE.bytes_sent = STATE.redirects = 0
        self.send_json(200, {"ok": True})

    def api(self, name, rest, query):
        repo = self.find_repo(name)
        if repo is None:
            return
        fault = STATE.take_fault("api")
        if fault and fault.get("status"):
            extra = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
            return self.error(fault["status"], "Fault", "injected", extra)
        if not rest or rest[0] == "revision":
            rev = rest[1] if len(rest) > 1 else "main"
            c = repo.commit(rev)
            if c is None:
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
            siblings = [{"rfilename": p} for p in sorted(c[1])]
            return self.send_json(200, {"_id": "0" * 24, "id": repo.name, "sha": c[0], "private": repo.private,
                                        "gated": False, "siblings": siblings})
        if rest[0] == "tree" and len(rest) >= 2:
            c = repo.commit(rest[1])
            if c is None:
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + rest[1])
            prefix = "/".join(rest[2:]).strip("/")
            recursive = "recursive=true" in query or "recursive=True" in query
            out, dirs = [], set()
            for p in sorted(c[1]):
                if prefix and not p.startswith(prefix + "/"):
                    continue
                tail = p[len(prefix) + 1:] if prefix else p
                if "/" in tail and not recursive:
                    d = (prefix + "/" if prefix else "") + tail.split("/")[0]
                    if d not in dirs:
                        dirs.add(d)
                        out.append({"type": "directory", "oid": "d" * 40, "size": 0, "path": d})
                    continue
                if "/" in tail and recursive:
                    d = (prefix + "/" if prefix else "") + tail.split("/")[0]
                    if d not in dirs:
                        dirs.add(d)
                        out.append({"type": "directory", "oid": "d" * 40, "size": 0, "path": d})
                out.append(file_entry(p, c[1][p], is_lfs(p)))
            return self.send_json(200, out)
        if rest[0] == "paths-info" and len(rest) >= 2:
            c = repo.commit(rest[1])
            if c is None:
                return self.error(404, "RevisionNotFound", "Invalid rev id: " + rest[1])
            n = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(n)
            if self.headers.get("Content-Type", "").startswith("application/json"):
                paths = json.loads(raw).get("paths", [])
            else:
                paths = urllib.parse.parse_qs(raw.decode()).get("paths", [])
            return self.send_json(200, [file_entry(p, c[1][p], is_lfs(p)) for p in paths if p in c[1]])
        self.error(404, "NotFound", "no api route")

    def resolve(self, name, rev, path):
        repo = self.find_repo(name)
        if repo is None:
            return
        if repo.gated and self.headers.get("Authorization") != "Bearer accepted":
            # The Hub's answers: anonymous -> 401, a token that did not accept the terms -> 403.
            if not self.headers.get("Authorization"):
                return self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it "
                                  "and be authenticated to access it. Please log in." % repo.name)
            return self.error(403, "GatedRepo", "Access to model %s is restricted and you are not in the authorized "
                              "list. Visit https://huggingface.co/%s to ask for access." % (repo.name, repo.name))
        c = repo.commit(rev)
        if c is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        data = c[1].get(path)
        if data is None:
            return self.error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": c[0]})
        lfs = is_lfs(path)
        with STATE.lock:
            if self.command == "HEAD":
                STATE.head_requests[path] = STATE.head_requests.get(path, 0) + 1
            elif not (lfs and STATE.lfs_redirect):
                STATE.body_requests[path] = STATE.body_requests.get(path, 0) + 1
        sha = hashlib.sha256(data).hexdigest()
        headers = {"X-Repo-Commit": c[0], "Accept-Ranges": "bytes"}
        if lfs:
            headers.update({"ETag": '"%s"' % sha, "X-Linked-Etag": '"%s"' % sha, "X-Linked-Size": str(len(data))})
        else:
            headers["ETag"] = '"%s"' % git_sha1(data)
        fault = None
        if self.command == "GET":
            with STATE.lock:
                pending = STATE.faults.get(path) or {}
            # Body faults of redirected files apply at the CDN; status faults apply here.
            if not (lfs and STATE.lfs_redirect) or pending.get("status"):
                fault = STATE.take_fault(path)
        if fault and fault.get("status"):
            extra = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
            return self.error(fault["status"], "Fault", "injected", extra)
        if lfs and STATE.lfs_redirect:
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:%d/cdn/%s?path=%s" % (STATE.cdn_port, sha, urllib.parse.quote(path)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_body(data, headers, fault, path)

    def cdn(self, parts):
        if self.headers.get("Authorization"):
            with STATE.lock:
                STATE.auth_leaks += 1
            return self.error(400, "Leak", "Authorization must not reach the CDN")
        if len(parts) != 2 or parts[0] != "cdn" or parts[1] not in STATE.blobs:
            return self.error(404, "NotFound", "no blob")
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        path = q.get("path", [""])[0]
        fault = None
        if self.command == "GET":
            with STATE.lock:
                STATE.body_requests[path] = STATE.body_requests.get(path, 0) + 1
            fault = STATE.take_fault(path)
            if fault and fault.get("status"):
                extra = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
                return self.error(fault["status"], "Fault", "injected", extra)
        self.send_body(STATE.blobs[parts[1]], {"Accept-Ranges": "bytes"}, fault, path)

    def send_body(self, data, headers, fault, path):
        fault = fault or {}
        with STATE.lock:
            # ignore_range holds for as long as the fault is configured, whatever its `times`.
            ignore_range = (STATE.faults.get(path) or {}).get("ignore_range")
        start, end = 0, len(data)
        rng = self.headers.get("Range")
        status = 200
        if rng and rng.startswith("bytes=") and not ignore_range:
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else max(0, len(data) - int(b))
            end = min(len(data), int(b) + 1) if (a and b) else len(data)
            if start >= len(data) and len(data) > 0:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        body = data[start:end]
        if fault.get("corrupt") and body:
            body = bytes([body[0] ^ 1]) + body[1:]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, len(data)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = fault.get("truncate_at")
        stall = fault.get("stall_at")
        try:
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.count(min(cut, len(body)))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if stall is not None:
                self.wfile.write(body[:stall])
                self.wfile.flush()
                self.count(min(stall, len(body)))
                time.sleep(fault.get("stall_s", 30))
                self.close_connection = True
                return
            step = 1 << 16
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.count(len(body[i:i + step]))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def count(self, n):
        with STATE.lock:
            STATE.bytes_sent += n


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, is_cdn):
        self.is_cdn = is_cdn
        super().__init__(addr, handler)


def main():
    global STATE
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--big-size", type=int, default=1 << 20)
    args = ap.parse_args()
    STATE = State(args.big_size)
    hub = Server(("127.0.0.1", 0), Handler, False)
    cdn = Server(("127.0.0.1", 0), Handler, True)
    STATE.cdn_port = cdn.server_address[1]
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (hub.server_address[1], cdn.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
