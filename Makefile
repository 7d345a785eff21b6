# crisiswiki: `make run` serves the app, `make test` runs the whole suite. Both set up
# everything they need on a brand-new machine (virtualenv, dependencies, PostgreSQL for tests).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
# Two test processes (pytest-xdist), a test file each at a time: most tests wait on a server, a
# browser or a disk more than they compute, so two processes nearly halve the time on two cores.
# PYTEST_JOBS=0 runs everything in one process (to read a test's print()s with -s).
PYTEST_JOBS ?= 2
PYTEST_XDIST := $(if $(filter 0,$(PYTEST_JOBS)),,-n $(PYTEST_JOBS) --dist loadfile)
PYTEST_FAST := --db sqlite -m "not browser and not slow"

.PHONY: run test test-fast install postgres chromium nginx dovecot gdal lint clean-instance bench bench-quick bench-tools bench-peer translations

# What running needs (make run): the package and its dependencies, not the test and dev tools.
$(RUN_STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

# Everything (make test, make lint): also the test and dev extras.
$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/crisiswiki init-db
	@echo
	@echo "crisiswiki is starting on http://$${CRISISWIKI_BIND:-127.0.0.1:5000}"
	@$(BIN)/crisiswiki demo-login
	@echo
	exec $(BIN)/crisiswiki serve

# Debian's PostgreSQL server, for the tests that run against a real PostgreSQL.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "Installing PostgreSQL (Debian package) for the test suite"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql postgresql-contrib >/dev/null; \
	fi

# Debian's chromium, for the real-browser tests (Playwright drives it; no browser is downloaded).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing chromium (Debian package) for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

# Debian's nginx, for the reverse-proxy test (tests/security/test_behind_nginx.py starts its own).
nginx:
	@if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then \
		echo "Installing nginx (Debian package) for the reverse-proxy test"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nginx-light >/dev/null; \
	fi

# Debian's dovecot-imapd, for the mail polling tests (tests/imap_server.py starts its own on a free
# loopback port, with its own configuration; the system's dovecot service is not used).
dovecot:
	@if [ ! -x /usr/sbin/dovecot ]; then \
		echo "Installing dovecot-imapd (Debian package) for the mail polling tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dovecot-imapd >/dev/null; \
	fi

# Debian's gdal-bin, for the GIS file tests: ogr2ogr writes the Shapefiles, GeoPackages, KML and GPX
# the layer upload reads (tests/maps/test_gis_files.py), and ogrinfo reads the OGC API - Features endpoint.
gdal:
	@if ! command -v ogr2ogr >/dev/null; then \
		echo "Installing gdal-bin (Debian package) for the GIS file tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq gdal-bin >/dev/null; \
	fi

test: $(STAMP) postgres chromium nginx dovecot gdal
	$(BIN)/pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# The edit-test loop: the whole suite but the browser, PostgreSQL and load tests (about 3 minutes).
test-fast: $(STAMP)
	$(BIN)/pytest $(PYTEST_XDIST) $(PYTEST_FAST) $(PYTEST_ARGS)

# Lint and formatting, as CI checks them (ruff.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean-instance:
	rm -rf instance

# Benchmarks (bench/run.py): crisiswiki, MediaWiki (after `make bench-peer`) and the ceiling.
BENCH_STAMP := $(VENV)/.installed-bench
# The benchmark extra (setup.cfg: Crowd-Kit, beside which truth discovery is measured).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	touch $(BENCH_STAMP)

# Then the several-servers profile (bench/two_servers.py): two app servers behind nginx on one
# PostgreSQL, the same workloads, beside the SQLite figures just written; skipped with a
# message when PostgreSQL's server binaries are missing (`make postgres` installs them).
bench: $(BENCH_STAMP) bench-tools
	$(BIN)/python bench/run.py
	$(BIN)/python bench/two_servers.py --sqlite-from bench/results/latest.json

bench-quick: $(BENCH_STAMP) bench-tools
	$(BIN)/python bench/run.py --quick
	$(BIN)/python bench/two_servers.py --quick --sqlite-from bench/results/latest-quick.json

bench-tools:
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk nginx-light >/dev/null; }

# MediaWiki for the side-by-side benchmark (bench/peer/mediawiki.py): Debian's packages, Apache
# on 127.0.0.1:8081 only, the benchmark corpus imported, the parser cache warmed. Needs root (or sudo).
bench-peer: $(STAMP)
	$(BIN)/python bench/peer/mediawiki.py install
	test -f bench/work/corpus/manifest.json || $(BIN)/python bench/corpus.py
	$(BIN)/python bench/peer/mediawiki.py import
	$(BIN)/python bench/peer/mediawiki.py warm

# Translations: extract every user-facing string, merge into the catalogues, compile them.
# Catalogues: wiki/translations/<lang>/LC_MESSAGES/messages.po (the validation plugin keeps
# its own under plugins/validation/translations). New languages: add them to LANGUAGES in
# wiki/config.py and to TRANSLATED below. Running it again changes nothing when no string
# changed (a template that differs only by its creation date is not rewritten).
TRANSLATED := fr es ar
CATALOGUES := wiki:wiki/translations plugins:plugins/validation/translations
translations: $(STAMP)
	@set -e; for pair in $(CATALOGUES); do \
		src=$${pair%%:*}; dir=$${pair#*:}; \
		$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
			--project=crisiswiki -o $$dir/messages.pot.new $$src; \
		if [ -f $$dir/messages.pot ] && diff -q -I '^"POT-Creation-Date: ' $$dir/messages.pot $$dir/messages.pot.new >/dev/null; then \
			rm $$dir/messages.pot.new; \
		else \
			mv $$dir/messages.pot.new $$dir/messages.pot; \
		fi; \
		for lang in $(TRANSLATED); do \
			if [ -f $$dir/$$lang/LC_MESSAGES/messages.po ]; then \
				$(BIN)/pybabel -q update -i $$dir/messages.pot -d $$dir -l $$lang --no-fuzzy-matching --ignore-pot-creation-date; \
			else \
				$(BIN)/pybabel init -i $$dir/messages.pot -d $$dir -l $$lang; \
			fi; \
		done; \
		$(BIN)/pybabel compile -d $$dir --statistics; \
	done
