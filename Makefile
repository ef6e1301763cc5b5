.PHONY: up up-fast test lint bench
up:        ## install, then run every service on the embedded default (SQLite)
	./scripts/up.sh
up-fast:   ## the same, with fast training and the daily loop every minute
	./scripts/up.sh --fast
test:      ## install, then run the whole test suite
	./scripts/test.sh
lint:
	.venv/bin/ruff check src services frontends tests bench && .venv/bin/ruff format --check src services frontends tests bench
bench:
	.venv/bin/python bench/predictor_latency.py
