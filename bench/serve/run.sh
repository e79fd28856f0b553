#!/usr/bin/env bash
# Serving benchmark: one stored file (default 1 GiB) to 16 concurrent clients on loopback, from
# hubgate (resolve URL, sendfile) and from nginx (sendfile on, same file on the same disk), in
# the same run, interleaved. Prints each server's median throughput over RUNS runs, the ratio
# hubgate/nginx (goal >= 1.0) and hubgate's peak RSS (VmHWM; goal < 100 MB).
#   bench/serve/run.sh            env: SIZE_MB=1024 CLIENTS=16 RUNS=5 HUBGATE_BUILD_DIR=build
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${HUBGATE_BUILD_DIR:-$here/build}
size_mb=${SIZE_MB:-1024}
clients=${CLIENTS:-16}
runs=${RUNS:-5}
cmake --build "$build" --target hubgate serve_load -j"${HUBGATE_JOBS:-2}" >/dev/null
bin=$build/hubgate
load=$build/bench/serve/serve_load
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/hubgate-bench-serve.XXXXXX)
hub_pid=; nginx_pid=
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mkdir -p "$work/src"
echo "generating ${size_mb} MiB of random data..." >&2
head -c "${size_mb}M" /dev/urandom > "$work/src/blob.bin"
size=$(stat -c %s "$work/src/blob.bin")
sha=$(sha256sum "$work/src/blob.bin" | cut -d' ' -f1)

hport=$(free_port)
token=$("$bin" token create --data-dir "$work/data" --name bench --write)
"$bin" serve --listen "127.0.0.1:$hport" --data-dir "$work/data" --upstream none \
  --access-log "$work/access.log" --log-level warn 2>"$work/hubgate.err" &
hub_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$hport/healthz" >/dev/null && break; sleep 0.1; done
"$bin" push "$work/src" bench/big --endpoint "http://127.0.0.1:$hport" --token "$token" >/dev/null 2>&1
blob_rel="sha256/${sha:0:2}/${sha:2:2}/$sha"
[ -f "$work/data/store/$blob_rel" ] || { echo "push did not store the blob" >&2; exit 1; }

nport=$(free_port)
chmod -R a+rX "$work"  # nginx workers may run as another user (nobody when started by root)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nport;
    root $work/data/store;
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" &
nginx_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$nport/$blob_rel" && break; sleep 0.1; done

cat "$work/data/store/$blob_rel" > /dev/null  # page cache warm for both
hub_path="/bench/big/resolve/main/blob.bin"
declare -a hub_rates nginx_rates
for i in $(seq "$runs"); do
  out=$("$load" 127.0.0.1 "$hport" "$hub_path" "$clients" "$size") || { echo "hubgate: short or failed replies" >&2; exit 1; }
  read -r hs hb <<<"$out"
  out=$("$load" 127.0.0.1 "$nport" "/$blob_rel" "$clients" "$size") || { echo "nginx: short or failed replies" >&2; exit 1; }
  read -r ns nb <<<"$out"
  hub_rates+=("$(python3 -c "print($hb/$hs/1e6)")")
  nginx_rates+=("$(python3 -c "print($nb/$ns/1e6)")")
  echo "run $i: hubgate $(printf %.0f "${hub_rates[-1]}") MB/s, nginx $(printf %.0f "${nginx_rates[-1]}") MB/s" >&2
done
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$hub_pid/status")
python3 - "$size" "$clients" "$rss_kb" "${hub_rates[*]}" "${nginx_rates[*]}" <<'PY'
import statistics, sys
size, clients, rss_kb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
h = [float(x) for x in sys.argv[4].split()]
n = [float(x) for x in sys.argv[5].split()]
hm, nm = statistics.median(h), statistics.median(n)
print(f"file {size/2**20:.0f} MiB x {clients} clients, {len(h)} runs each (median)")
print(f"hubgate: {hm:8.0f} MB/s")
print(f"nginx:   {nm:8.0f} MB/s")
print(f"ratio hubgate/nginx: {hm/nm:.2f} (goal >= 1.0)")
print(f"hubgate peak RSS: {rss_kb/1024:.1f} MiB (goal < 100 MB)")
PY
