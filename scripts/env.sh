#!/usr/bin/env bash
# Create (or reuse) .venv and install dailyml with every extra, at the versions of
# requirements.lock (the images install the same). Sourced by up.sh and test.sh.
# torch is the lock's CPU build (2.13.0+cpu), installed first: pip takes the one on this machine's
# disk (elsewhere: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu); an unpinned torch
# (or uv/poetry) would download multi-GB CUDA builds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
STAMP=.venv/.dailyml-installed
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ requirements.lock -nt "$STAMP" ]; then
  .venv/bin/python -m pip install -q -c requirements.lock pip setuptools wheel
  .venv/bin/python -m pip install -q -c requirements.lock torch
  .venv/bin/python -m pip install -q -c requirements.lock -e ".[all]"
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
