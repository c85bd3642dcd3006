# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint fmt messages clean services-stop

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) scripts/fonts.py
	rm -f $(VENV)/.installed-* && touch $(STAMP)

## make run: set up, start embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set,
## migrate, load demo data, serve on http://127.0.0.1:$(PORT) with a worker and beat.
run: $(STAMP)
	PORT=$(PORT) $(PY) scripts/devservices.py run

## make test: the same set-up, then the whole test suite.
test: $(STAMP)
	$(PY) scripts/devservices.py test $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Extract strings and compile catalogues (needs GNU gettext); the .mo files are committed so
## a machine without gettext still serves Chinese.
messages: $(STAMP)
	$(PY) manage.py makemessages --locale zh_Hans --ignore '.venv/*' --ignore '.dev/*' --no-obsolete
	$(PY) manage.py compilemessages --locale zh_Hans --ignore '.venv/*'

services-stop: $(STAMP)
	$(PY) scripts/devservices.py stop

clean: services-stop
	rm -rf $(VENV) .dev staticfiles

## make bench-simulation N=100000: time the policy simulator over N seeded applications
## (needs DATABASE_URL naming a database of its own, e.g. .../kvisa_bench; see bench/README.md).
N ?= 100000
.PHONY: bench-simulation
bench-simulation: $(STAMP)
	$(PY) bench/policy_simulation.py --n $(N)

## make bench-claim N=1000000: claim-next throughput and latency over N seeded applications
## (needs DATABASE_URL naming a database of its own, e.g. .../kvisa_bench_claim; CLAIMS=
## sets the claims between the two rate windows; see bench/README.md).
CLAIMS ?=
.PHONY: bench-claim
bench-claim: $(STAMP)
	$(PY) bench/claim_next.py --n $(N) $(if $(CLAIMS),--claims $(CLAIMS))

## make bench-seed N=1000000: seed the HTTP benchmark's database (DATABASE_URL, default
## BENCH_DATABASE_URL; its name must contain "bench"); make bench: gunicorn, wrk, pgbench and a
## Celery worker, every scenario beside its baseline, one table and bench/results/bench-<date>.*
## (DURATION= seconds a load run, BENCH_ARGS= more options; see bench/README.md). Not tests.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/kvisa_bench_http
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/8
DURATION ?= 10
BENCH_ARGS ?=
BENCH_ENV = DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} \
	REDIS_URL=$${BENCH_REDIS_URL:-$(BENCH_REDIS_URL)} KVISA_ENV_FILE=bench/.env
.PHONY: bench-seed bench
bench-seed: $(STAMP)
	$(BENCH_ENV) $(PY) bench/seed.py --n $(N)

bench: $(STAMP)
	$(BENCH_ENV) $(PY) bench/harness.py --duration $(DURATION) $(BENCH_ARGS)
