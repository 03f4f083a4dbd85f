#!/usr/bin/env bash
# Install, migrate, seed (DEMO=1: with demo activity) and serve the API on http://127.0.0.1:${PORT:-5000}.
# Zero configuration: development mode, an embedded SQLite database and the OTP provider fakes unless
# DATABASE_URL (and friends) are set in the environment or in .env.
# Development mode (fixed OTP, demo accounts) is reachable from this machine only: set HOST=0.0.0.0 to
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
# Sign-in codes go through the providers' protocols to their local fakes (docs/auth.md "Local fakes"), which
# print each code here. OTP_DELIVERY_CHANNEL=accounts.otp_delivery.ConsoleChannel skips them.
if [ -z "${OTP_DELIVERY_CHANNEL:-}" ] && ! grep -qs '^OTP_DELIVERY_CHANNEL=.' .env; then
  export OTP_DELIVERY_CHANNEL=accounts.otp_delivery.ProviderChannel
  .venv/bin/python manage.py otp_provider_fakes &
  fakes_pid=$!
  trap 'kill "$fakes_pid" 2>/dev/null || true' EXIT
fi
.venv/bin/python manage.py runserver "${HOST:-127.0.0.1}:${PORT:-5000}"
