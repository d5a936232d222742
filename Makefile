# `make demo`, `make test`, `make test-all`, `make docs`, `make bench` and `make e2e`. Each sets up .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all test-postgres test-lowest upgrade-dev-tools lint typecheck docs bench e2e clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip uninstall --quiet --yes agentkit 2>/dev/null || true  # the distribution's old name
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check agentkit tests examples bench e2e
	$(BIN)/ruff format --check agentkit tests examples bench e2e

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy tests/typing  # the public API's types as a user sees them (assert_type)

test: lint typecheck
	$(BIN)/pytest -q -m "not slow"

# `make test`, then the suites marked `slow` (fuzzing, property tests with many examples, Postgres);
# what .ci/run runs.
test-all: test
	$(BIN)/pytest -q -m slow

# The Postgres suite alone: a throwaway cluster from Debian's postgresql (tests/durable/postgres.py).
test-postgres: $(STAMP)
	$(BIN)/pytest -q -m postgres tests/durable

# The suite against the lowest version of every runtime dependency that pyproject.toml allows, in a
# venv of its own (.venv-lowest, rebuilt each time): a floor that does not really work fails here.
LOWEST := .venv-lowest
test-lowest:
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) .ci/lowest_constraints.py pyproject.toml > $(LOWEST)/constraints.txt
	$(LOWEST)/bin/python -m pip install --quiet -c $(LOWEST)/constraints.txt -e '.[test]'
	$(LOWEST)/bin/pytest -q -p no:cacheprovider

# Move the exact pins of the dev tools (ruff, mypy) in pyproject.toml to their newest releases;
# then run `make test` and commit the new pins with any fixes they ask for.
upgrade-dev-tools: $(STAMP)
	$(BIN)/python .ci/upgrade_dev_tools.py pyproject.toml ruff mypy
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The documentation site, built strictly: a broken link, nav entry or reference fails it.
$(VENV)/.installed-docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict  # not --quiet: it hides the warnings --strict counts

# The benchmarks of docs/performance.md (a few minutes); `$(BIN)/python -m bench --quick` for a short run.
$(VENV)/.installed-bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench

# agentkit against llama.cpp's llama-server and a real small model (docs/local-models.md); not part of
# `make test`. The first run compiles llama.cpp into .venv (7-16 minutes on 2 cores); later runs take
# seconds. Pass pytest arguments with E2E_ARGS, e.g. `make e2e E2E_ARGS="-k stream -x"`.
e2e: $(STAMP)
	$(BIN)/python e2e/run.py $(E2E_ARGS)

clean:
	rm -rf $(VENV) $(LOWEST) .pytest_cache .mypy_cache .ruff_cache site
