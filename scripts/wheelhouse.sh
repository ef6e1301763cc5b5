#!/usr/bin/env bash
# ./wheelhouse: a wheel for every package in requirements.lock (torch's CPU build included), so
# that the images install with `pip --no-index` and build without network access (docs/deployment.md).
# Built once per lock file in $DAILYML_CACHE_DIR/wheelhouse-<hash of the lock>, then linked here.
#   scripts/wheelhouse.sh            needs pip access to the index (PyPI; PyTorch's CPU index for torch)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/cache.sh"
PYTHON="${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}"
key="$(sha256sum requirements.lock | cut -c1-12)"
cached="$CACHE_DIR/wheelhouse-$key"
if [ ! -d "$cached" ]; then
  echo "building the wheelhouse for requirements.lock ($key) in $cached" >&2
  rm -rf "$cached.tmp"
  "$PYTHON" -m pip wheel -q --no-deps -r requirements.lock -c requirements.lock -w "$cached.tmp" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  mv "$cached.tmp" "$cached"
fi
# The build context gets the wheels as hard links (a copy across file systems): no second 600 MB.
rm -rf wheelhouse
cp -al "$cached" wheelhouse 2>/dev/null || cp -a "$cached" wheelhouse
echo "wheelhouse: $(ls wheelhouse | wc -l) wheels from $cached" >&2
