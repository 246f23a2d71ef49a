# The README's commands. `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8765
# The demo's one failure that is retried: the sandbox answers the first PUT of a file 503 (Retry-After 2 s),
# the upload waits and sends it again. `make run DEMO_FAULT=` starts without it.
DEMO_FAULT ?= {"service": "raptormaps", "operation": "put", "status": 503, "retry_after": 2}

.PHONY: run test screenshots lint format bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed; found " + sys.version.split()[0] + " (set PYTHON=/path/to/python3.11)")'
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall only when a requirements file changes.
$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime-installed

## run: set everything up and serve the admin with the demo portfolio on http://$(HOST):$(PORT)/, with its worker and the sandbox
run: export DEBUG ?= 1
run: export SANDBOX_URL ?= http://127.0.0.1:$(SANDBOX_PORT)
# The sandbox is on this machine, over http: let outbound calls reach it (production leaves this empty).
run: export OUTBOUND_ALLOW_HOSTS ?= 127.0.0.1,localhost
run: $(VENV)/.runtime-installed .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo
	@# The sandbox stands in for Raptor Maps and WattCarbon (the demo sends to both); the django-q2
	@# worker runs the scheduled uploads and syncs and what the admin queues. Both stop with the web server.
	@# The worker runs in a process group of its own and is stopped by one signal to its main process
	@# (scripts/own-process-group says why).
	@$(BIN)/python manage.py sandbox --host 127.0.0.1 --port $(SANDBOX_PORT) $(if $(DEMO_FAULT),--fault '$(DEMO_FAULT)') $(SANDBOX_ARGS) & sandbox=$$!; \
	scripts/own-process-group $(BIN)/python manage.py qcluster & worker=$$!; \
	trap 'kill $$worker $$sandbox 2>/dev/null; wait $$worker $$sandbox 2>/dev/null' EXIT; \
	trap 'exit 130' INT TERM; \
	echo "Started the sandbox ($$SANDBOX_URL, pid $$sandbox) and the background worker (pid $$worker); Ctrl-C stops them with the server."; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# A development checkout: manage.py runs with DEBUG=1 without typing it (see README).
.env:
	@printf '# Development settings for this checkout (git-ignored; the environment wins).\nDEBUG=1\n# The local sandbox is called over http on this machine.\nOUTBOUND_ALLOW_HOSTS=127.0.0.1,localhost\n' > $@
	@echo "Wrote .env with DEBUG=1 and OUTBOUND_ALLOW_HOSTS=127.0.0.1,localhost for this development checkout."

## test: install what the tests need (Debian's chromium for the browser tests, where it may) and run the whole suite
test: $(VENV)/.dev-installed
	@scripts/ensure-browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## screenshots: the README's pictures (docs/screenshots/), taken by the browser tests as they run
screenshots: $(VENV)/.dev-installed
	@scripts/ensure-browser
	README_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser -q -k "tour or upload_now or sensor_page"

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: the benchmarks under bench/ (README, Benchmarks)
# Every script prints its targets with a pass or miss word as it goes; the list of all of them ends the run.
bench: export BENCH_TARGETS = $(CURDIR)/var/bench/targets.txt
bench: $(VENV)/.dev-installed
	@mkdir -p var/bench; rm -f $(BENCH_TARGETS)
	@set -e; for script in bench/[!_]*.py; do [ -e "$$script" ] || continue; echo "== $$script"; $(BIN)/python "$$script"; done
	@echo "== targets"; sed 's/\t/: /' $(BENCH_TARGETS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
