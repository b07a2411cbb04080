# Developer tasks. `make demo` and `make test` work on a fresh machine: they install what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_WORKSPACE ?= charter-demo

.PHONY: install demo test lint typecheck unit services bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the end-to-end lifecycle on generated data into ./charter-demo and print the story.
demo: install
	$(BIN)/charter demo --workspace $(DEMO_WORKSPACE)

## Everything CI runs: services, lint, types, the whole test suite (SQLite and PostgreSQL).
test: install services lint typecheck unit

services:
	bash scripts/services.sh

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

## Every benchmark (long: peers are installed into benchmarks/.venv; results go to benchmarks/RESULTS.md).
bench: install
	$(BIN)/python -m benchmarks.ledger
	$(BIN)/python -m benchmarks.validation
	$(BIN)/python -m benchmarks.drift
	$(BIN)/python -m benchmarks.cbpe
	$(BIN)/python -m benchmarks.ingest
	$(BIN)/python -m benchmarks.startup

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(DEMO_WORKSPACE)
