# plait's developer commands. `make demo` and `make test` are the README's two set-up commands:
# each works from a fresh clone, installing plait and its dev tools into a virtualenv first
# (`$(VENV)`, default .venv, or the one already active; set PYTHON for another interpreter).

PYTHON ?= python3
VENV ?= $(or $(VIRTUAL_ENV),.venv)
BIN := $(VENV)/bin
STAMP := $(VENV)/.plait-installed

.PHONY: install demo conduit test lint format clean

## install: create the virtualenv and `pip install -e '.[dev]'` (again when pyproject.toml changes)
install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "plait needs Python >= 3.11: make ... PYTHON=python3.11"; exit 1; }
	@echo "make: installing plait and its dev tools into $(VENV) (pip install -e '.[dev]'; the first time takes a few minutes)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e '.[dev]'
	@touch $(STAMP)

## demo: install, then serve the demo app (notes, on SQLite) at http://127.0.0.1:8000
demo: install
	$(BIN)/plait run examples/notes/app.py:app --host 127.0.0.1 --port 8000

## conduit: install, then serve the RealWorld example (examples/conduit, on SQLite) at http://127.0.0.1:8000/api/docs
conduit: install
	$(BIN)/plait run examples/conduit/app.py:app --host 127.0.0.1 --port 8000

## test: install, then run the whole test suite with coverage, in two processes (pytest-xdist,
## one test file per process at a time; extra pytest options: ARGS=..., ARGS="-n 0" runs serially)
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile --cov=plait --cov-report=term $(ARGS)

## lint: ruff (lint and format) and mypy --strict
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src/plait

## format: apply ruff's fixes and formatting
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf .venv .coverage .coverage.* htmlcov .pytest_cache .mypy_cache .ruff_cache
