#!/usr/bin/env bash
# Install, migrate, seed (DEMO=1: with demo activity) and serve the API on http://127.0.0.1:${PORT:-5000}.
# Zero configuration: development mode and an embedded SQLite database unless
# DATABASE_URL (and friends) are set in the environment or in .env.
# Development mode (fixed OTP, demo accounts) listens on loopback only: set HOST=0.0.0.0 to
# expose it to the network on purpose (e.g. a phone on the same Wi-Fi).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements.txt
export DEBUG="${DEBUG:-1}"
.venv/bin/python manage.py migrate --no-input
# DEMO=1 (`make run DEMO=1`) adds 90 days of demo activity so the analytics screens have data.
if [ "${DEMO:-0}" = "1" ]; then
  .venv/bin/python manage.py seed --demo
else
  .venv/bin/python manage.py seed
fi
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-5000}"
