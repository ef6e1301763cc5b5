#!/usr/bin/env bash
# Install, then run the whole system on the embedded default (SQLite + a local artifact folder
# in ./.dailyml). Extra arguments go to `dailyml up` (e.g. --fast).
set -euo pipefail
source "$(dirname "$0")/env.sh"
export DAILYML_HOME="${DAILYML_HOME:-$ROOT/.dailyml}"
if [ -z "${DAILYML_ADMIN_TOKEN:-}" ]; then
  mkdir -p "$DAILYML_HOME"
  if [ ! -f "$DAILYML_HOME/admin-token" ]; then
    .venv/bin/python -c "import secrets; print(secrets.token_urlsafe(24))" > "$DAILYML_HOME/admin-token"
    chmod 600 "$DAILYML_HOME/admin-token"
  fi
  DAILYML_ADMIN_TOKEN="$(cat "$DAILYML_HOME/admin-token")"
  export DAILYML_ADMIN_TOKEN
  echo "admin token (for admin endpoints): $DAILYML_HOME/admin-token"
fi
exec dailyml up "$@"
