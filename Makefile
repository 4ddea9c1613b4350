# One command surface. `make demo` and `make test` are the README's two commands.
.PHONY: setup sysdeps demo test check check-tests worker lint typecheck contracts sizes check-all bench clean db db-stop migrate serve browser

UV ?= uv
# The private cluster's database unless told otherwise (follows WARDPLAN_PG_PORT).
export WARDPLAN_DB_URL ?= $(shell ./scripts/postgres.sh url)
OUT ?= out/lucknow
DATA ?= ../shared/data

setup:
	./scripts/bootstrap.sh

## The main job: Lucknow's raw ward shapefile + census table, 20 illustrative COs, plan + map.
## Chromium too: the README's map check opens the map in it.
demo: setup sysdeps browser
	./scripts/demo.sh "$(DATA)" "$(OUT)"

## Every test, the linters and the layer contract. The database tests use the private PostGIS cluster.
## Bytecode cache on, as for `check` below: the suite starts hundreds of Python processes. The
## 25 slowest tests are listed at the end, to see where the suite's half hour goes.
test: export PYTHONDONTWRITEBYTECODE :=
test: setup sysdeps db browser lint typecheck contracts
	$(UV) run pytest --durations=25

## The fast loop: lint, types (mypy is incremental: keep .mypy_cache), the layer contracts, the
## size limits and the tests that need no database, browser, city-sized solve or end-to-end CLI
## plan (markers db, browser, slow; see tests/conftest.py), on CHECK_WORKERS pytest-xdist workers
## (each module on one worker, so module fixtures are built once, and the two workers' CPU comes
## out even: 35 s and 37 s; CHECK_WORKERS=0 runs them in this process). The
## linters run beside the tests (one sub-make, -j CHECK_JOBS, each step's output kept together).
## Python's bytecode cache is on for this loop even where PYTHONDONTWRITEBYTECODE is set: without
## it every process (the main one, each worker, the parse server) compiles the whole stack again,
## about 10 s each. Ward files are parsed by children forked from a preloaded parse server
## (gis/parse_server.py). About 100 s of CPU in all, 22 s of it fixed (each worker imports the
## whole stack to collect the suite): estimated under a minute idle. See README "Contributing"
## for the measured figures.
FAST_TESTS ?= not db and not browser and not slow
CHECK_WORKERS ?= 2
CHECK_JOBS ?= 5
check: export PYTHONDONTWRITEBYTECODE :=
check:
	$(MAKE) --no-print-directory -j $(CHECK_JOBS) --output-sync=target lint typecheck contracts sizes check-tests

check-tests:
	$(UV) run pytest -q -p no:cacheprovider -n $(CHECK_WORKERS) --dist loadfile -m "$(FAST_TESTS)"

## Debian packages for the printable sheets and their tests (a Devanagari font, poppler-utils).
sysdeps:
	./scripts/system-deps.sh

## Headless Chromium (Debian's package) and a Devanagari font, for the browser tests.
browser:
	./scripts/chromium.sh

## The private PostgreSQL + PostGIS cluster (var/pg; installs Debian's packages when missing).
db:
	./scripts/postgres.sh start

db-stop:
	./scripts/postgres.sh stop

## Apply the Alembic migrations to the database of app.core.settings (WARDPLAN_DB_URL).
migrate: setup db
	$(UV) run alembic upgrade head

## The HTTP API on 127.0.0.1:8000 (OpenAPI docs at /docs), on the private cluster, migrated first.
serve: setup db
	$(UV) run alembic upgrade head
	$(UV) run uvicorn app.main:create_app --factory --host 127.0.0.1 --port 8000

## A solve worker for plan jobs (run beside `make serve`; as many as you have cores to give).
worker: setup db
	$(UV) run alembic upgrade head
	$(UV) run wardplan worker

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck:
	$(UV) run mypy solver gis app benchmarks

contracts:
	$(UV) run lint-imports

## No module over 600 lines, no function over 80 (solver/ is held to it; app/ and gis/ are not yet).
sizes:
	$(UV) run python scripts/code_sizes.py app gis solver

bench: setup
	$(UV) run python -m benchmarks.run

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/artifacts
