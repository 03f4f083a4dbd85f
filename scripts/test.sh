#!/usr/bin/env bash
# The whole test suite against real servers: a throw-away PostgreSQL from the
# project's wheel (unless DATABASE_URL is given; no root needed) and a throw-away
# Redis, both on loopback, both removed on exit. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
. scripts/lib/throwaway-servers.sh

scripts/system-deps.sh
scripts/bootstrap.sh requirements-dev.txt
throwaway_init test

if [ -z "${DATABASE_URL:-}" ]; then
  # Durability off: this cluster lives for one test run.
  start_postgres "fsync = off
synchronous_commit = off
full_page_writes = off"
fi
start_redis
export TEST_REDIS_URL="$THROWAWAY_REDIS_URL" TEST_REDIS_PORT="$REDIS_PORT" TEST_REDIS_PID="$REDIS_PID"

export TESTING=1
.venv/bin/python -m pytest "$@"
