#!/usr/bin/env bash
# Install, then run the whole test suite: unit, API, SQLite and a real PostgreSQL (started by the
# tests), service processes over HTTP, and Chromium-driven browser tests.
set -euo pipefail
source "$(dirname "$0")/env.sh"
need_apt=()
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing system packages: ${need_apt[*]} (install them, or run as root)" >&2
  fi
fi
exec .venv/bin/python -m pytest "$@"
