# Confide: `make run` for the demo, `make test` for every check. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CASES ?= 300
CHROMIUM ?= /usr/bin/chromium
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: run test lint typecheck pytest install install-dev browser clean bench

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11+ is needed: install python3 and python3-venv."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js and npm are needed for GOV.UK Frontend: install nodejs and npm."; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Translations: the .po files are the source; babel (a Python dependency) compiles them, so no
# GNU gettext is needed. The .mo files are built, never committed (see .gitignore).
LOCALE_MO := $(patsubst %.po,%.mo,$(wildcard confide/*/locale/*/LC_MESSAGES/django.po))
%.mo: %.po | $(VENV)/.installed-run
	$(BIN)/pybabel --quiet compile --use-fuzzy -i $< -o $@

install: $(VENV)/.installed-run node_modules/.installed $(LOCALE_MO)
install-dev: $(VENV)/.installed-dev node_modules/.installed $(LOCALE_MO)

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing: run 'sudo apt-get install chromium' (browser tests will be skipped, or fail under CONFIDE_STRICT=1)."; \
	  fi; \
	fi

run: install
	@mkdir -p var
	$(BIN)/confide keys init --demo --if-missing
	$(BIN)/confide migrate --no-input -v 0
	$(BIN)/confide keys migrate-epochs
	$(BIN)/confide collectstatic --no-input -v 0
	$(BIN)/confide demo --cases $(CASES)
	@echo "Starting the background worker and the web server on http://$(HOST):$(PORT)/ (Ctrl-C stops both)"
	@$(BIN)/confide worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/confide serve --bind $(HOST):$(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy confide tests bench

# PYTEST_ARGS: more pytest options; .ci/run's PostgreSQL pass deselects the db_independent tests.
pytest: install-dev browser
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache .pytest_cache
