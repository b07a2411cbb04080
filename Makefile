# Developer tasks. `make demo` and `make test` work on a fresh machine: they install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_WORKSPACE ?= charter-demo
DEMO_PORT      ?= 8080
# Test processes (pytest-xdist). Most slow tests wait on child processes and the database, so
# three workers keep a 2-core machine busy; tests of one file stay in one worker (--dist
# loadfile), so a module's shared fixture (a demo run, a Spark session) is built once.
TEST_WORKERS   ?= 3
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile

.PHONY: install demo test quick lint typecheck unit services browser bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the end-to-end lifecycle on generated data into ./charter-demo, print the story, then serve
## the dashboard on it (prints the URL and an owner sign-in token; Ctrl+C stops it).
demo: install
	$(BIN)/charter demo --workspace $(DEMO_WORKSPACE) --serve --port $(DEMO_PORT)

## Everything CI runs: services, lint, types, the whole test suite (SQLite and PostgreSQL).
test: install services browser lint typecheck unit

services:
	bash scripts/services.sh

## Debian's Chromium for the dashboard's browser tests (Playwright drives it; never a download).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	else echo "no /usr/bin/chromium: run 'sudo apt-get install -y chromium' (browser tests skip)"; fi

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q $(PYTEST_PARALLEL) --durations=20

## The suite without the tests marked slow (whole stories, processes, crash loops): for a quick check.
quick: install services
	$(BIN)/pytest -q $(PYTEST_PARALLEL) -m "not slow"

## Every benchmark (long: peers are installed into benchmarks/.venv; results go to benchmarks/RESULTS.md).
bench: install
	$(BIN)/python -m benchmarks.ledger
	$(BIN)/python -m benchmarks.validation
	$(BIN)/python -m benchmarks.drift
	$(BIN)/python -m benchmarks.drift_defaults
	$(BIN)/python -m benchmarks.cbpe
	$(BIN)/python -m benchmarks.cbpe --multiclass
	$(BIN)/python -m benchmarks.ingest
	$(BIN)/python -m benchmarks.startup
	$(BIN)/python -m benchmarks.serving
	$(BIN)/python -m benchmarks.dashboard
	$(BIN)/python -m benchmarks.monthly
	$(BIN)/python scripts/speed_section.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(DEMO_WORKSPACE)
