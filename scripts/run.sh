#!/usr/bin/env bash
# Install, migrate, seed and serve the API on http://127.0.0.1:${PORT:-5000}.
# Zero configuration: development mode and an embedded SQLite database unless
# DATABASE_URL (and friends) are set in the environment or in .env.
# Development mode (fixed OTP, demo accounts) is reachable from this machine only: set HOST=0.0.0.0 to
# expose it to the network on purpose (e.g. a phone on the same Wi-Fi).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements.txt
export DEBUG="${DEBUG:-1}"
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py seed
exec .venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-5000}"
