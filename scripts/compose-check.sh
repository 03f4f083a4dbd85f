#!/usr/bin/env bash
# Validate docker-compose.yml with a real Compose parser (no Docker engine needed).
# Prefers `docker compose config`; where only Debian's docker-compose 1.29 exists, it
# validates a copy without the top-level `name:` key, the one Compose v2 key 1.29 lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
if docker compose version >/dev/null 2>&1; then
  exec docker compose -f docker-compose.yml config -q
fi
if ! command -v docker-compose >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
copy="$(mktemp /tmp/compose.XXXXXX.yml)"
trap 'rm -f "$copy"' EXIT
sed '/^name:/d' docker-compose.yml >"$copy"
docker-compose -f "$copy" --project-directory "$PWD" config -q
echo "docker-compose.yml is valid (docker-compose $(docker-compose version --short))"
