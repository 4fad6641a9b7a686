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


@pytest.mark.parametrize(
    ("original", "broken", "expected"),
    [
        # a keyword machine.I2C does not take
        ("sda=machine.Pin(_SDA)", "data=machine.Pin(_SDA)", 'keyword argument "data"'),
        # a function the machine module does not have (it is lightsleep)
        ("machine.lightsleep(ms)", "machine.light_sleep(ms)", '"light_sleep"'),
        # a constant the esp32 module does not have
        (
            "esp32.wake_on_ext0(buttons[0].pin, esp32.WAKEUP_ALL_LOW)",
            "esp32.wake_on_ext0(buttons[0].pin, esp32.WAKEUP_LOW)",
            '"WAKEUP_LOW"',
        ),
        # a Pin method that does not exist
        ("return self.pin.value() == 0", "return self.pin.read() == 0", '"read"'),
    ],
)
def test_api_misuse_fails(tmp_path: Path, original: str, broken: str, expected: str) -> None:
    source = DEVKIT.read_text()
    assert original in source, "the board file changed: update this test's snippet"
    bad = tmp_path / "bad_board.py"
    bad.write_text(source.replace(original, broken))
    result = lint(bad)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "bad_board.py" in result.stdout and expected in result.stdout, result.stdout
    # Only our file is reported, never the stub package's own errors.
    assert all(line.startswith(str(bad)) for line in result.stdout.splitlines()), result.stdout


def test_driver_constructor_misuse_fails(tmp_path: Path) -> None:
    # The drivers are on the checker's path, so a board calling them wrongly is caught too.
    heltec = REPO / "boards" / "heltec_wifi_kit_32.py"
    original = "_OLED_ADDR, False, reset"
    source = heltec.read_text()
    assert original in source, "the board file changed: update this test's snippet"
    bad = tmp_path / "bad_heltec.py"
    bad.write_text(source.replace(original, "_OLED_ADDR, rst=reset"))
    result = lint(bad)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'Unexpected keyword argument "rst" for "SSD1306_I2C"' in result.stdout
