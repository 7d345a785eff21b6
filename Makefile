# crisiswiki: `make run` serves the app, `make test` runs the whole suite. Both set up
# everything they need on a brand-new machine (virtualenv, dependencies, PostgreSQL for tests).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: run test install postgres lint clean-instance bench bench-quick bench-tools bench-peer

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/crisiswiki init-db
	@echo
	@echo "crisiswiki is starting on http://127.0.0.1:5000"
	@$(BIN)/crisiswiki demo-login
	@echo
	exec $(BIN)/gunicorn --config gunicorn.conf.py

# Debian's PostgreSQL server, for the tests that run against a real PostgreSQL.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "Installing PostgreSQL (Debian package) for the test suite"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql postgresql-contrib >/dev/null; \
	fi

test: $(STAMP) postgres
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check wiki plugins tests

clean-instance:
	rm -rf instance

# Benchmarks (bench/run.py): crisiswiki, MediaWiki (after `make bench-peer`) and the ceiling.
bench: $(STAMP) bench-tools
	$(BIN)/python bench/run.py

bench-quick: $(STAMP) bench-tools
	$(BIN)/python bench/run.py --quick

bench-tools:
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk nginx-light >/dev/null; }

# MediaWiki for the side-by-side benchmark (bench/peer/mediawiki.py): Debian's packages, Apache
# on 127.0.0.1:8081 only, the benchmark corpus imported, the parser cache warmed. Needs root (or sudo).
bench-peer: $(STAMP)
	$(BIN)/python bench/peer/mediawiki.py install
	test -f bench/work/corpus/pages.jsonl || $(BIN)/python bench/corpus.py
	$(BIN)/python bench/peer/mediawiki.py import
	$(BIN)/python bench/peer/mediawiki.py warm
