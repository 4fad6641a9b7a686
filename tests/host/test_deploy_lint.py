"""`make lint`'s board check (tools/lint_boards.py) must catch real ESP32 API misuse.

Each case lints a temporary copy of a real board file with one deliberate mistake; the
unmodified copy is the control that passes, so a failure is caused by the mistake alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT = REPO / "tools" / "lint_boards.py"
DEVKIT = REPO / "boards" / "esp32_devkit.py"


def lint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LINT), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_real_boards_are_clean() -> None:
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "esp32_devkit.py" in result.stdout and "heltec_wifi_kit_32.py" in result.stdout


def test_unmodified_copy_is_clean(tmp_path: Path) -> None:
    copy = tmp_path / "copy_board.py"
    copy.write_text(DEVKIT.read_text())
    result = lint(copy)
    assert result.returncode == 0, result.stdout + result.stderr


# Each case: (board file, snippet, the snippet with one deliberate mistake, what the
# checker must say about it).
HELTEC = REPO / "boards" / "heltec_wifi_kit_32.py"
MISUSE = {
    # a keyword machine.I2C does not take
    "i2c_keyword": (
        DEVKIT,
        "sda=machine.Pin(_SDA)",
        "data=machine.Pin(_SDA)",
        'keyword argument "data"',
    ),
    # a function the machine module does not have (it is lightsleep)
    "machine_function": (
        DEVKIT,
        "machine.lightsleep(ms)",
        "machine.light_sleep(ms)",
        '"light_sleep"',
    ),
    # a constant the esp32 module does not have
    "esp32_constant": (
        DEVKIT,
        "esp32.wake_on_ext0(buttons[0].pin, esp32.WAKEUP_ALL_LOW)",
        "esp32.wake_on_ext0(buttons[0].pin, esp32.WAKEUP_LOW)",
        '"WAKEUP_LOW"',
    ),
    # a Pin method that does not exist
    "pin_method": (
        DEVKIT,
        "return self.pin.value() == 0",
        "return self.pin.read() == 0",
        '"read"',
    ),
    # the drivers are on the checker's path, so a board calling them wrongly is caught too
    "driver_constructor": (
        HELTEC,
        "_OLED_ADDR, False, reset",
        "_OLED_ADDR, rst=reset",
        'Unexpected keyword argument "rst" for "SSD1306_I2C"',
    ),
}


@pytest.fixture(scope="module")
def misuse_lint(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Path]]:
    """One checker run over a broken copy per case. mypy checks each copy as a module of its
    own (none imports another), so what it reports about a copy comes from that copy's
    mistake alone, as when each was checked by itself; one run instead of one per case saves
    a mypy start (seconds of CPU) per case. The cases are one unit of work in tests/conftest.py."""
    tmp = tmp_path_factory.mktemp("misuse")
    copies = {}
    for name, (board, original, broken, _expected) in MISUSE.items():
        source = board.read_text()
        assert original in source, f"{board.name} changed: update the {name} case's snippet"
        copies[name] = tmp / f"bad_{name}.py"
        copies[name].write_text(source.replace(original, broken))
    return lint(*copies.values()), copies


@pytest.mark.parametrize("case", list(MISUSE))
def test_api_misuse_fails(misuse_lint, case: str) -> None:  # type: ignore[no-untyped-def]
    result, copies = misuse_lint
    bad = copies[case]
    expected = MISUSE[case][3]
    assert result.returncode == 1, result.stdout + result.stderr
    mine = [line for line in result.stdout.splitlines() if line.startswith(f"{bad}:")]
    assert any(" error: " in line and expected in line for line in mine), result.stdout
    # Only the broken copies are reported, never the stub package's own errors.
    reported = tuple(f"{path}:" for path in copies.values())
    assert all(line.startswith(reported) for line in result.stdout.splitlines()), result.stdout
