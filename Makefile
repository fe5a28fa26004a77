# Two commands for a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint setup setup-test chromium services bench bench-widget worker web clean

demo: setup
	$(PY) -m flask --app plugin embajador demo

test: setup-test chromium node_modules/.installed services
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff (style, imports at the top), mypy (strict on the pure rules and the Shopify client)
# and import-linter (the layering in pyproject.toml).
lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

setup: $(VENV)/.runtime

setup-test: $(VENV)/.test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements-test.txt -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

chromium:
	@bash scripts/chromium.sh

# Browser-test and bench tools (axe-core, lighthouse), exactly as package-lock.json pins them.
# `make demo` never needs Node.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm: not found; install Node.js 20 (apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

services:
	@bash scripts/services.sh

bench: setup-test services
	$(PY) bench/webhook_ingress.py

bench-widget: setup-test chromium node_modules/.installed
	$(PY) bench/widget_budget.py

web: setup
	$(VENV)/bin/gunicorn -c gunicorn.conf.py 'plugin:create_app()'

worker: setup
	$(PY) -m plugin.jobs.worker

clean:
	rm -rf $(VENV) instance
