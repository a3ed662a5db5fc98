# Two commands do everything: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest install clean schema

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/uptake demo

lint: $(STAMP)
	$(BIN)/ruff check analyser connectors tests benchmarks
	$(BIN)/ruff format --check analyser connectors tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy analyser connectors

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest

schema: $(STAMP)
	$(BIN)/uptake schema > docs/report.schema.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
