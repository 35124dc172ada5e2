# Beebeta developer commands. `make` on its own lists them.

PYTHON ?= python3
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed
ARGS ?=

# Which deploy/os-packages.sh profile the venv recipe asks for. `make test` raises it to `test`
# (target-specific variables reach prerequisites), so a fresh machine gets one apt-get run.
OS_PROFILE = run

.DEFAULT_GOAL := help
.PHONY: help venv run test fuzz stack stack-down bench lint format clean

help:
	@echo "Beebeta: make VERB"
	@echo "  venv     create $(VENV) with the app and test requirements (installs OS packages as root)"
	@echo "  run      migrate, load demo data, serve on http://127.0.0.1:8000 with DEBUG on"
	@echo "  test     pytest against throwaway MariaDB/memcached/S3, then lint and migration check"
	@echo "           subset: make test ARGS=\"tests/polls/test_voting.py -k changed\""
	@echo "  stack    production's topology on loopback: HAProxy (TLS) -> 2 nginx -> 2 gunicorn ->"
	@echo "           MariaDB, 2 memcached, S3 + CDN stand-in; prints the https URL (deploy/stack/)"
	@echo "  stack-down  stop exactly what \`make stack\` started and remove its folder"
	@echo "  bench    Beebeta against nginx, bare Django and raw INSERTs on loopback, with wrk; writes"
	@echo "           bench/RESULTS.md and bench/results.json (BENCH_QUICK=1: short, into bench/out/)"
	@echo "  fuzz     every form and the image validator under hypothesis, 10,000 examples each"
	@echo "  lint     ruff check and ruff format --check"
	@echo "  format   ruff format and ruff check --fix"
	@echo "  clean    remove $(VENV), var/ and caches"
	@echo "Variables: PYTHON=$(PYTHON) (interpreter for the venv), ARGS (extra pytest arguments)"

venv: $(STAMP)

# One venv for running and testing: tests/requirements.txt includes requirements.txt.
$(STAMP): requirements.txt tests/requirements.txt
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh $(OS_PROFILE)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -r tests/requirements.txt
	touch $@

run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py flush_view_counts --recount-hours 720 -v 0
	@# With no timer on a local run, a background loop lets Trending decay;
	@# it is stopped with the server.
	$(BIN)/python manage.py refresh_rankings --every 300 -v 0 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	DEBUG=true DEBUG_TOOLBAR=true RANKING_REFRESH_SECONDS=0 $(BIN)/python manage.py runserver 127.0.0.1:8000

test: OS_PROFILE = test
test: venv
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh test
	$(BIN)/python tests/services.py -- $(BIN)/python -m pytest $(ARGS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r beebeta polls accounts deploy -lll
	DATABASE_URL=sqlite:///:memory: $(BIN)/python manage.py makemigrations --check --dry-run

# Detached: the processes outlive make; var/stack/state.json records them for stack-down.
stack: OS_PROFILE = stack
stack: venv
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh stack
	$(BIN)/python -m deploy.stack up

stack-down:
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m deploy.stack down; \
	else echo "no $(VENV): no stack to stop"; fi

# The ladder of ceilings and the targets, under 10 minutes (bench/run.py); never part of `test`.
bench: OS_PROFILE = bench
bench: venv
	PYTHON="$(PYTHON)" bash deploy/os-packages.sh bench
	$(BIN)/python -m bench.run $(if $(BENCH_QUICK),--quick)

# Every form and the image validator under hypothesis, 10,000 examples each (make test runs 500).
fuzz: venv
	FUZZ_EXAMPLES=10000 $(BIN)/python tests/services.py -- $(BIN)/python -m pytest tests/security/test_fuzzing.py $(ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# A running stack's state file lives in var/: stop the stack before forgetting it.
clean: stack-down
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis test-output
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
