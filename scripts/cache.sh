# Sourced: CACHE_DIR, where builds keep what outlives a clone (the wheelhouse per lock file, the
# Debian base image tarball): $DAILYML_CACHE_DIR, else /var/cache/dailyml when writable, else
# ~/.cache/dailyml.
if [ -n "${DAILYML_CACHE_DIR:-}" ]; then
  CACHE_DIR="$DAILYML_CACHE_DIR"
elif mkdir -p /var/cache/dailyml 2>/dev/null && [ -w /var/cache/dailyml ]; then
  CACHE_DIR=/var/cache/dailyml
else
  CACHE_DIR="$HOME/.cache/dailyml"
fi
mkdir -p "$CACHE_DIR"
