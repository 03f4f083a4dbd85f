#!/usr/bin/env bash
# Install the Debian packages the test suite still needs from the system, when missing (as root, or with sudo):
# - redis-server: the shared cache, rate limits and OTP cooldowns are tested against a real Redis, and PyPI has
#   no maintained wheel that ships the server;
# - chromium: the browser tests drive a real browser (the Django admin, the simulator's checkout page).
# PostgreSQL is not one of them: it comes from a Python wheel (requirements-local.txt) and needs no root.
set -euo pipefail
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
why="redis-server: the cache, rate limits and OTP cooldowns are tested on a real Redis; chromium: the browser tests.
PostgreSQL needs no system package and no root: it comes from a Python wheel."
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
  else
    echo "Missing system packages: ${missing[*]}. Install them (apt-get install ${missing[*]}) and retry." >&2
    echo "$why" >&2
    exit 1
  fi
fi
echo "Installing system packages as root: ${missing[*]}" >&2
echo "$why" >&2
export DEBIAN_FRONTEND=noninteractive
${SUDO:-} apt-get update -qq
${SUDO:-} apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
