# `make run` and `make test` on a fresh clone need only python3 (3.11+), node/npm and the package
# registries: uv is bootstrapped from PyPI into .tools/, the rest comes from uv.lock and
# portals/package-lock.json. Every set-up step is a file target, so a second `make setup` does
# next to nothing.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV_STAMP := .venv/.synced
NPM_STAMP := portals/node_modules/.package-lock.json
VENDOR_DIR := portals/shared/static/vendor
VENDOR := $(VENDOR_DIR)/htmx.min.js $(VENDOR_DIR)/pico.min.css $(VENDOR_DIR)/chart.umd.min.js
LOCALES := en zh_Hans
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get
CATALOGS := $(wildcard backend/locale/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

# Never fetch a Python build: the machine's interpreter is the one to use.
export UV_PYTHON_DOWNLOADS := never

.PHONY: setup run test lint fmt bench messages chromium redis wrk

setup: $(VENV_STAMP) $(VENDOR) $(COMPILED) chromium

# `make run STRIPE=fake`: signup and billing against the project's fake Stripe
run: setup
	.venv/bin/merkato demo
	.venv/bin/merkato serve $(if $(filter fake,$(STRIPE)),--fake-stripe)

test: setup redis lint
	.venv/bin/pytest

lint: $(VENV_STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports

fmt: $(VENV_STAMP)
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: setup wrk
	.venv/bin/python bench/run.py
	.venv/bin/python bench/outbox.py

# Extract every message, then update each catalog (or start it, for a locale that has none).
messages: $(VENV_STAMP)
	.venv/bin/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 --no-location --sort-output -o backend/locale/messages.pot .
	for locale in $(LOCALES); do \
		if [ -f backend/locale/$$locale/LC_MESSAGES/messages.po ]; then \
			.venv/bin/pybabel update -i backend/locale/messages.pot -d backend/locale -D messages -l $$locale --no-fuzzy-matching --ignore-obsolete; \
		else \
			.venv/bin/pybabel init -i backend/locale/messages.pot -d backend/locale -D messages -l $$locale; \
		fi; \
	done

# Debian's python3 makes venvs only with its python3-venv package; fetch that if it is missing.
$(UV):
	@$(PYTHON) -m venv .tools 2>/dev/null || { \
		rm -rf .tools; echo "$(PYTHON) -m venv failed: installing Debian's python3-venv"; \
		$(APT_GET) update && $(APT_GET) install -y python3-venv && $(PYTHON) -m venv .tools; }
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV_STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

$(NPM_STAMP): portals/package.json portals/package-lock.json
	npm ci --prefix portals --no-audit --no-fund

$(VENDOR_DIR)/htmx.min.js: $(NPM_STAMP)
	mkdir -p $(@D) && cp portals/node_modules/htmx.org/dist/htmx.min.js $@

$(VENDOR_DIR)/pico.min.css: $(NPM_STAMP)
	mkdir -p $(@D) && cp portals/node_modules/@picocss/pico/css/pico.min.css $@

$(VENDOR_DIR)/chart.umd.min.js: $(NPM_STAMP)
	mkdir -p $(@D) && cp portals/node_modules/chart.js/dist/chart.umd.min.js $@

%.mo: %.po | $(VENV_STAMP)
	.venv/bin/pybabel compile -i $< -o $@

# The browser tests drive Debian's Chromium (with a CJK font: zh_Hans ships, and so do its
# screenshots); install it where we may (root with apt-get).
chromium:
	@if ! command -v chromium >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			$(APT_GET) update && $(APT_GET) install -y chromium fonts-wqy-zenhei; \
		else \
			echo "chromium is not installed and cannot be installed here: browser tests will not run"; \
		fi; \
	fi

# The broker tests start a Redis of their own on a free port (tests/fixtures/services.py) from
# Debian's redis-server, installed the same way as Chromium; nothing needs to be running.
redis:
	@if ! command -v redis-server >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			$(APT_GET) update && $(APT_GET) install -y redis-server; \
		else \
			echo "redis-server is not installed and cannot be installed here: broker tests will not run"; \
		fi; \
	fi

# The load generator for `make bench` (Debian's wrk), installed the same way as Chromium.
wrk:
	@if ! command -v wrk >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			$(APT_GET) update && $(APT_GET) install -y wrk; \
		else \
			echo "wrk is not installed: bench/run.py falls back to its own load generator"; \
		fi; \
	fi
