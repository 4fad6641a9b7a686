"""bench/rv32.py without QEMU: reading the RV32 run's output and the 2% regression rule."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def rv32() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_rv32", REPO / "bench" / "rv32.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


OUTPUT = """\
boot noise
@@INFO version 3.4.0;_MicroPython_v1.29.0
@@COST sha1_hotp 27011 0
@@COST sha512_hotp 8055215 -
@@COST screen_full_redraw ERROR ImportError: no module named 'ui'
"""


def test_parse_reads_counts_unmeasured_heap_and_errors(rv32: ModuleType) -> None:
    costs, info = rv32.parse(OUTPUT)
    assert costs["sha1_hotp"] == rv32.Cost(27011, 0)
    assert costs["sha512_hotp"] == rv32.Cost(8055215, None)
    assert costs["screen_full_redraw"].error == "ImportError: no module named 'ui'"
    assert info["version"] == "3.4.0;_MicroPython_v1.29.0"


def baseline(instructions: int, heap: int | None = 0) -> dict:
    return {"counts": {"sha1_hotp": {"instructions": instructions, "heap_bytes": heap}}}


def test_growth_up_to_two_percent_passes(rv32: ModuleType) -> None:
    assert rv32.regressions(baseline(10000), {"sha1_hotp": rv32.Cost(10200, 0)}) == []
    assert rv32.regressions(baseline(10000), {"sha1_hotp": rv32.Cost(9000, 0)}) == []


def test_growth_beyond_two_percent_fails(rv32: ModuleType) -> None:
    found = rv32.regressions(baseline(10000), {"sha1_hotp": rv32.Cost(10201, 0)})
    assert found == ["sha1_hotp instructions: 10,000 -> 10,201 (+2.0%)"]


def test_heap_growth_from_zero_fails(rv32: ModuleType) -> None:
    found = rv32.regressions(baseline(10000, 0), {"sha1_hotp": rv32.Cost(10000, 16)})
    assert found == ["sha1_hotp heap_bytes: 0 -> 16 (from 0)"]


def test_a_measurement_that_stopped_working_fails(rv32: ModuleType) -> None:
    broken = {"sha1_hotp": rv32.Cost(None, None, "ImportError: no module named 'otp'")}
    assert "no longer measured" in rv32.regressions(baseline(10000), broken)[0]
    assert "missing" in rv32.regressions(baseline(10000), {})[0]


def test_new_measurements_are_not_regressions(rv32: ModuleType) -> None:
    costs = {"sha1_hotp": rv32.Cost(10000, 0), "new_figure": rv32.Cost(5, 0)}
    assert rv32.regressions(baseline(10000), costs) == []


def test_committed_baseline_covers_every_row(rv32: ModuleType) -> None:
    data = json.loads((REPO / "bench" / "rv32_baseline.json").read_text())
    assert set(data["counts"]) == set(rv32.ROWS)
    for name, entry in data["counts"].items():
        assert isinstance(entry["instructions"], int) and entry["instructions"] > 0, name
