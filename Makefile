# The two commands: `make run` and `make test`. Both set up everything on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := widget/node_modules/.installed
WIDGET := chatsvc/static/widget.js
# What the widget and the pane both use (markdown, DOM helpers, ids, acks, times) is in shared/.
SHARED_SRC := $(wildcard widget/src/shared/*.js)
# The widget's texts in other languages than English: the translators' catalogues, bundled by
# widget/scripts/catalogs.js (the list of languages is widget/src/languages.js).
WIDGET_PO := $(wildcard chatsvc/locale/*/LC_MESSAGES/widget.po)
WIDGET_SRC := $(filter-out widget/src/catalogs.generated.js,$(wildcard widget/src/*.js)) $(SHARED_SRC) $(WIDGET_PO) widget/scripts/catalogs.js
PANE := chatsvc/static/pane.js
PANE_SRC := $(wildcard widget/src/pane/*.js widget/src/pane/reports/*.js) $(SHARED_SRC)

.PHONY: run test test-fast lint typecheck js-check pytest widget pane bench bench-handoff bench-scale bench-abuse bench-reports clean

run: $(PY_STAMP) $(WIDGET) $(PANE)
	$(BIN)/chatsvc agents demo
	$(BIN)/chatsvc serve

test: lint typecheck js-check pytest

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

# The widget's and the pane's JavaScript: eslint, tsc on the JSDoc types, node:test.
js-check: $(NODE_STAMP)
	cd widget && npm run --silent lint
	cd widget && npm run --silent typecheck
	cd widget && npm run --silent test

# The suite runs twice: on the embedded default (SQLite), then again on PostgreSQL
# (tests/databases.py; that pass says why it skipped where PostgreSQL is unreachable).
# Each pass shares its tests among PYTEST_WORKERS processes (pytest-xdist).
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

# The fast tiers alone, on SQLite: pure functions and actions on a real database (no server, no
# browser). About a minute; `$(BIN)/pytest tests/realtime` (or browser/, scale/) runs one more tier.
test-fast: $(PY_STAMP) js-check
	$(BIN)/ruff check .
	$(PYTEST) tests/unit tests/actions $(PYTEST_ARGS)

pytest: $(PY_STAMP) $(WIDGET) $(PANE)
	$(PYTEST) $(PYTEST_ARGS)
	CHATSVC_TEST_DATABASE=postgresql $(PYTEST) $(PYTEST_ARGS)

widget: $(WIDGET)

pane: $(PANE)

bench: $(PY_STAMP) $(WIDGET)
	$(BIN)/python bench/load.py

bench-handoff: $(PY_STAMP)
	$(BIN)/python bench/handoff.py $(HANDOFF_ARGS)

# Needs PostgreSQL and Redis (see bench/scale.py --help for where).
bench-scale: $(PY_STAMP)
	$(BIN)/python bench/scale.py $(SCALE_ARGS)

# A bystander resident's ack latency alone and during each attack (sign-in, message, start and
# upload floods), all on 127.0.0.0/8; a few minutes (bench/abuse.py --help).
bench-abuse: $(PY_STAMP)
	$(BIN)/python bench/abuse.py $(ABUSE_ARGS)

# Each report over a generated year, with and without its indexes, on SQLite and on a throwaway
# PostgreSQL database next to 127.0.0.1:5432/test (bench/reports.py --help); under a minute.
bench-reports: $(PY_STAMP)
	$(BIN)/python bench/reports.py $(REPORTS_ARGS)

$(PY_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(NODE_STAMP): widget/package.json widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WIDGET): $(NODE_STAMP) $(WIDGET_SRC)
	cd widget && npm run --silent build:widget

$(PANE): $(NODE_STAMP) $(PANE_SRC)
	cd widget && npm run --silent build:pane

clean:
	rm -rf $(VENV) widget/node_modules $(WIDGET) $(WIDGET).map $(PANE) $(PANE).map
