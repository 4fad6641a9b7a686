"""Run the firmware test modules on a device: `host_tools device-test`.

Each tests/firmware/test_*.py is plain MicroPython ending in `mptest.main(globals())` when run
as `__main__`, which is how code sent to the raw REPL runs (the `mpremote run` way). So:
copy tests/firmware/mptest.py and the other helper modules there (every non-test module but
the pytest conftest) to the device, then for each module soft-reset into a clean raw
REPL (the firmware's main.py does not run there) and execute the module's source through
mpremote's transport, then parse the @@MPTEST lines with host_tools.mptest_report, the same
parser the host pytest plugin uses. Tests that need the sim's device models call mptest.skip
on a real board, and their reasons are printed. The device is soft-reset into the token at the
end and the helpers removed again.

The modules go over compiled to .mpy for the device (as `deploy` compiles the firmware, but
with line numbers, so a failure's traceback points at its line): a board imports bytecode
without compiling it in its own heap, where the larger test modules would not fit in an
ESP32's 112 KB beside the firmware. Each test module is imported and its tests run by
`mptest.main(module.__dict__)`, as the RV32 runner does.

The firmware modules the tests import must already be on the device (`host_tools deploy`).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from host_tools import deploy
from host_tools.devicelink import DeviceLink
from host_tools.errors import HostToolsError, InvalidInputError
from host_tools.mptest_report import ModuleRun, parse_run

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
TEST_DIR = REPO / "tests" / "firmware"
FIRMWARE_DIR = REPO / "firmware"
HOST_ONLY = {"conftest.py"}  # the pytest plugin; everything else beside the tests is MicroPython
# Seconds without any output before a module counts as hung (mpremote's timeout is per read).
MODULE_TIMEOUT_S = 120


@dataclass
class Totals:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    broken_modules: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.broken_modules

    def summary(self) -> str:
        text = f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped"
        if self.broken_modules:
            text += f", {len(self.broken_modules)} modules did not run"
        return text + f" in {self.seconds:.1f} s"


def find_modules(test_dir: Path = TEST_DIR, only: tuple[str, ...] = ()) -> list[Path]:
    modules = sorted(test_dir.glob("test_*.py"))
    if only:
        wanted = {name if name.endswith(".py") else name + ".py" for name in only}
        unknown = wanted - {m.name for m in modules}
        if unknown:
            raise InvalidInputError(
                f"no such firmware test module: {', '.join(sorted(unknown))} "
                f"(have: {', '.join(m.name for m in modules)})"
            )
        modules = [m for m in modules if m.name in wanted]
    return modules


def helper_modules(test_dir: Path) -> list[Path]:
    helpers = sorted(
        p
        for p in test_dir.glob("*.py")
        if not p.name.startswith("test_") and p.name not in HOST_ONLY
    )
    # They are copied to, then removed from, the device's working directory: never over a
    # firmware file of the same name.
    firmware = {p.name for p in FIRMWARE_DIR.glob("*.py")} | {"board.py"}
    clash = [p.name for p in helpers if p.name in firmware]
    if clash:
        raise InvalidInputError(f"test helper names clash with firmware modules: {clash}")
    return helpers


def run_module(link: DeviceLink, module: Path) -> ModuleRun:
    link.enter_raw_repl(soft_reset=True)
    code = f"import mptest\nimport {module.stem} as m\nmptest.main(m.__dict__)\n"
    out, err = link.exec_capture(code, timeout=MODULE_TIMEOUT_S)
    return parse_run(out + err, 1 if err else 0)


def report_module(
    module: Path, run: ModuleRun, totals: Totals, echo: Callable[[str], None]
) -> None:
    for name, outcome in sorted(run.outcomes.items()):
        label = f"{module.name}::{name}"
        if outcome.status == "pass":
            totals.passed += 1
            echo(f"PASS {label}")
        elif outcome.status == "skip":
            totals.skipped += 1
            echo(f"SKIP {label}: {outcome.reason or 'skipped'}")
        else:
            totals.failed += 1
            echo(f"FAIL {label}")
            for line in outcome.output:
                echo(f"    {line}")
    if run.returncode != 0 or not run.outcomes:
        totals.broken_modules.append(module.name)
        echo(f"ERROR {module.name}: the module did not complete on the device")
        for line in run.stray[-40:]:
            echo(f"    {line}")


def run_device_tests(
    port: str,
    only: tuple[str, ...] = (),
    echo: Callable[[str], None] = print,
    test_dir: Path = TEST_DIR,
) -> Totals:
    modules = find_modules(test_dir, only)
    totals = Totals()
    started = time.monotonic()
    with DeviceLink(port) as link, tempfile.TemporaryDirectory() as tmp:
        link.enter_raw_repl(soft_reset=True)
        cross = deploy.mpy_cross_args(deploy.probe(link))
        cache = deploy.CompileCache(deploy.cache_dir(), deploy.mpy_cross_version(cross))
        helpers = helper_modules(test_dir)
        written: list[str] = []

        def send(module: Path) -> str | None:
            """Compile and copy one module; its compile error, if any."""
            try:
                data = deploy.compile_cached(
                    cache, cross, module, module.name, Path(tmp), label=module.name
                )
            except deploy.DeployError as e:
                return str(e)
            written.append(module.stem + ".mpy")
            link.write_file(written[-1], data)
            return None

        def clean_up() -> None:
            link.enter_raw_repl(soft_reset=True)
            link.remove_files(written)
            link.reset_into_firmware()

        try:
            for helper in helpers:
                error = send(helper)
                if error:
                    raise InvalidInputError(f"{helper.name} does not compile: {error}")
            for module in modules:
                module_started = time.monotonic()
                error = send(module)
                if error:
                    run = ModuleRun(outcomes={}, stray=error.splitlines(), returncode=1)
                else:
                    run = run_module(link, module)
                report_module(module, run, totals, echo)
                log.info("%s took %.1f s", module.name, time.monotonic() - module_started)
        except BaseException:
            # A hung module can leave the device unreachable: report the first error, not that.
            with contextlib.suppress(HostToolsError):
                clean_up()
            raise
        clean_up()
    totals.seconds = time.monotonic() - started
    echo(totals.summary())
    return totals
