#!/usr/bin/env bash
# `make run`: install, migrate, seed (DEMO=1: with demo activity) and start the whole local system in one
# terminal: the API, a background-job worker and the PhonePe simulator (Procfile, run by honcho), on the
# project's own PostgreSQL under var/postgres unless DATABASE_URL is set. One Ctrl-C stops everything,
# PostgreSQL included (manas360/devservers.py stops the server it started).
# Development mode (fixed OTP, demo accounts) listens on loopback only: set HOST=0.0.0.0 to
# expose the API to the network on purpose (e.g. a phone on the same Wi-Fi).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MANAS360_RUN_DATABASE_READY:-}" ]; then
  scripts/bootstrap.sh requirements-local.txt
  MANAS360_RUN_DATABASE_READY=1 exec .venv/bin/python -m manas360.devservers run -- "$0" "$@"
fi

export DEBUG="${DEBUG:-1}" PYTHONUNBUFFERED=1
# The one place for where each part listens and how they find each other.
export HOST="${HOST:-127.0.0.1}"
export API_PORT="${PORT:-5000}"
export PHONEPE_SIMULATOR_URL="${PHONEPE_SIMULATOR_URL:-http://127.0.0.1:8081}"  # the simulator listens here; the API calls it here
export PHONEPE_CALLBACK_URL="http://127.0.0.1:$API_PORT/api/v1/payments/webhook"  # the simulator's webhooks go here
api_url="http://$([ "$HOST" = 0.0.0.0 ] && echo 127.0.0.1 || echo "$HOST"):$API_PORT"

.venv/bin/python manage.py migrate --no-input
# DEMO=1 (`make run DEMO=1`) adds 90 days of demo activity so the analytics screens have data.
if [ "${DEMO:-0}" = "1" ]; then
  .venv/bin/python manage.py seed --demo
else
  .venv/bin/python manage.py seed
fi
# Sign-in codes go through the providers' protocols to their local fakes (docs/auth.md "Local fakes"), which
# print each code in the `otp` lines. OTP_DELIVERY_CHANNEL=accounts.otp_delivery.ConsoleChannel skips them.
if [ -z "${OTP_DELIVERY_CHANNEL:-}" ] && ! grep -qs '^OTP_DELIVERY_CHANNEL=.' .env.development; then
  export OTP_DELIVERY_CHANNEL=accounts.otp_delivery.ProviderChannel
fi

cat <<TEXT

MANAS360 local system (Ctrl-C stops all of it):
  API          $api_url/   (API docs $api_url/api/docs/, staff admin $api_url/admin/)
  simulator    $PHONEPE_SIMULATOR_URL/   (PhonePe's pages and API; webhooks to $PHONEPE_CALLBACK_URL)
  worker       background jobs: payment reconciliation, refunds, renewals, expiry (docs/jobs.md)
  otp          local fakes of the WhatsApp, SMS and email providers: each sign-in code is printed here
  PostgreSQL   $(sed -E 's#//([^:/@]*):[^@]*@#//\1:***@#' <<<"$DATABASE_URL")
Each line below starts with the part that wrote it.

TEXT
# -e /dev/null: the settings read .env.development themselves; honcho's own .env loading would hand compose's
# .env to these processes.
exec .venv/bin/honcho start -e /dev/null -f Procfile
