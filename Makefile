# Two commands for newcomers: `make demo` and `make test`. Both bootstrap a fresh machine that
# has only python3 and make: uv comes from the uv on the PATH or, failing that, is installed by
# pip into .tools/uv (a folder of its own, so a PEP 668 "externally managed" system Python is
# never touched), then the locked set.
SHELL := /bin/bash
TOOLS_DIR := $(CURDIR)/.tools
UV := $(shell command -v uv 2>/dev/null || echo "$(TOOLS_DIR)/uv/bin/uv")
NORRUT_HOME ?= $(CURDIR)/.norrut
DEMO_WORLD ?= $(CURDIR)/.demo-world
export NORRUT_HOME

.PHONY: setup uv demo test test-fast browser screenshots bench lint clean

uv:
	@$(UV) --version >/dev/null 2>&1 || bash .ci/install-uv "$(TOOLS_DIR)/uv"

setup: uv
	@$(UV) sync --locked --extra cluster

# Debian's Chromium for the portal's browser test; a test tool's own browser download fails here.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		echo "Installing Debian's chromium for the browser tests"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# The main job on the embedded defaults: a DuckDB file, MLflow on SQLite and Prefect's temporary
# server, all under $(NORRUT_HOME). 25,000 persons keep it within three minutes on two cores;
# `make demo DEMO_PERSONS=50000` runs the full default world.
DEMO_PERSONS ?= 25000
# The label horizon (train's default): the demo also scores this many days before its as-of date.
DEMO_BACKTEST_DAYS ?= 14
demo: setup
	$(UV) run --locked norrut simulate $(DEMO_WORLD) --faults --persons $(DEMO_PERSONS)
	@echo "Segments: activation/demo_segments.yaml, the shipped segments with a minimum audience of 100 persons to fit this small world (real campaigns: activation/default_segments.yaml)"
	PREFECT_SERVER_ANALYTICS_ENABLED=false $(UV) run --locked norrut pipeline \
		--inbox $(DEMO_WORLD)/inbox --catalog $(DEMO_WORLD)/catalog.csv \
		--segments-file activation/demo_segments.yaml
	@echo "Scoring also as of $(DEMO_BACKTEST_DAYS) days before the demo's as-of date (the champion's test snapshot), a run whose label horizon has passed, so 'norrut monitor' can backtest it"
	$(UV) run --locked norrut score --as-of $$($(UV) run --locked python -c "import datetime, json; \
		print(datetime.date.fromisoformat(json.load(open('$(DEMO_WORLD)/world.json'))['as_of']) \
		- datetime.timedelta(days=$(DEMO_BACKTEST_DAYS)))")
	@echo "A day later: scoring and exporting the next day, so each segment has files of who joined and who left"
	@next_day=$$($(UV) run --locked norrut status --json | python3 -c 'import datetime, json, sys; last = json.load(sys.stdin)["last_event_at"][:10]; print(datetime.date.fromisoformat(last) + datetime.timedelta(days=2))') && \
		$(UV) run --locked norrut score --as-of $$next_day && \
		$(UV) run --locked norrut export --as-of $$next_day --segments-file activation/demo_segments.yaml
	$(UV) run --locked norrut creatives
	$(UV) run --locked norrut status
	@echo "Model health: uv run --locked norrut monitor (then the portal's Model health page)"

test: setup browser
	$(UV) run --locked pytest

test-fast: setup
	$(UV) run --locked pytest -m "not slow and not browser and not server"

# The pictures of docs/first-hour.md, from a small world of their own (about three minutes).
screenshots: setup browser
	$(UV) run --locked python docs/screenshots/take.py --out docs/screenshots

# Benchmarks print figures; the latest are in bench/RESULTS.md. Each takes minutes.
bench: setup
	$(UV) run --locked python bench/simulate.py
	$(UV) run --locked python bench/ingest.py
	$(UV) run --locked python bench/ingest_stages.py
	$(UV) run --locked python bench/features.py --events 1e7
	$(UV) run --locked python bench/model.py
	$(UV) run --locked python bench/score.py
	$(UV) run --locked python bench/demo.py

lint: setup
	$(UV) run --locked ruff check .

clean:
	rm -rf .norrut .demo-world .pytest_cache
