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

.PHONY: venv test test-host test-firmware test-firmware-rv32 test-e2e bench bench-memory \
	bench-rv32-baseline lint sim deploy device-test clean

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

# The firmware tests on RV32IMC (the ESP32-C3's instruction set) in QEMU: optional tooling that
# needs qemu-system-riscv32 and the runner (RV32=path/to/run-rv32, default ../shared/rv32).
# -rs lists every skip with its reason (what the emulated chip lacks).
RV32 ?= rv32
test-firmware-rv32: $(STAMP)
	MICROPYTHON=$(RV32) $(BIN)/python -m pytest tests/firmware -rs $(PYTEST_ARGS)

test-e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

bench: $(STAMP)
	MICROPYTHON=$(MICROPYTHON) $(BIN)/python bench/run.py
	$(BIN)/python bench/memory.py

# The firmware's memory on an ESP32-sized heap (bench/memory.py): on ../shared/bin/micropython32
# or $$MICROPYTHON32, else on the venv's 64-bit interpreter, labelled so.
bench-memory: $(STAMP)
	$(BIN)/python bench/memory.py

# Rewrite bench/rv32_baseline.json from a fresh RV32 measurement (commit it with the change
# that moved the counts); CI fails when a count grows by more than 2% over the committed file.
bench-rv32-baseline: $(STAMP)
	$(BIN)/python bench/rv32.py --write-baseline

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy host_tools
	$(BIN)/python tools/lint_boards.py
	$(BIN)/python tools/lint_boards.py --native

sim: $(STAMP)
	$(BIN)/host_tools sim

deploy: $(STAMP)
	$(BIN)/host_tools $(if $(PORT),--port $(PORT)) deploy $(if $(BOARD),--board $(BOARD))

device-test: $(STAMP)
	$(BIN)/host_tools $(if $(PORT),--port $(PORT)) device-test

clean:
	rm -rf $(VENV) .pytest_cache .sim build
