# Sourced by scripts/test.sh and scripts/benchmark_env.sh: throw-away PostgreSQL and
# Redis servers on loopback, in a temporary folder removed on exit.
# Needs: $root (the repository) with .venv installed.

throwaway_init() {
  work="$(mktemp -d "/tmp/manas360-$1.XXXXXX")"
  chmod 755 "$work"
  trap throwaway_cleanup EXIT
}

throwaway_cleanup() {
  [ -n "${PG_CTL_STOP:-}" ] && eval "$PG_CTL_STOP" >/dev/null 2>&1 || true
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null || true
  rm -rf "$work"
}

free_port() { "$root/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
as_db_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_postgres <extra postgresql.conf lines>
# Exports DATABASE_URL (database manas360), PG_BIN, PG_DATA, PG_SOCKET_DIR, PG_RUN_AS and PGHOST/PGPORT/PGUSER.
start_postgres() {
  local pg_bin pg_port
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  pg_port="$(free_port)"
  mkdir -p "$work/pg"
  [ "$(id -u)" -eq 0 ] && chown postgres "$work/pg"
  as_db_user "$pg_bin/initdb" -D "$work/pg/data" -U postgres -A trust --no-sync >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log"; exit 1; }
  # Settings go in the config file, not on the command line, so that a test that
  # stops and restarts the server gets the same ones.
  as_db_user tee -a "$work/pg/data/postgresql.conf" >/dev/null <<CONF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/pg'
max_connections = 200
$1
CONF
  as_db_user "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 60 start >/dev/null
  PG_CTL_STOP="as_db_user $pg_bin/pg_ctl -D $work/pg/data -m fast stop"
  as_db_user "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres manas360
  export PG_BIN="$pg_bin" PG_DATA="$work/pg/data" PG_SOCKET_DIR="$work/pg"
  PG_RUN_AS="$( [ "$(id -u)" -eq 0 ] && echo postgres || true)"
  export PG_RUN_AS
  export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/manas360"
  export PGHOST=127.0.0.1 PGPORT="$pg_port" PGUSER=postgres
}

# start_redis: sets REDIS_PORT, REDIS_PID and THROWAWAY_REDIS_URL once the server answers.
start_redis() {
  REDIS_PORT="$(free_port)"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
  REDIS_PID=$!
  THROWAWAY_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  for _ in $(seq 50); do
    "$root/.venv/bin/python" -c "import redis; redis.Redis.from_url('$THROWAWAY_REDIS_URL').ping()" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "redis-server did not start; see $work/redis.log" >&2
  exit 1
}
