"""Bad input at the virtual token through the real CLI and serial port (issue points: rename
and config input that printed tracebacks, labels with C1 controls or bidirectional overrides,
secrets read from standard input). Each bad command gives one line on stderr, the input-error
status, no output, no flash write and no change to accounts or settings."""

from __future__ import annotations

import base64
import json
import time

import pyotp
import pytest
from e2e_helpers import host_tools

from host_tools.account import AccountSpec
from host_tools.errors import ExitStatus
from host_tools.session import Session
from host_tools.transport import SerialTransport

pytestmark = pytest.mark.e2e

SECRET = b"12345678901234567890"
B32 = base64.b32encode(SECRET).decode().rstrip("=")
NOT_UTF8 = b"al\xffice".decode("utf-8", "surrogateescape")  # as argv delivers it on POSIX


def settled_writes(sim) -> int:  # type: ignore[no-untyped-def]
    """The sim's flash write count once it stops moving."""
    last = sim.control.firmware_status()["flash_writes"]
    for _ in range(20):
        time.sleep(0.25)
        now = sim.control.firmware_status()["flash_writes"]
        if now == last:
            break
        last = now
    return int(last)


@pytest.fixture(scope="module")
def token(sim_module):  # type: ignore[no-untyped-def]
    """The module's sim with two accounts on it (the bad commands below must not change it)."""
    with Session(SerialTransport.open(sim_module.port)) as s:
        s.add(AccountSpec("totp", "ACME", "alice", SECRET))
        s.add(AccountSpec("totp", "ACME", "bob", SECRET))
    return sim_module


def snapshot(sim) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    with Session(SerialTransport.open(sim.port)) as s:
        return (s.accounts(), s.config_get())


BAD = [
    ("rename", "ACME:alice", "y" * 65),
    ("rename", "ACME:alice", NOT_UTF8),
    ("rename", "ACME:alice", "ACME:a\u009bb"),
    ("rename", "ACME:alice", "Evil:x\u202egpj.exe"),
    ("config", "set", "button_mode", "x" * 500),
    ("config", "get", "x" * 500),
    ("config", "get", NOT_UTF8),
    ("provision", "--secret", B32, "--name", "a\u009b31m"),
    ("provision", "--secret", B32, "--name", "x\u2066y"),
    ("provision", "otpauth://totp/ACME:x%E2%80%AEgpj?secret=" + B32),
]


@pytest.mark.parametrize("args", BAD, ids=lambda a: " ".join(x[:12] for x in a))
def test_bad_input_is_one_line_status_2_and_changes_nothing(token, capsys, args) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(token)
    writes = settled_writes(token)
    status, out, err = host_tools(token, capsys, *args)
    assert status == ExitStatus.INVALID_INPUT, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("host_tools: "), err
    assert all(ch.isprintable() for ch in lines[0]) and B32 not in err
    assert out == ""
    assert token.control.firmware_status()["flash_writes"] == writes
    assert snapshot(token) == before


def test_secrets_from_standard_input_reach_the_token(sim, capsys) -> None:  # type: ignore[no-untyped-def]
    uri = f"otpauth://totp/ACME:alice?secret={B32}&issuer=ACME"
    status, out, err = host_tools(sim, capsys, "provision", "-", stdin=uri + "\n")
    assert status == 0, err
    status, out, err = host_tools(
        sim, capsys, "provision", "--secret", "-", "--name", "bob", stdin=B32 + "\n"
    )
    assert status == 0, err
    assert B32 not in out + err
    _, out, _ = host_tools(sim, capsys, "code", "--json")
    result = json.loads(out)
    assert [c["label"] for c in result["codes"]] == ["ACME:alice", "bob"]
    want = pyotp.TOTP(B32).at(result["token_time"])
    assert [c["code"] for c in result["codes"]] == [want, want]

