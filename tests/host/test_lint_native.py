"""`make lint`'s native check (tools/lint_boards.py --native) must catch viper code that only
breaks on a 32-bit ESP32 target, and pass the project's own native modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINT = REPO / "tools" / "lint_boards.py"

GOOD = """import micropython


@micropython.viper
def f(x: uint) -> uint:
    return x + (uint(1) << 30)
"""
# The same sum with the literal 2**30: an object on a 32-bit target, an emitter error there
# (the 64-bit unix port would run it).
BAD = GOOD.replace("(uint(1) << 30)", "0x40000000")


def lint_native(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(LINT), "--native", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_firmware_native_modules_compile() -> None:
    result = lint_native()
    assert result.returncode == 0, result.stdout + result.stderr
    for module in ("hmac_sha1.py", "hmac_sha256.py", "hmac_sha512.py"):
        assert module in result.stdout
    assert "xtensawin" in result.stdout and "rv32imc" in result.stdout


def test_32_bit_emitter_error_fails(tmp_path: Path) -> None:
    good = tmp_path / "good_viper.py"
    good.write_text(GOOD)
    assert lint_native(good).returncode == 0
    bad = tmp_path / "bad_viper.py"
    bad.write_text(BAD)
    result = lint_native(bad)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "-march=xtensawin failed" in result.stdout
    assert "ViperTypeError" in result.stdout
