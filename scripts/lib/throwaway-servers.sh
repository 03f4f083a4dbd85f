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

# start_postgres <extra postgresql.conf lines>
# A fresh PostgreSQL from the project's wheel (manas360/devservers.py; as root it runs as the `postgres` user).
# Exports DATABASE_URL (database manas360), PG_BIN, PG_DATA, PG_SOCKET_DIR, PG_RUN_AS and PGHOST/PGPORT/PGUSER;
# sets PG_CTL_STOP for the cleanup. Its settings are in its config file: a test that restarts it gets the same.
start_postgres() {
  local exports
  exports="$("$root/.venv/bin/python" -m manas360.devservers throwaway "$work/pg" --conf "$1")" || exit 1
  eval "$exports"
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
