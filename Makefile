# Two commands for a newcomer: `make run` and `make test`. Everything else is a building block.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Local development and the test suite run with DEBUG on (a throwaway secret key, console email).
# Production sets its own variables; see README.md and .env.example.
export DJANGO_DEBUG ?= 1

.PHONY: run install migrate seed test lint format bench clean

run: install migrate seed
	$(BIN)/honcho start -f Procfile.dev

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@# A developer's checkout runs with DEBUG on; production sets real variables instead.
	test -f .env || printf '# Development only (git-ignored). See .env.example.\nDJANGO_DEBUG=1\n' > .env
	touch $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: install
	$(BIN)/python manage.py seed_demo

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# BENCH_ONLY=sweep or BENCH_ONLY=pages runs one half; a missed target fails after both ran.
bench: install
	@status=0; \
	if [ "$${BENCH_ONLY:-}" != pages ]; then $(BIN)/python -m benchmarks.run || status=1; fi; \
	if [ "$${BENCH_ONLY:-}" != sweep ]; then $(BIN)/python -m benchmarks.county || status=1; fi; \
	exit $$status

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles .pytest_cache .ruff_cache
