#!/usr/bin/env bash
# Run a command (benchmark, load test) against a throw-away PostgreSQL and Redis
# on loopback, both removed on exit, unless DATABASE_URL / REDIS_URL are given.
# Exports DATABASE_URL, REDIS_URL, PG_BIN, PG_DATA, PG_RUN_AS and PG* for psql.
# Unlike the test cluster this one keeps fsync and synchronous_commit on, so
# measured numbers include real commit costs.
#   scripts/benchmark_env.sh .venv/bin/python scripts/benchmark.py
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

scripts/system-deps.sh
scripts/bootstrap.sh requirements-dev.txt

work="$(mktemp -d /tmp/manas360-bench.XXXXXX)"
chmod 755 "$work"
cleanup() {
  [ -n "${PG_CTL_STOP:-}" ] && eval "$PG_CTL_STOP" >/dev/null 2>&1 || true
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_db_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${DATABASE_URL:-}" ]; then
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  pg_port="$(free_port)"
  mkdir -p "$work/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres "$work/pg"
  as_db_user "$pg_bin/initdb" -D "$work/pg/data" -U postgres -A trust >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log"; exit 1; }
  as_db_user tee -a "$work/pg/data/postgresql.conf" >/dev/null <<CONF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
max_connections = 200
shared_buffers = 256MB
CONF
  as_db_user "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 60 start >/dev/null
  PG_CTL_STOP="as_db_user $pg_bin/pg_ctl -D $work/pg/data -m fast stop"
  as_db_user "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres manas360
  export PG_BIN="$pg_bin" PG_DATA="$work/pg/data" PG_RUN_AS="$( [ "$(id -u)" -eq 0 ] && echo postgres || true)"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/manas360"
  export PGHOST=127.0.0.1 PGPORT="$pg_port" PGUSER=postgres
fi

if [ -z "${REDIS_URL:-}" ]; then
  redis_port="$(free_port)"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
  REDIS_PID=$!
  export REDIS_URL="redis://127.0.0.1:$redis_port/0"
  for _ in $(seq 50); do
    "$root/.venv/bin/python" -c "import redis; redis.Redis.from_url('$REDIS_URL').ping()" 2>/dev/null && break
    sleep 0.1
  done
fi

export BENCH_WORK_DIR="$work"
"$@"
