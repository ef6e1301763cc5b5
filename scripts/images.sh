#!/usr/bin/env bash
# Build every dailyml image from the one Dockerfile, offline: dependencies from ./wheelhouse
# (scripts/wheelhouse.sh), each RUN step without network.
#   scripts/images.sh                 on python:3.11-slim-bookworm (pulled from Docker Hub)
#   scripts/images.sh --local-base    on a Debian bookworm + Python 3.11 base made here from
#                                     Debian's packages (mmdebstrap), and a PostgreSQL image on it
#                                     (dailyml-local/postgres:15), for machines with no registry
# Environment: DOCKER (the CLI, default `docker`), BASE_IMAGE, DAILYML_IMAGE_PREFIX (dailyml),
# DAILYML_IMAGE_TAG (0.1.0), DAILYML_CACHE_DIR (where the wheelhouse and base tarball are kept).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/cache.sh"
DOCKER="${DOCKER:-docker}"
PREFIX="${DAILYML_IMAGE_PREFIX:-dailyml}"
TAG="${DAILYML_IMAGE_TAG:-0.1.0}"
TARGETS=(predictor generator scheduler gradio dashboard)
LOCAL_BASE=dailyml-local/python:3.11-bookworm
LOCAL_POSTGRES=dailyml-local/postgres:15
export DOCKER_BUILDKIT=1

local_base() {
  # Debian's own packages, no registry: the same bookworm + Python 3.11 as the public image.
  if ! "$DOCKER" image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
    local tarball="$CACHE_DIR/debian-bookworm-python3.11.tar"
    if [ ! -f "$tarball" ]; then
      command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing: apt-get install -y mmdebstrap" >&2; exit 1; }
      echo "making the Debian base $tarball (mmdebstrap)" >&2
      # (the output's extension says its format: a tarball, written aside until complete)
      mmdebstrap --quiet --variant=apt --include=python3.11,python3-venv,ca-certificates bookworm "$tarball.partial.tar"
      mv "$tarball.partial.tar" "$tarball"
    fi
    "$DOCKER" import "$tarball" "$LOCAL_BASE" >/dev/null
  fi
  # apt needs the Debian mirror: this one build runs with the host's network (layer-cached).
  "$DOCKER" build -q --network host --build-arg BASE_IMAGE="$LOCAL_BASE" -t "$LOCAL_POSTGRES" deploy/postgres >/dev/null
}

BASE_IMAGE="${BASE_IMAGE:-python:3.11-slim-bookworm}"
if [ "${1:-}" = --local-base ]; then
  local_base
  BASE_IMAGE="$LOCAL_BASE"
fi
[ -d wheelhouse ] && [ -n "$(ls wheelhouse)" ] || scripts/wheelhouse.sh
for target in "${TARGETS[@]}"; do
  start=$SECONDS
  "$DOCKER" build -q --network none --build-arg BASE_IMAGE="$BASE_IMAGE" --target "$target" \
    -t "$PREFIX/$target:$TAG" . >/dev/null
  echo "built $PREFIX/$target:$TAG in $((SECONDS - start)) s" >&2
done
# The images this rebuild replaced (untagged now): not kept.
"$DOCKER" image prune -f --filter label=io.dailyml.image=true >/dev/null
