"""host_tools.devicetest: per-test results and failure status from modules run on a device.

The device is a stand-in that runs each snippet with the real MicroPython unix interpreter in a
directory (as tests/host/test_deploy_plan.py does); the modules are small ones written here with a
known mix of passing, failing and skipping tests, run by the real tests/firmware/mptest.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from host_tools import devicetest
from host_tools.devicelink import DeviceLink
from host_tools.errors import InvalidInputError

MICROPYTHON = str(Path(sys.executable).parent / "micropython")
RUNNER = devicetest.TEST_DIR / "mptest.py"

MIXED = """\
import mptest

def test_adds():
    assert 1 + 1 == 2

def test_breaks():
    print("about to fail")
    assert [1, 2] == [1, 3], "lists differ"

def test_needs_models():
    try:
        import model_ds3231_not_here
    except ImportError:
        mptest.skip("needs the sim's DS3231 model")

if __name__ == "__main__":
    import mptest
    mptest.main(globals())
"""

GOOD = """\
def test_ok():
    assert b"ab" + b"c" == b"abc"

if __name__ == "__main__":
    import mptest
    mptest.main(globals())
"""

BROKEN = "import module_that_does_not_exist\n"


class DirLink:
    """Stands in for DeviceLink: snippets run by `micropython` with cwd = the device dir."""

    def __init__(self, port: str) -> None:
        self.root = Path(port)
        self.resets = 0

    def __enter__(self) -> DirLink:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def enter_raw_repl(self, soft_reset: bool = True) -> None:
        pass

    def reset_into_firmware(self) -> None:
        self.resets += 1

    def exec_capture(self, code: str, timeout: float = 10) -> tuple[str, str]:
        proc = subprocess.run(
            [MICROPYTHON, "-c", code],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            env={"MICROPYPATH": ".frozen:"},
        )
        return proc.stdout, proc.stderr

    def exec(self, code: str, timeout: float = 10) -> str:
        out, err = self.exec_capture(code)
        assert not err, err
        return out

    # The real methods: they only send a snippet through exec().
    remove_files = DeviceLink.remove_files
    eval = DeviceLink.eval

    def write_file(self, path: str, data: bytes) -> None:
        (self.root / path).write_bytes(data)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setattr(devicetest, "DeviceLink", DirLink)
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "mptest.py").write_bytes(RUNNER.read_bytes())
    device = tmp_path / "device"
    device.mkdir()
    return tests, device


def run(tests: Path, device: Path, only: tuple[str, ...] = ()) -> tuple[devicetest.Totals, str]:
    lines: list[str] = []
    totals = devicetest.run_device_tests(str(device), only, echo=lines.append, test_dir=tests)
    return totals, "\n".join(lines)


def test_each_test_reported_and_failure_counted(setup: tuple[Path, Path]) -> None:
    tests, device = setup
    (tests / "test_mixed.py").write_text(MIXED)
    (tests / "test_good.py").write_text(GOOD)
    totals, text = run(tests, device)
    assert (totals.passed, totals.failed, totals.skipped) == (2, 1, 1)
    assert not totals.ok
    assert "PASS test_good.py::test_ok" in text
    assert "PASS test_mixed.py::test_adds" in text
    assert "FAIL test_mixed.py::test_breaks" in text
    assert "about to fail" in text and "lists differ" in text
    assert "SKIP test_mixed.py::test_needs_models: needs the sim's DS3231 model" in text
    assert "2 passed, 1 failed, 1 skipped" in text
    # the runner was copied for the run and removed afterwards; nothing else was left
    assert list(device.iterdir()) == []


def test_all_passing_is_ok(setup: tuple[Path, Path]) -> None:
    tests, device = setup
    (tests / "test_good.py").write_text(GOOD)
    totals, _ = run(tests, device)
    assert totals.ok and totals.passed == 1


def test_module_that_cannot_import_is_a_failure(setup: tuple[Path, Path]) -> None:
    tests, device = setup
    (tests / "test_broken.py").write_text(BROKEN)
    totals, text = run(tests, device)
    assert not totals.ok and totals.broken_modules == ["test_broken.py"]
    assert "module_that_does_not_exist" in text


def test_selecting_modules(setup: tuple[Path, Path]) -> None:
    tests, device = setup
    (tests / "test_mixed.py").write_text(MIXED)
    (tests / "test_good.py").write_text(GOOD)
    totals, text = run(tests, device, ("test_good",))
    assert totals.ok and "test_mixed" not in text
    with pytest.raises(InvalidInputError, match="test_nope.py"):
        run(tests, device, ("test_nope",))


def test_helper_modules_are_copied_then_removed(setup: tuple[Path, Path]) -> None:
    tests, device = setup
    (tests / "conftest.py").write_text("import pytest  # host only: must not be copied\n")
    (tests / "helperlib.py").write_text("VALUE = 42\n")
    (tests / "test_uses_helper.py").write_text(
        "import helperlib\n\ndef test_value():\n    assert helperlib.VALUE == 42\n\n"
        'if __name__ == "__main__":\n    import mptest\n    mptest.main(globals())\n'
    )
    totals, text = run(tests, device)
    assert totals.ok and "PASS test_uses_helper.py::test_value" in text
    assert list(device.iterdir()) == []


def test_modules_arrive_compiled_and_a_syntax_error_is_reported(setup: tuple[Path, Path]) -> None:
    # A board imports bytecode: no module is compiled in its heap (an ESP32's 112 KB).
    tests, device = setup
    (tests / "test_where.py").write_text(
        "import mptest\n\ndef test_imported_from_bytecode():\n"
        '    assert __file__.endswith("test_where.mpy"), __file__\n'
        '    assert mptest.__file__.endswith("mptest.mpy"), mptest.__file__\n'
    )
    (tests / "test_typo.py").write_text("def test_x(:\n    pass\n")
    totals, text = run(tests, device)
    assert "PASS test_where.py::test_imported_from_bytecode" in text
    assert totals.broken_modules == ["test_typo.py"]
    assert "SyntaxError" in text or "invalid syntax" in text
    assert list(device.iterdir()) == []
