#!/usr/bin/env bash
# The whole test suite against real servers: a throw-away PostgreSQL (unless
# DATABASE_URL is given) and a throw-away Redis, both on loopback, both removed
# on exit. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

scripts/system-deps.sh
scripts/bootstrap.sh requirements-dev.txt

work="$(mktemp -d /tmp/manas360-test.XXXXXX)"
chmod 755 "$work"
cleanup() {
  [ -n "${PG_CTL_STOP:-}" ] && eval "$PG_CTL_STOP" >/dev/null 2>&1 || true
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
as_db_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ -z "${DATABASE_URL:-}" ]; then
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  pg_port="$(free_port)"
  mkdir -p "$work/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres "$work/pg"
  as_db_user "$pg_bin/initdb" -D "$work/pg/data" -U postgres -A trust --no-sync >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log"; exit 1; }
  # In the config file (not on the command line) so that a test that stops and
  # restarts the server gets the same settings. Durability is off: this
  # cluster lives for one test run.
  as_db_user tee -a "$work/pg/data/postgresql.conf" >/dev/null <<CONF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  as_db_user "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 60 start >/dev/null
  PG_CTL_STOP="as_db_user $pg_bin/pg_ctl -D $work/pg/data -m immediate stop"
  export PG_BIN="$pg_bin" PG_DATA="$work/pg/data" PG_SOCKET_DIR="$work/pg" PG_RUN_AS="$( [ "$(id -u)" -eq 0 ] && echo postgres || true)"
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/manas360"
fi

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
REDIS_PID=$!
export TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0" TEST_REDIS_PORT="$redis_port" TEST_REDIS_PID="$REDIS_PID"
for _ in $(seq 50); do
  "$root/.venv/bin/python" -c "import redis,sys; redis.Redis.from_url('$TEST_REDIS_URL').ping()" 2>/dev/null && break
  sleep 0.1
done

export TESTING=1
.venv/bin/python -m pytest "$@"
