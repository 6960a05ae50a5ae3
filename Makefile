# Two commands for a newcomer: `make run` and `make test`. Everything else is a building block.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Local development and the test suite run with DEBUG on (a throwaway secret key, console email).
# Production sets its own variables; see README.md and .env.example.
export DJANGO_DEBUG ?= 1

# Every dependency, runtime and test, pinned with its hashes: `make install` and CI install
# exactly these. production.txt is the runtime part, with the same versions, for README.md's
# Production recipe. After a change to pyproject.toml's dependencies, run `make lock` (it keeps
# every pin it can; `make lock UPGRADE=1` moves them all to the newest allowed).
LOCK := requirements/lock.txt
PRODUCTION_LOCK := requirements/production.txt
LOCK_TOOLS := $(VENV)/lock-tools
PIP_COMPILE := $(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links

.PHONY: run install lock migrate seed test lint format bench clean

run: install migrate seed
	$(BIN)/honcho start -f Procfile.dev

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	@# Fails if the lock no longer satisfies pyproject.toml: run `make lock`.
	$(BIN)/pip check
	@# A developer's checkout runs with DEBUG on; production sets real variables instead.
	test -f .env || printf '# Development only (git-ignored). See .env.example.\nDJANGO_DEBUG=1\n' > .env
	touch $(STAMP)

lock:
	test -x $(LOCK_TOOLS)/bin/pip-compile || { $(PYTHON) -m venv $(LOCK_TOOLS) && \
		$(LOCK_TOOLS)/bin/pip install --quiet "pip-tools>=7.4,<8"; }
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) --extra test --output-file $(LOCK) pyproject.toml
	@# Start from the full lock so the runtime lock keeps its versions, less the test tools.
	cp $(LOCK) $(PRODUCTION_LOCK)
	$(PIP_COMPILE) --output-file $(PRODUCTION_LOCK) pyproject.toml

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: install
	$(BIN)/python manage.py seed_demo

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Medium and high findings fail; a false positive is marked inline with `# nosec BXXX # why`.
	$(BIN)/bandit --quiet --recursive --severity-level medium --exclude '*/migrations/*' \
		dorset_bcp engagement escalation resources privacy
	@# The benchmark seeds with SQL built from its own constants (no one's input reaches it), in
	@# multi-line statements where an inline mark cannot sit: B608 is not asked of it.
	$(BIN)/bandit --quiet --recursive --severity-level medium --skip B608 benchmarks

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
