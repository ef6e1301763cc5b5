.PHONY: up up-fast test test-fast test-clock lint bench bench-quick soak images
up:        ## install, then run every service on the embedded default (SQLite)
	./scripts/up.sh
up-fast:   ## the same, with fast training and the daily loop every minute
	./scripts/up.sh --fast
test:      ## install, then run the whole test suite (then the clock-sensitive suites at other instants)
	./scripts/test.sh
test-fast: ## the inner loop: unit and in-process API tests on SQLite (no processes, PostgreSQL or browser)
	./scripts/test.sh --fast
test-clock: ## the scheduler, daily-loop and dashboard suites with the clock at night, near midnight, across DST
	./scripts/test.sh --clock-only
lint:      ## ruff (lint + format) everywhere, mypy on the core, services and frontends, the lock against the venv
	.venv/bin/python scripts/lock.py --check
	.venv/bin/ruff check src services frontends tests bench
	.venv/bin/ruff format --check src services frontends tests bench
	.venv/bin/mypy src/dailyml services frontends
images:    ## the five images, built offline from the wheelhouse of requirements.lock (docs/deployment.md)
	./scripts/images.sh
bench:     ## the benchmarks (they print their figures)
	.venv/bin/python bench/predictor_latency.py
	.venv/bin/python bench/monitoring_queries.py
	.venv/bin/python bench/synthesizers.py
	.venv/bin/python bench/load.py
soak:      ## 10 minutes of the whole back end (daily loop each minute, dashboard, predictions): no growth
	.venv/bin/python bench/soak.py
bench-quick: ## the serving bench in about two minutes (fast-profile store kept in /tmp; what CI runs, no thresholds)
	.venv/bin/python bench/predictor_latency.py --quick --home /tmp/dailyml-bench-fast
