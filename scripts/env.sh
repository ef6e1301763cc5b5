#!/usr/bin/env bash
# Create (or reuse) .venv and install dailyml with every extra. Sourced by up.sh and test.sh.
# torch is installed first, pinned: pip takes the CPU build that lies on this machine's disk;
# an unpinned torch (or uv/poetry) would download multi-GB CUDA builds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
STAMP=.venv/.dailyml-installed
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  .venv/bin/python -m pip install -q --upgrade pip setuptools wheel
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".[all]"
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
