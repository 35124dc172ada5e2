# Beebeta developer commands. `make` on its own lists them.

PYTHON ?= python3
VENV = .venv
BIN = $(VENV)/bin
ARGS ?=
# pytest's worker processes under `make test` (pytest-xdist); ARGS="-n 0" runs in one process.
TEST_WORKERS ?= 2
# The port `make run` and `make dev` serve on (loopback only).
PORT ?= 8000

# One virtualenv, filled in layers: each stamp records that a layer's requirements are installed,
# so `make run` installs only the runtime requirements, and a later `make test` or `make dev`
# adds its own tools on top without reinstalling what is there.
RUN_STAMP = $(VENV)/.installed-run
DEV_STAMP = $(VENV)/.installed-dev
TEST_STAMP = $(VENV)/.installed-test

# What each layer installs: its requirements file compiled by pip-tools into a lock that pins
# every dependency with its hashes (`make lock`), installed with hash checking, so every
# machine gets the same bytes. deploy/locks.py stops a build whose locks lag their requirements.
RUN_LOCK = requirements.lock
DEV_LOCK = requirements-dev.lock
TEST_LOCK = tests/requirements.lock
PIP_INSTALL = $(BIN)/python -m pip install --require-hashes
PIP_TOOLS = pip-tools==7.6.2
LOCK_FLAGS = --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links

# Which deploy/os-packages.sh profile the venv recipe asks for. `make test` raises it to `test`
# (target-specific variables reach prerequisites), so a fresh machine gets one apt-get run.
OS_PROFILE = run

# The product on the embedded default, as `make run` serves it: DEBUG off (Beebeta's own error
# pages), Django serving the static files and local media itself (SERVE_FILES).
RUN_ENV = SERVE_FILES=true

.DEFAULT_GOAL := help
.PHONY: help venv run dev test fuzz stack stack-down bench bench-first-run bench-uploads lint \
	format clean demo-data lock release bench-boot

help:
	@echo "Beebeta: make VERB"
	@echo "  run      the site with demo data on http://127.0.0.1:$(PORT) (SQLite, local-memory"
	@echo "           cache, media on disk, DEBUG off), installing only requirements.txt;"
	@echo "           prints the address and the demo log-ins once it listens"
	@echo "  dev      the same with DEBUG on, the debug toolbar and code reloading"
	@echo "           (adds requirements-dev.txt)"
	@echo "  test     pytest against throwaway MariaDB/memcached/S3, then lint (with mypy) and"
	@echo "           migration check"
	@echo "           (adds tests/requirements.txt); subset:"
	@echo "           make test ARGS=\"tests/polls/test_voting.py -k changed\""
	@echo "  venv     create $(VENV) with every layer: runtime, development and test requirements"
	@echo "  lock     compile the hash-locked requirements (*.lock) after a requirements file changed"
	@echo "  stack    production's topology on loopback: HAProxy (TLS) -> 2 nginx -> 2 gunicorn ->"
	@echo "           MariaDB, 2 memcached, S3 + CDN stand-in; prints the https URL (deploy/stack/)"
	@echo "  stack-down  stop exactly what \`make stack\` started and remove its folder"
	@echo "  bench    Beebeta against nginx, bare Django and raw INSERTs on loopback, with wrk; writes"
	@echo "           bench/RESULTS.md and bench/results.json (BENCH_QUICK=1: short, into bench/out/)"
	@echo "  release  wheels of the locked requirements and the static files of HEAD in"
	@echo "           var/release/ (RELEASE_BUCKET=name: uploaded for the instances)"
	@echo "  bench-boot  a new instance's boot to a healthy /healthz, with and without the release"
	@echo "  bench-first-run  time from a fresh clone to the first page of \`make run\`"
	@echo "           with a cold and a warm pip cache (bench/first_run.py: a fresh venv, a free port)"
	@echo "  bench-uploads  the worst ask POST the upload bounds accept, in each picture format;"
	@echo "           writes bench/uploads.md (bench/uploads.py)"
	@echo "  fuzz     every form, the image validator and the cursor decoder under hypothesis,"
	@echo "           10,000 examples each; every page's query string, 1,000 each"
	@echo "  lint     ruff check, ruff format --check and mypy (types of beebeta, polls, accounts,"
	@echo "           deploy)"
	@echo "  format   ruff format and ruff check --fix"
	@echo "  clean    remove $(VENV), var/ and caches"
	@echo "Variables: PORT=$(PORT) (run, dev), PYTHON=$(PYTHON) (interpreter for the venv),"
	@echo "           ARGS (extra pytest arguments)"

venv: $(TEST_STAMP)

# The runtime layer: what production installs, and all that `make run` needs. The pip that
# comes with Python 3.11 and later installs every pinned requirement, so it is not upgraded
# first (a few seconds more before the first page, for nothing).
$(RUN_STAMP): requirements.txt $(RUN_LOCK)
	$(PYTHON) deploy/locks.py check
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh $(OS_PROFILE)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r $(RUN_LOCK)
	touch $@

# The development layer: the debug toolbar.
$(DEV_STAMP): requirements-dev.txt $(DEV_LOCK) $(RUN_STAMP)
	$(PYTHON) deploy/locks.py check
	$(PIP_INSTALL) -r $(DEV_LOCK)
	touch $@

# The test layer: test and lint tools (tests/requirements.txt includes the development layer,
# whose settings a test builds).
$(TEST_STAMP): tests/requirements.txt $(TEST_LOCK) $(DEV_STAMP)
	$(PYTHON) deploy/locks.py check
	$(PIP_INSTALL) -r $(TEST_LOCK)
	touch $@

# After changing a requirements file: compile the locks again, each layer within the one below,
# keeping every version already locked that still fits (pip-compile's --upgrade moves them).
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIP_TOOLS)
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file $(RUN_LOCK) requirements.txt
	$(BIN)/pip-compile $(LOCK_FLAGS) -c $(RUN_LOCK) --output-file $(DEV_LOCK) requirements-dev.txt
	$(BIN)/pip-compile $(LOCK_FLAGS) -c $(DEV_LOCK) --output-file $(TEST_LOCK) tests/requirements.txt
	$(PYTHON) deploy/locks.py check

# Migrations and the demo data, both idempotent.
demo-data: $(RUN_STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py flush_view_counts --recount-hours 720 -v 0

# serve_demo is runserver that prints the address and the demo log-ins once it listens.
# With no timers on a local run, background loops keep the lists' order within
# RANKING_REFRESH_SECONDS of the votes and let Trending decay, send the email outbox (to
# the console: the links appear in this terminal), keep each day's results as history and write
# the open data dumps once a day (the first at once: a few demo questions); they are stopped
# with the server.
BACKGROUND = $(BIN)/python manage.py refresh_rankings --follow -v 0 & rankings=$$!; \
	$(BIN)/python manage.py send_outbox --every 5 -v 0 & outbox=$$!; \
	$(BIN)/python manage.py snapshot_results --every 300 -v 0 & snapshots=$$!; \
	$(BIN)/python manage.py refresh_insights --every 300 -v 0 & insights=$$!; \
	$(BIN)/python manage.py dump_open_data --every 86400 -v 0 & dumps=$$!; \
	trap 'kill $$rankings $$outbox $$snapshots $$insights $$dumps 2>/dev/null' EXIT INT TERM

run: demo-data
	$(BACKGROUND); \
	$(RUN_ENV) $(BIN)/python manage.py serve_demo --noreload 127.0.0.1:$(PORT)

dev: $(DEV_STAMP) demo-data
	$(BACKGROUND); \
	$(RUN_ENV) DEBUG=true DEBUG_TOOLBAR=true $(BIN)/python manage.py serve_demo 127.0.0.1:$(PORT)

test: OS_PROFILE = test
test: $(TEST_STAMP)
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh test
	$(BIN)/python tests/services.py -- $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(ARGS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/bandit -q -r beebeta polls accounts deploy -lll
	DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

# Detached: the processes outlive make; var/stack/state.json records them for stack-down.
stack: OS_PROFILE = stack
stack: $(TEST_STAMP)
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh stack
	$(BIN)/python -m deploy.stack up

stack-down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m deploy.stack down; \
	else echo "no $(VENV): no stack to stop"; fi

# From a fresh clone to the first page of `make run`, with a cold and a warm pip cache
# (bench/first_run.py); the clone gets its own venv, so this needs none.
bench-first-run:
	$(PYTHON) bench/first_run.py

# The worst accepted upload request against its bounds (bench/uploads.py); never part of `test`.
bench-uploads: $(RUN_STAMP)
	$(BIN)/python -m bench.uploads

# The ladder of ceilings and the targets, under 10 minutes (bench/run.py); never part of `test`.
bench: OS_PROFILE = bench
bench: $(TEST_STAMP)
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh bench
	$(BIN)/python -m bench.run $(if $(BENCH_QUICK),--quick)

# A release of the committed HEAD (deploy/release.py): the locked dependencies' wheels and the
# collected static files in var/release/beebeta-<revision>.tar.gz, uploaded to the stack's
# release bucket with RELEASE_BUCKET=... (the AWS CLI's credentials). Build it on the instances'
# platform and Python (Ubuntu LTS's python3): an instance refuses a release built for another.
release: $(RUN_STAMP)
	$(BIN)/python deploy/release.py build --out var/release
	@if [ -n "$(RELEASE_BUCKET)" ]; then \
		$(BIN)/python deploy/release.py upload --bucket "$(RELEASE_BUCKET)" \
			var/release/beebeta-$$(git rev-parse --short=12 HEAD).tar.gz; \
	else echo "release: built; RELEASE_BUCKET=... uploads it"; fi

# Boot to a healthy /healthz of a new instance, with and without the release (bench/boot.py).
bench-boot: OS_PROFILE = stack
bench-boot: $(TEST_STAMP)
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh stack
	$(BIN)/python -m bench.boot $(if $(BENCH_QUICK),--rounds 1)

# Every form, the image validator and the cursor decoder under hypothesis, 10,000 examples each,
# and every page's query string 1,000 (make test runs 500 and 50).
fuzz: $(TEST_STAMP)
	FUZZ_EXAMPLES=10000 $(BIN)/python tests/services.py -- $(BIN)/python -m pytest \
		tests/security/test_fuzzing.py tests/security/test_query_fuzzing.py $(ARGS)

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A running stack's state file lives in var/: stop the stack before forgetting it.
clean: stack-down
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis test-output
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
