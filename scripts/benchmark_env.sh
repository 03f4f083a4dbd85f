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
. scripts/lib/throwaway-servers.sh

scripts/system-deps.sh
scripts/bootstrap.sh requirements-dev.txt
throwaway_init bench

if [ -z "${DATABASE_URL:-}" ]; then
  start_postgres "shared_buffers = 256MB"
fi
if [ -z "${REDIS_URL:-}" ]; then
  start_redis
  export REDIS_PID
  export REDIS_URL="$THROWAWAY_REDIS_URL"
fi

export BENCH_WORK_DIR="$work"
"$@"
