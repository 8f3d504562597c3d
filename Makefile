# Plexica: `make run` serves a demo on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_UPSTREAM_PORT ?= 3100
ASGI_PORT ?= 8001
ASGI_WORKERS ?= 1

.PHONY: install run test lint schema fuzz conformance worker beat asgi bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(BIN)/.installed-runtime

install: $(BIN)/.installed

# `make run` needs only the runtime; a dev install (above) counts as one too.
$(BIN)/.installed-runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The embedded default: SQLite file in var/, local-memory cache, Celery tasks run in-process, and the
# demo's crm.contacts service (the README's baseUrl) on 127.0.0.1:$(DEMO_UPSTREAM_PORT).
run: export DEBUG ?= 1
# The demo's webhook receivers run on this machine: open loopback to them (link-local stays refused).
run: export WEBHOOK_ALLOWED_NETWORKS ?= 127.0.0.0/8,::1/128
run: export INTEGRATION_ALLOWED_NETWORKS ?= 127.0.0.0/8,::1/128
run: $(BIN)/.installed-runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	$(BIN)/python manage.py serve --demo-upstream $(DEMO_UPSTREAM_PORT) $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The layers of the code (.importlinter): the core imports no feature app, task modules are leaves,
# services import no HTTP layer, apps depend one way.
lint: install
	$(BIN)/lint-imports --no-cache

schema: install
	DEBUG=1 $(BIN)/python manage.py spectacular --validate --fail-on-warn --file var/openapi.yaml

# Full mode: set DATABASE_URL and REDIS_URL (and SECRET_KEY, PLEXICA_ENCRYPTION_KEYS) first.
worker: install
	$(BIN)/celery -A plexica worker --loglevel=INFO

beat: install
	$(BIN)/celery -A plexica beat --loglevel=INFO

# Full mode's ASGI process, for the long-lived paths only (GET /api/v1/events/stream, /mcp): a reverse proxy
# routes them here and everything else to gunicorn (deploy/nginx.conf). Its lifespan runs the MCP session
# manager. `make run` needs none of it.
asgi: $(BIN)/.installed-runtime
	$(BIN)/uvicorn plexica.asgi:application --host $(HOST) --port $(ASGI_PORT) --workers $(ASGI_WORKERS) --lifespan on --no-access-log

# schemathesis over the whole OpenAPI schema against a live server (fuzz/run; embedded default unless
# DATABASE_URL / REDIS_URL are set); e.g. make fuzz FUZZ_EXAMPLES=50.
fuzz: install
	fuzz/run

# The official MCP conformance harness (npm, Node 22 from npm) against a live /mcp, both revisions
# (conformance/run, README-conformance.md; embedded default unless DATABASE_URL / REDIS_URL are set).
conformance: install
	conformance/run

# Benchmark on PostgreSQL + Redis (bench/README.md); e.g. make bench BENCH_ARGS="--duration 3".
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .import_linter_cache conformance/node_modules
