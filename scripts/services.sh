#!/usr/bin/env bash
# Starts and stops the engines of cluster mode for tests and benchmarks: SeaweedFS (an S3 API with
# SigV4 checked against an identities file) and PostgreSQL 15, on free loopback ports.
#
#   scripts/services.sh build           build (or find) the pinned SeaweedFS binary; prints its path
#   scripts/services.sh start DIR       start both; writes DIR/env (sourceable KEY=VALUE lines):
#                                         HUBGATE_DATABASE_URL  postgresql://hubgate@127.0.0.1:PORT/hubgate
#                                         HUBGATE_STORE         s3://hubgate-test/cluster
#                                         HUBGATE_S3_ENDPOINT   http://127.0.0.1:PORT
#                                         AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
#   scripts/services.sh stop DIR        stop both (idempotent) and leave DIR's data in place; a later
#                                       start DIR reuses the data and the ports (same env)
#   scripts/services.sh clean DIR       stop both and delete their data
#   scripts/services.sh restart-postgres DIR [SECONDS]
#                                       stop PostgreSQL only, keep it down SECONDS (default 2),
#                                       start it again on the same port with the same data
#
# SeaweedFS is built from scripts/seaweedfs/go.mod (the pinned version) with the Go toolchain on
# the machine; the binary is cached outside the clone at
# ${XDG_CACHE_HOME:-$HOME/.cache}/hubgate/seaweedfs-VERSION/weed (the first build takes ~15 minutes
# on 2 cores; the Go module cache is Go's own, also outside the clone). PostgreSQL comes from
# Debian (scripts/setup.sh installs it); as root it runs as the `postgres` user, its data folder
# under DIR when that user can reach DIR, else in a private folder under /tmp that DIR/pgdata
# points to.
set -euo pipefail
shopt -s inherit_errexit
here=$(cd "$(dirname "$0")/.." && pwd)
gomod="$here/scripts/seaweedfs"
pgbin=/usr/lib/postgresql/15/bin

bucket=hubgate-test
prefix=cluster
access_key=hubgate-test-key
secret_key=hubgate-test-secret-0123456789
region=us-east-1

weed_version() { awk '$1 == "require" && $2 == "github.com/seaweedfs/seaweedfs" {print $3}' "$gomod/go.mod"; }
weed_path() { echo "${XDG_CACHE_HOME:-$HOME/.cache}/hubgate/seaweedfs-$(weed_version)/weed"; }

build_weed() {
  local out; out=$(weed_path)
  if [ -x "$out" ]; then echo "$out"; return; fi
  export PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { echo "services.sh: Go is needed to build SeaweedFS (go.dev toolchain >= $(awk '$1=="go"{print $2}' "$gomod/go.mod"))" >&2; exit 1; }
  mkdir -p "$(dirname "$out")"
  echo "services.sh: building SeaweedFS $(weed_version) (first time: ~15 min on 2 cores)" >&2
  (cd "$gomod" && GOFLAGS=-mod=readonly go build -trimpath -o "$out.tmp.$$" github.com/seaweedfs/seaweedfs/weed)
  mv "$out.tmp.$$" "$out"
  echo "$out"
}

# A free loopback TCP port whose +10000 (SeaweedFS's gRPC convention) is free too.
free_port() {
  python3 - <<'EOF'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    p = random.randint(20000, 45000)
    if free(p) and free(p + 10000):
        print(p); break
EOF
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "services.sh: $what did not come up in ${secs}s" >&2
  return 1
}

as_pg() {  # runs a PostgreSQL binary, as the postgres user when we are root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_seaweedfs() {
  local dir=$1 weed; weed=$(build_weed)
  mkdir -p "$dir/seaweedfs/data"
  cat > "$dir/seaweedfs/s3.json" <<EOF
{"identities": [{"name": "hubgate", "credentials": [{"accessKey": "$access_key", "secretKey": "$secret_key"}],
                 "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
EOF
  local pm pv pf ps
  # A restart keeps the S3 endpoint clients were given; the internal ports are picked afresh, since
  # another engine started meanwhile may hold the old ones.
  if [ -f "$dir/seaweedfs/ports" ]; then
    local saved; saved=$(cat "$dir/seaweedfs/ports")
    ps=${saved##* }  # the last field (folders from before kept four ports)
  else
    ps=$(free_port)
    echo "$ps" > "$dir/seaweedfs/ports"
  fi
  pm=$(free_port); pv=$(free_port); pf=$(free_port)
  # AWS_* variables in its environment would add an admin identity: scrub them.
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    setsid "$weed" server -dir="$dir/seaweedfs/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -master.port="$pm" -volume.port="$pv" -filer.port="$pf" \
      -master.volumeSizeLimitMB=64 -volume.max=0 \
      -s3 -s3.port="$ps" -s3.config="$dir/seaweedfs/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 \
      >"$dir/seaweedfs/log" 2>&1 &
  echo $! > "$dir/seaweedfs/pid"
  local ep="http://127.0.0.1:$ps"
  wait_for 120 "SeaweedFS S3 on $ep" curl -s -o /dev/null "$ep/"
  # Create the bucket (signed as the admin identity; retried while the filer settles).
  local empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
  make_bucket() {  # 200 created, 409 already there (a restart)
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:$region:s3" \
      --user "$access_key:$secret_key" -H "x-amz-content-sha256: $empty" "$ep/$bucket")
    [ "$code" = 200 ] || [ "$code" = 409 ]
  }
  wait_for 120 "bucket $bucket" make_bucket
  echo "$ep"
}

start_postgres() {
  local dir=$1 port
  local pgdata="$dir/pgdata"
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$dir"
    if [ ! -e "$pgdata" ]; then
      if runuser -u postgres -- test -w "$dir" 2>/dev/null; then
        mkdir -p "$pgdata"
      else  # DIR is private to root (pytest's 0700 folders): keep the cluster in a private /tmp folder
        ln -s "$(mktemp -d /tmp/hubgate-pg.XXXXXX)" "$pgdata"
      fi
      chown postgres: "$(readlink -f "$pgdata")"
      chmod 700 "$(readlink -f "$pgdata")"
    fi
  else
    mkdir -p "$pgdata"
  fi
  pgdata=$(readlink -f "$pgdata")  # the postgres user may not be able to cross DIR
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    as_pg "$pgbin/initdb" -D "$pgdata" -U hubgate --auth=trust -E UTF8 --no-locale >"$dir/postgres.initdb.log" 2>&1
  fi
  if [ -f "$dir/postgres.port" ]; then port=$(cat "$dir/postgres.port"); else port=$(free_port); fi
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pgdata/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='$pgdata' -c fsync=off" \
    start >/dev/null
  echo "$port" > "$dir/postgres.port"
  as_pg "$pgbin/psql" -h 127.0.0.1 -p "$port" -U hubgate -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'hubgate'" | grep -q 1 ||
    as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U hubgate hubgate
  echo "postgresql://hubgate@127.0.0.1:$port/hubgate"
}

stop_all() {
  local dir=$1
  if [ -f "$dir/seaweedfs/pid" ]; then
    local pid; pid=$(cat "$dir/seaweedfs/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done  # 5 s, then SIGKILL
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/seaweedfs/pid"
  fi
  if [ -e "$dir/pgdata" ]; then
    local pgdata; pgdata=$(readlink -f "$dir/pgdata")
    if [ -f "$pgdata/postmaster.pid" ]; then
      as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
    fi
  fi
}

cmd=${1:-}
case "$cmd" in
  build) build_weed ;;
  start)
    dir=${2:?usage: services.sh start DIR}
    mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
    trap 'stop_all "$dir"' ERR
    ep=$(start_seaweedfs "$dir")
    db=$(start_postgres "$dir")
    trap - ERR
    cat > "$dir/env.tmp" <<EOF
HUBGATE_DATABASE_URL=$db
HUBGATE_STORE=s3://$bucket/$prefix
HUBGATE_S3_ENDPOINT=$ep
AWS_ACCESS_KEY_ID=$access_key
AWS_SECRET_ACCESS_KEY=$secret_key
AWS_REGION=$region
EOF
    mv "$dir/env.tmp" "$dir/env"
    cat "$dir/env"
    ;;
  stop)
    dir=${2:?usage: services.sh stop DIR}
    [ -d "$dir" ] && stop_all "$(cd "$dir" && pwd)"
    ;;
  restart-postgres)
    dir=${2:?usage: services.sh restart-postgres DIR [SECONDS]}
    dir=$(cd "$dir" && pwd)
    pgdata=$(readlink -f "$dir/pgdata")
    as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
    sleep "${3:-2}"
    start_postgres "$dir" >/dev/null
    ;;
  clean)
    dir=${2:?usage: services.sh clean DIR}
    if [ -d "$dir" ]; then
      dir=$(cd "$dir" && pwd)
      stop_all "$dir"
      if [ -L "$dir/pgdata" ]; then rm -rf "$(readlink -f "$dir/pgdata")"; fi
      rm -rf "$dir/pgdata" "$dir/seaweedfs" "$dir/env" "$dir/postgres.port" "$dir/postgres.initdb.log"
    fi
    ;;
  *) echo "usage: $0 build | start DIR | stop DIR | clean DIR" >&2; exit 2 ;;
esac
