"""`host_tools pin set | clear | status` end to end against the real firmware server under
`micropython` (tests/host/mptoken.py): the vault on disk encrypted, PIN_REQUIRED after a
restart (a power-on), wrong PINs counted and delayed, exit statuses and one-line errors."""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mptoken import MicroPythonToken
from test_cli import one_line_error, run

from host_tools.commands import _token
from host_tools.errors import ExitStatus
from host_tools.session import Session

SECRETS = (b"12345678901234567890", bytes(range(7, 47)))


class Harness:
    """The token server on one data directory; restart() is a power-on (PIN asked again)."""

    def __init__(self, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.data = data
        self.token = MicroPythonToken(data)
        monkeypatch.setattr(_token, "open_session", lambda port: Session(self.token.transport))

    def restart(self) -> None:
        assert "Traceback" not in self.token.stop()
        self.token = MicroPythonToken(self.data)

    def stop(self) -> str:
        return self.token.stop()


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    (tmp_path / "token").mkdir()
    h = Harness(tmp_path / "token", monkeypatch)
    yield h
    assert "Traceback" not in h.stop()


def _forms(secret: bytes) -> list[bytes]:
    b32 = base64.b32encode(secret).rstrip(b"=")
    hexed = binascii.hexlify(secret)
    return [secret, b32, b32.lower(), hexed, hexed.upper()]


def _on_disk(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data.iterdir()))


def _provision(capsys, secret: bytes, name: str) -> None:  # type: ignore[no-untyped-def]
    b32 = base64.b32encode(secret).decode().rstrip("=")
    status, _, err = run(capsys, "provision", "--secret", "-", "--name", name, stdin=b32 + "\n")
    assert status == 0, err


def test_pin_set_encrypts_and_a_power_on_hides_the_codes_until_entered(  # type: ignore[no-untyped-def]
    harness: Harness, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_TOOLS_PIN", "2468")
    status, out, err = run(capsys, "pin", "set")
    assert status == 0, err
    assert "PIN set" in out and "2468" not in out + err
    for i, secret in enumerate(SECRETS):
        _provision(capsys, secret, f"acct{i}")
    data = _on_disk(harness.data)
    for secret in SECRETS:
        for form in _forms(secret):
            assert form not in data, form
    # Unlocked since the PIN was set: codes as usual.
    status, out, _ = run(capsys, "code", "--json")
    assert status == 0 and len(json.loads(out)["codes"]) == 2
    status, out, _ = run(capsys, "pin", "status", "--json")
    assert json.loads(out) == {
        "set": True, "entered": True, "failures": 0, "tries_left": 10, "wait_s": 0
    }  # fmt: skip
    status, out, _ = run(capsys, "info", "--json")
    assert json.loads(out)["pin"] is True
    assert "PIN:       set" in run(capsys, "info")[1]

    harness.restart()  # a power-on: the PIN must be entered again
    for args in (
        ("code",),
        ("screen",),
        ("provision", "--secret", "JBSWY3DPEHPK3PXP", "--name", "new"),
    ):
        status, _, err = run(capsys, *args)
        assert status == ExitStatus.PIN_REQUIRED, (args, err)
        assert "PIN" in one_line_error(err)
    # Labels are not secret: list still works; so do info and the PIN's status.
    status, out, _ = run(capsys, "list")
    assert status == 0 and "acct0" in out and "acct1" in out
    status, out, _ = run(capsys, "pin", "status", "--json")
    assert json.loads(out)["entered"] is False


def test_wrong_pins_are_counted_delayed_and_clear_needs_the_right_one(  # type: ignore[no-untyped-def]
    harness: Harness, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_TOOLS_PIN", "1357")
    assert run(capsys, "pin", "set")[0] == 0
    _provision(capsys, SECRETS[0], "acct")
    harness.restart()
    monkeypatch.setenv("HOST_TOOLS_PIN", "1358")
    status, _, err = run(capsys, "pin", "clear")
    assert status == ExitStatus.WRONG_PIN
    assert "9 tries left" in one_line_error(err)
    status, _, err = run(capsys, "pin", "clear")  # at once: the delay is running
    assert status == ExitStatus.WRONG_PIN and "wait" in one_line_error(err)
    status, out, _ = run(capsys, "pin", "status", "--json")
    st = json.loads(out)
    assert st["failures"] == 1 and st["tries_left"] == 9 and 0 < st["wait_s"] <= 1
    # The count survives a power-on.
    harness.restart()
    status, out, _ = run(capsys, "pin", "status", "--json")
    assert json.loads(out)["failures"] == 1
    time.sleep(1.1)
    monkeypatch.setenv("HOST_TOOLS_PIN", "1357")
    status, out, err = run(capsys, "pin", "clear")
    assert status == 0, err
    assert "PIN cleared" in out
    status, out, _ = run(capsys, "code", "--json")
    assert status == 0 and json.loads(out)["codes"][0]["code"]
    assert SECRETS[0] in _on_disk(harness.data)  # cleared: stored plain again, by choice


def test_pin_input_is_checked_before_it_is_sent(  # type: ignore[no-untyped-def]
    harness: Harness, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for bad in ("123", "123456789", "12a4", " 1234"):
        monkeypatch.setenv("HOST_TOOLS_PIN", bad)
        status, _, err = run(capsys, "pin", "set")
        assert status == ExitStatus.INVALID_INPUT, bad
        assert "4 to 8 digits" in one_line_error(err)
    status, _, err = run(capsys, "pin", "clear")
    assert status == ExitStatus.INVALID_INPUT and "no PIN" in one_line_error(err)
    monkeypatch.delenv("HOST_TOOLS_PIN")
    status, _, err = run(capsys, "pin", "set", stdin="")  # no terminal to ask on
    assert status == ExitStatus.INVALID_INPUT and "HOST_TOOLS_PIN" in one_line_error(err)


def test_setting_a_pin_over_existing_accounts_warns_of_old_copies(  # type: ignore[no-untyped-def]
    harness: Harness, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    _provision(capsys, SECRETS[0], "acct")
    monkeypatch.setenv("HOST_TOOLS_PIN", "4321")
    status, out, err = run(capsys, "pin", "set")
    assert status == 0 and "PIN set" in out
    assert "1 accounts already on the token were stored unencrypted" in err
    for form in _forms(SECRETS[0]):
        assert form not in _on_disk(harness.data)  # no file holds them: re-encrypted


def test_changing_the_pin_needs_the_current_one(  # type: ignore[no-untyped-def]
    harness: Harness, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOST_TOOLS_PIN", "1111")
    assert run(capsys, "pin", "set")[0] == 0
    _provision(capsys, SECRETS[1], "acct")
    monkeypatch.setenv("HOST_TOOLS_NEW_PIN", "22223333")
    status, out, err = run(capsys, "pin", "set")
    assert status == 0 and "PIN changed" in out, err
    harness.restart()
    monkeypatch.setenv("HOST_TOOLS_PIN", "22223333")
    status, _, err = run(capsys, "pin", "clear")
    assert status == 0, err
    status, out, _ = run(capsys, "code", "--json")
    assert status == 0 and json.loads(out)["codes"][0]["code"]
