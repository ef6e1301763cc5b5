#!/usr/bin/env bash
# Install, then run the tests.
#   scripts/test.sh               the whole suite (unit, API, SQLite and a real PostgreSQL started by
#                                 the tests, service processes over HTTP, Chromium, the images
#                                 built and the compose stack run in Docker), then the
#                                 clock-sensitive suites again with the clock at other instants
#   scripts/test.sh --fast        the inner loop: unit and in-process API tests on SQLite (< 90 s)
#   scripts/test.sh --clock-only  only the clock-sensitive suites at the other instants
# Extra arguments go to pytest (e.g. -k name, -x).
set -euo pipefail
source "$(dirname "$0")/env.sh"

mode=all
case "${1:-}" in
  --fast) mode=fast; shift ;;
  --clock-only) mode=clock; shift ;;
esac

if [ "$mode" = fast ]; then
  # tests/deploy checks the compose and k8s files: `make test` runs it.
  exec .venv/bin/python -m pytest -m "not slow and not postgres and not browser and not processes" \
    --ignore=tests/deploy "$@"
fi

need_apt=()
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The container test (tests/deploy/test_containers.py): Debian's Docker engine and CLI, and
# mmdebstrap for the local Debian base image; the test starts dockerd itself.
[ -x /usr/bin/docker ] && command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need_apt+=(mmdebstrap)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing system packages: ${need_apt[*]} (install them, or run as root); their tests will not run" >&2
  fi
fi

status=0
if [ "$mode" = all ]; then
  # Most of the suite's time is waiting (service processes starting, containers, PostgreSQL,
  # heartbeats going stale), so it runs in DAILYML_TEST_WORKERS processes (pytest-xdist), a test
  # file per worker at a time (module fixtures start their stacks once).
  .venv/bin/python -m pytest -n "${DAILYML_TEST_WORKERS:-3}" --dist loadfile --durations=15 "$@" || status=$?
fi

# The suites whose expectations involve "now" (run keys, cron fires, days of history), again with
# every process's clock at another instant: at night, a minute before midnight, and across the
# spring daylight-saving change in a non-UTC scheduler time zone. On SQLite: the clock does not
# depend on the backend, and the whole run above covers PostgreSQL. (test_any_hour.py sets its
# own instants and runs in the whole suite.)
CLOCK_SUITES=(tests/scheduler tests/frontends/test_dashboard_full_stack.py tests/frontends/test_dashboard_apptest.py)
CLOCK_RUNS=(
  "2026-12-01T03:00:00Z UTC"
  "2026-12-01T23:59:30Z UTC"
  "2026-03-29T00:59:30Z Europe/Paris"
)
# The three instants run at once (each in its own pytest session and temporary folders): their
# time is mostly spent waiting for service processes, and the suite's deadlines are sized for a
# loaded machine. Each one's output is printed whole when all have ended.
declare -a clock_pids=() clock_logs=() clock_names=()
for run in "${CLOCK_RUNS[@]}"; do
  read -r instant zone <<<"$run"
  log="$(mktemp -t dailyml-clock.XXXXXX)"
  DAILYML_TEST_CLOCK="$instant" DAILYML_SCHEDULER_TIMEZONE="$zone" \
    .venv/bin/python -m pytest -q -n "${DAILYML_TEST_CLOCK_WORKERS:-2}" --dist loadfile -m "not postgres" \
    --deselect tests/scheduler/test_any_hour.py "${CLOCK_SUITES[@]}" "$@" >"$log" 2>&1 &
  clock_pids+=("$!") clock_logs+=("$log") clock_names+=("clock at $instant ($zone)")
done
declare -a clock_results=()
for i in "${!clock_pids[@]}"; do
  if wait "${clock_pids[$i]}"; then result="passed"; else result="FAILED"; status=1; fi
  echo "=== ${clock_names[$i]}: $result ==="
  cat "${clock_logs[$i]}"
  rm -f "${clock_logs[$i]}"
  clock_results+=("$result: ${clock_names[$i]}")
done
printf '%s\n' "${clock_results[@]}"
exit "$status"
