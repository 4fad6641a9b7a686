"""`host_tools sim --heap`: sizes, the ESP32 budget per word size, and the interpreter's heap
(the sim's plumbing is measured at boot inside the process: tests/e2e/test_sim_heap_budget.py)."""

from __future__ import annotations

import click
import pytest

from host_tools.commands import sim as simcmd
from host_tools.micropython import find_micropython
from host_tools.sim.process import HeapOptions


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("4096", 4096), ("112K", 114_688), ("112k", 114_688), ("2M", 2 << 20)],
)
def test_sizes(text: str, size: int) -> None:
    assert simcmd.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "K", "-1", "1.5K", "12G", "lots"])
def test_bad_sizes_are_refused_by_name(text: str) -> None:
    with pytest.raises(click.BadParameter, match="is not a size"):
        simcmd.parse_size(text)


def test_esp32_budget_per_word_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simcmd, "word_bits", lambda mp: 32)
    h32 = simcmd.heap_options("esp32", "mp32")
    assert h32 == HeapOptions(114_688, 8192, 96 * 1024)
    monkeypatch.setattr(simcmd, "word_bits", lambda mp: 64)
    h64 = simcmd.heap_options("ESP32", "mp64")
    assert h64 is not None and h64.firmware == int(114_688 * 1.5)  # measured ratio
    assert h64.interpreter_heap == h64.firmware + 16 * 1024 + 192 * 1024
    assert simcmd.heap_options("0", "mp64") is None  # no limit
    assert simcmd.heap_options("100K", "mp64") == HeapOptions(102_400, 16 * 1024, 192 * 1024)


def test_word_size_of_the_venvs_interpreter() -> None:
    assert simcmd.word_bits(find_micropython()) in (32, 64)


def test_the_sim_gives_the_firmware_a_boards_heap_unless_told_otherwise() -> None:
    from host_tools.cli import cli

    sim = cli.commands["sim"]
    heap = next(p for p in sim.params if p.name == "heap")
    assert heap.default == "esp32"
    flag = next(p for p in sim.params if p.name == "source")
    assert flag.is_flag and not flag.get_default(click.Context(sim))  # compiled unless --source
