# ileti: `make run` serves the API on http://127.0.0.1:8080 (SQLite file ileti.db);
# `make test` runs ruff and the whole test suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: run test lint format bench proof proof-quick clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ileti needs Python >= 3.11 (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@

# The admin token (outbox, control API) is made once and kept in .ileti-demo.json;
# ILETI_ADMIN_TOKEN, when set, wins (ileti demo prints that one).
run: $(STAMP)
	$(BIN)/ileti migrate
	$(BIN)/ileti demo --url http://$(HOST):$(PORT)
	token="$$($(BIN)/ileti demo --print-token)" && \
	  ILETI_ADMIN_TOKEN="$$token" exec $(BIN)/ileti serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench proof
	$(BIN)/ruff format --check src tests bench proof

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench proof
	$(BIN)/ruff format src tests bench proof

# The suite on every core (pytest-xdist; PYTEST_WORKERS=0: in this process only).
# --dist load hands each worker its tests in collection order, so that the browser
# tests stay last within each worker (tests/conftest.py: pytest_collection_modifyitems).
PYTEST_WORKERS ?= auto

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist load

$(BENCH_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install -q -e ".[dev,bench]"
	@touch $@

bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || { echo "installing wrk (Debian package)"; \
	  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }; }
	$(BIN)/python bench/add_blacklist.py
	$(BIN)/python bench/get_blacklist.py
	$(BIN)/python bench/import_blacklist.py
	$(BIN)/python bench/send_sms.py
	$(BIN)/python bench/consent.py
	$(BIN)/python bench/get_report.py
	$(BIN)/python bench/outbox.py
	$(BIN)/python bench/longpolls.py
	$(BIN)/python bench/servers.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/sustained.py
	$(BIN)/python bench/panel.py
	$(BIN)/python bench/client.py
	$(BIN)/python bench/fixtures.py
	$(BIN)/python bench/relay.py

# The evidence of docs/reliability.md: every script in proof/ (fuzzing, crashes,
# shutdown, faults, concurrency), each printing what it injected and what was lost.
# `make proof-quick` is the short version CI runs.
proof: $(STAMP)
	@set -e; for script in proof/[a-z]*.py; do echo "== $$script"; $(BIN)/python $$script $(PROOF_ARGS); done

proof-quick: PROOF_ARGS = --quick
proof-quick: proof

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build src/*.egg-info
