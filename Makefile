# driftloop: `make demo` and `make test` work on a fresh machine.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup demo test test-fast lint format bench airflow clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup:  ## create/refresh .venv and the Debian packages tests need (idempotent)
	@bash scripts/setup.sh

demo: setup  ## run the monitoring loop end to end on the demo data (SQLite, local folders)
	@bash scripts/demo.sh

lint: setup  ## ruff (lint + format check) and mypy on src/
	$(BIN)/ruff check src tests dags pipelines components bench
	$(BIN)/ruff format --check src tests dags pipelines components bench
	$(BIN)/mypy

format: setup  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests dags pipelines components bench
	$(BIN)/ruff format src tests dags pipelines components bench

test: setup lint  ## lint, then the whole test suite (slow end-to-end tests included)
	@bash scripts/test.sh

test-fast: setup  ## the test suite without slow end-to-end tests
	@bash scripts/test.sh -m "not slow"

bench: setup  ## run the benchmarks and rewrite their committed results
	@bash scripts/bench.sh

airflow: setup  ## start the Airflow UI on the demo set (http://127.0.0.1:8080)
	@bash scripts/airflow.sh

clean:  ## remove generated state (keeps .venv)
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
