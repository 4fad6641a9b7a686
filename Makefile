# Two commands do all their own setup on a fresh machine: `make test` and `make sim`.
# Everything runs from .venv, created here from pyproject.toml (versions pinned there).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The firmware tests' interpreter: the venv's 64-bit `micropython` unless MICROPYTHON is set
# (CI also runs them on ../shared/bin/micropython32, a 32-bit build like an ESP32).
MICROPYTHON ?=
PORT ?=
BOARD ?=
PYTEST_ARGS ?=
# pytest-xdist workers for `make test`. Most e2e tests wait (on a sim's clock, its serial line,
# a deploy), so more workers than cores overlap the waits; tests/conftest.py decides what
# runs together and starts the long tests first. On 2 cores shared with other work, 3 and 4
# workers took about the same time (3m11s, 3m26s); 3 loads the cores less, which the
# real-time assertions need. The ten slowest tests are printed at the end, so a regression
# shows.
TEST_WORKERS ?= 3

.PHONY: venv test test-host test-firmware test-e2e bench lint sim deploy device-test clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

test: $(STAMP)
	MICROPYTHON=$(MICROPYTHON) $(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=10 $(PYTEST_ARGS)

test-host: $(STAMP)
	$(BIN)/python -m pytest tests/host $(PYTEST_ARGS)

test-firmware: $(STAMP)
	MICROPYTHON=$(MICROPYTHON) $(BIN)/python -m pytest tests/firmware $(PYTEST_ARGS)

test-e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

bench: $(STAMP)
	MICROPYTHON=$(MICROPYTHON) $(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python tools/lint_boards.py

sim: $(STAMP)
	$(BIN)/host_tools sim

deploy: $(STAMP)
	$(BIN)/host_tools $(if $(PORT),--port $(PORT)) deploy $(if $(BOARD),--board $(BOARD))

device-test: $(STAMP)
	$(BIN)/host_tools $(if $(PORT),--port $(PORT)) device-test

clean:
	rm -rf $(VENV) .pytest_cache .sim build
