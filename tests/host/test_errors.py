"""Every error class has its own exit status, defined in host_tools.errors and documented in
the README's exit-status table. Classes are found by walking HostToolsError's subclasses
after importing every host_tools module, so a new class cannot be forgotten."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import host_tools
from host_tools.errors import ExitStatus, HostToolsError

README = Path(__file__).resolve().parents[2] / "README.md"


def every_error_class() -> list[type[HostToolsError]]:
    for module in pkgutil.walk_packages(host_tools.__path__, "host_tools."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)
    found: list[type[HostToolsError]] = [HostToolsError]
    for cls in found:
        found.extend(sub for sub in cls.__subclasses__() if sub not in found)
    return found


def readme_table() -> dict[int, str]:
    """status -> the error class named in its row (or "" for a row without one)."""
    text = README.read_text()
    section = text[text.index("## Exit status") :]
    rows = re.findall(r"^\| (\d+) \| [^\n]*?\|\s*`?(\w*)`?\s*\|$", section, re.MULTILINE)
    assert rows, "no exit-status table in the README"
    table = {int(status): name for status, name in rows}
    assert len(table) == len(rows), "a status appears twice in the README"
    return table


def test_error_classes_are_found_in_every_layer() -> None:
    names = {cls.__name__ for cls in every_error_class()}
    # one from each place errors are raised: the link, deploy, device tests, the sim
    assert {"ProtocolError", "DeployError", "DeviceTestFailure", "SimError"} <= names


def test_every_error_class_has_its_own_status() -> None:
    codes: dict[int, str] = {}
    for cls in every_error_class():
        assert "exit_code" in vars(cls), f"{cls.__name__} inherits its exit status"
        code = cls.exit_code
        assert code not in codes, f"{cls.__name__} and {codes[code]} share exit status {code}"
        codes[code] = cls.__name__


def test_every_status_comes_from_the_one_table() -> None:
    for cls in every_error_class():
        assert cls.exit_code in set(ExitStatus), cls.__name__
        assert isinstance(cls.exit_code, ExitStatus), f"{cls.__name__}: use ExitStatus"


def test_the_readme_documents_every_status_and_class() -> None:
    table = readme_table()
    assert set(table) == {int(s) for s in ExitStatus}
    for cls in every_error_class():
        assert table.get(cls.exit_code) == cls.__name__, (cls.__name__, cls.exit_code)


def test_the_cli_prints_any_error_as_one_printable_line(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from host_tools import cli
    from host_tools.errors import DeviceCommandError

    def fail(*args: object, **kwargs: object) -> None:
        raise DeviceCommandError("Traceback:\n  line 1\nOSError: bad \x1b[2J\u202ename\n")

    monkeypatch.setattr(cli.cli, "main", fail)
    assert cli.main(["info"]) == ExitStatus.DEVICE_COMMAND
    err = capsys.readouterr().err
    assert err == "host_tools: Traceback: | line 1 | OSError: bad \\x1b[2J\\u202ename\n"
