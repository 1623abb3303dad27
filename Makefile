# SignalDesk: `make run` starts the app (sandbox without BOT_TOKEN), `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PO := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)
# Two workers (pytest-xdist): each has its own database (SQLite file, or PostgreSQL database).
PYTEST_ARGS ?= -n 2
# The Mini App's candle charts: TradingView's lightweight-charts (Apache-2.0), its standalone build
# and licence taken from the npm registry's tarball (no node_modules, no build step), checked
# against the digest of the pinned version.
LWC_VERSION := 5.2.1
LWC_SHA256 := e21cc5caa0226ef30bd8549c50b9ef926615f2a4ee6b4e486353477a55f598cf
VENDOR := webapp/miniapp/static/vendor
LWC := $(VENDOR)/lightweight-charts.standalone.production.js

.PHONY: run test lint format bench migrate install i18n clean vendor

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) $(MO) $(LWC)

$(LWC):
	@mkdir -p $(VENDOR)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent lightweight-charts@$(LWC_VERSION) >/dev/null) && \
	  tar -xzf "$$tmp"/lightweight-charts-$(LWC_VERSION).tgz -C "$$tmp" \
	    package/dist/lightweight-charts.standalone.production.js package/LICENSE && \
	  echo "$(LWC_SHA256)  $$tmp/package/dist/lightweight-charts.standalone.production.js" \
	    | sha256sum --check --quiet && \
	  cp "$$tmp"/package/LICENSE $(VENDOR)/lightweight-charts.LICENSE && \
	  cp "$$tmp"/package/dist/lightweight-charts.standalone.production.js $@
	@echo "vendored lightweight-charts $(LWC_VERSION) into $(VENDOR)"

vendor: $(LWC)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile --statistics -d locales -D messages -l $*

i18n: $(MO)

run: install
	$(PY) -m bot run

migrate: install
	$(PY) -m bot migrate

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	@for b in bench/*.py; do echo "== $$b" >&2; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
