# Two commands for a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint setup setup-test chromium services bench bench-widget reliability worker web clean audit constraints

demo: setup
	$(PY) -m flask --app plugin embajador demo --serve

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

# constraints.txt pins every transitive dependency too (Werkzeug, Jinja2, urllib3, ...).
$(VENV)/.runtime: requirements.txt constraints.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt requirements-dev.txt constraints.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements-test.txt -r requirements-dev.txt -c constraints.txt
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

# The reliability suite at full size (SCALE=full: ≥ 10,000 chaos deliveries, 10 min soak);
# SCALE=ci is the bounded form .ci/run uses; `make test` runs SCALE=fast. See docs/RELIABILITY.md.
SCALE ?= full
SOAK_SECONDS_full := 600
SOAK_SECONDS_ci := 90
SOAK_SECONDS_fast := 30
reliability: setup-test services
	SCALE=$(SCALE) $(PY) -m pytest tests/reliability -q -s $(PYTEST_ARGS)
	$(PY) bench/soak.py --seconds $(SOAK_SECONDS_$(SCALE))

bench: setup-test services
	$(PY) bench/webhook_ingress.py

bench-widget: setup-test chromium node_modules/.installed
	$(PY) bench/widget_budget.py

web: setup
	$(VENV)/bin/gunicorn -c gunicorn.conf.py 'plugin:create_app()'

worker: setup
	$(PY) -m plugin.jobs.worker

# Known vulnerabilities in the pinned set (PyPI advisory data). Informational: CI does not
# run it and nothing depends on it; a finding is fixed by bumping the pin and `make constraints`.
audit: setup
	$(VENV)/bin/pip install -q pip-audit==2.10.1 -c constraints.txt
	$(VENV)/bin/pip-audit --no-deps --disable-pip --progress-spinner off -r constraints.txt

# Re-pin every installed package after changing a requirements file.
constraints: setup-test
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^pip==' > constraints.tmp
	{ sed -n '/^#/p' constraints.txt; cat constraints.tmp; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	rm -f constraints.tmp

clean:
	rm -rf $(VENV) instance
