# Peerlend: `make demo` and `make test` are the two commands a newcomer needs.
# Every target sets up what it needs idempotently: the venv and node_modules are
# rebuilt only when pyproject.toml / requirements.lock / package*.json change.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
STAMP_PY := $(VENV)/.installed
STAMP_JS := node_modules/.installed
WEB_BUNDLE := backend/web/dist/.built
WEB_SOURCES := $(wildcard backend/web/src/*.* backend/web/src/pages/*.js) backend/web/build.mjs

# ape-vyper finds the compiler with `which vyper` and ape-foundry finds `anvil` on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export PYTHONPATH := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup test demo fuzz mutate lint fmt bench clean

setup: $(STAMP_PY) $(STAMP_JS) $(WEB_BUNDLE)

$(STAMP_PY): pyproject.toml requirements.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@echo "== installing the Python packages into $(VENV) (pinned by requirements.lock; about 90 s the first time)"
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip==24.3.1"
	@# one dot per line pip prints (Collecting, Downloading, Installing …): progress without the noise
	@set -o pipefail; $(VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar off \
		-c requirements.lock -e ".[dev]" 2>&1 | tee $(VENV)/install.log | while IFS= read -r _; do printf '.'; done \
		|| { echo; echo "the install failed; the last lines of $(VENV)/install.log:" >&2; tail -n 15 $(VENV)/install.log >&2; exit 1; }
	@echo
	@echo "   done: activate with \`source $(VENV)/bin/activate\` to get peerlend, ape and the services on PATH"
	@touch $@

$(STAMP_JS): package.json package-lock.json
	@echo "== installing anvil and the web app's packages into node_modules (npm ci, pinned by package-lock.json)"
	npm ci --no-audit --no-fund --loglevel=error
	@anvil --version | head -n 1
	@touch $@

# The web app's bundle (served at / by the indexer API): esbuild over npm packages, never committed.
$(WEB_BUNDLE): $(STAMP_JS) $(WEB_SOURCES)
	node backend/web/build.mjs
	@touch $@

test: setup
	bash scripts/run_tests.sh

fuzz: setup
	PEERLEND_FUZZ_EXAMPLES=2000 $(VENV)/bin/pytest -q tests/contracts -k "invariant or property"

demo: setup
	bash scripts/run_demo.sh

mutate: setup
	$(VENV)/bin/python -m bench.mutation $(MUTATE_ARGS)

bench: setup
	$(VENV)/bin/python -m bench.run

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf .build .pytest_cache .hypothesis backend/web/dist $(STAMP_PY) $(STAMP_JS)
