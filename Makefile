# eolabel — the two commands of the quick start are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser run migrate demo test test-fast bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: the CPU build on this machine's disk (an open range would pull a CUDA build)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the Playwright browser tests (Playwright's own browser download needs the internet).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: browser tests will be skipped"; \
	  else echo "chromium not found and not root: browser tests will be skipped"; fi; }

migrate: install
	$(BIN)/python manage.py migrate --noinput -v 0

demo: migrate
	$(BIN)/python manage.py make_demo_archive --if-missing

run: demo
	$(BIN)/python manage.py demo_user
	HOST=$(HOST) PORT=$(PORT) bash scripts/run.sh

test: install browser
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not browser and not slow"

bench: install browser
	$(BIN)/python manage.py bench_tiles
	$(BIN)/python manage.py bench_queue
	$(BIN)/python manage.py bench_loop
	$(BIN)/python manage.py bench_label_page
	$(BIN)/python -m ml.bench
	$(BIN)/python manage.py bench_soak --users 50 --minutes 10 --worker

lint: install
	$(BIN)/ruff check eolabel ml fixtures tests
	$(BIN)/ruff format --check eolabel ml fixtures tests

clean:
	rm -rf $(VENV) var .pytest_cache
