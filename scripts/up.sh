#!/usr/bin/env bash
# Install, then run the whole system on the embedded default (SQLite + a local artifact folder
# in ./.dailyml). Extra arguments go to `dailyml up` (e.g. --fast). Without DAILYML_ADMIN_TOKEN,
# `dailyml up` generates one (32 characters, secrets.token_urlsafe(24)) in $DAILYML_HOME/admin-token.
set -euo pipefail
source "$(dirname "$0")/env.sh"
export DAILYML_HOME="${DAILYML_HOME:-$ROOT/.dailyml}"
exec dailyml up "$@"
