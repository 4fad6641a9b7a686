"""A catalogue of bad input at every command, against the real firmware server under
`micropython` (tests/host/mptoken.py). Each case must give exactly one line on stderr, no
output, the exit status it names (one documented in the README's table), no secret, and
leave the token as it was: accounts, counters and settings unchanged."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from mptoken import MicroPythonToken
from test_cli import one_line_error, run, token  # noqa: F401 - `token` is a fixture
from test_errors import readme_table

from host_tools.account import AccountSpec
from host_tools.errors import ExitStatus
from host_tools.session import Session

SECRET = b"12345678901234567890"
B32 = base64.b32encode(SECRET).decode().rstrip("=")
URI = f"otpauth://totp/ACME:alice?secret={B32}&issuer=ACME"
NOT_UTF8 = b"al\xffice".decode("utf-8", "surrogateescape")  # as argv delivers it on POSIX
LONG = "x" * 500

BAD = ExitStatus.INVALID_INPUT


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    status: ExitStatus
    stdin: str | None = None

    def __str__(self) -> str:
        return " ".join(a if len(a) < 20 else a[:16] + "..." for a in self.args)


def case(*args: str, status: ExitStatus = BAD, stdin: str | None = None) -> Case:
    return Case(args, status, stdin)


CASES = [
    # provision
    case("provision", "otpauth://totp/ACME:x?secret=NOT*BASE32"),
    case("provision", "otpauth://totp/ACME:x?issuer=ACME"),
    case("provision", "--secret", B32),  # no --name
    case("provision", URI, "--secret", B32, "--name", "n"),  # two sources
    case("provision", "--secret", B32, "--name", "a\x9bb"),
    case("provision", "--secret", B32, "--name", "x\u202egpj.exe"),
    case("provision", "--secret", B32, "--name", "n" * 65),
    case("provision", "--secret", B32, "--name", NOT_UTF8),
    case("provision", "--digits", "9", URI),
    case("provision", "--qr", "/nonexistent/qr.png"),
    case("provision", "-", stdin=""),
    case("provision", URI, status=ExitStatus.DUPLICATE),
    # list, code
    case("list", "extra"),
    case("code", "nobody", status=ExitStatus.NOT_FOUND),
    case("code", "--bogus"),
    # delete
    case("delete", "nobody", "--force", status=ExitStatus.NOT_FOUND),
    case("delete", "ACME", "--force"),  # names two accounts
    # rename
    case("rename", "ACME:alice", "y" * 65),
    case("rename", "ACME:alice", "ACME:" + "y" * 65),
    case("rename", "ACME:alice", NOT_UTF8),
    case("rename", "ACME:alice", "ACME:a\x9bb"),
    case("rename", "ACME:alice", "Evil:x\u202egpj.exe"),
    case("rename", "ACME:alice", "ACME:"),
    case("rename", "ACME:alice", "ACME:bob", status=ExitStatus.DUPLICATE),
    case("rename", "nobody", "x", status=ExitStatus.NOT_FOUND),
    case("rename", LONG, "x", status=ExitStatus.NOT_FOUND),
    # wipe
    case("wipe", "--bogus"),
    # time, verify, screen, info
    case("time", "--bogus"),
    case("time", "sync", "extra"),
    case("verify", "--count", "-1"),
    case("verify", "--seed", "x"),
    case("screen", "--png"),
    case("info", "extra"),
    # config
    case("config", "get", LONG),
    case("config", "get", NOT_UTF8),
    case("config", "set", "button_mode", LONG),
    case("config", "set", LONG, "1"),
    case("config", "set", "contrast", NOT_UTF8),
    case("config", "set", "contrast", "900"),
    case("config", "set", "contrast"),
    case("config", "set", "volume", "3", status=ExitStatus.NOT_FOUND),
    # the rest
    case("deploy", "--bogus"),
    case("device-test", "--bogus"),
    case("sim", "--bogus"),
    case("sim-ctl", "--bogus"),
    case("bogus"),
]


def state(s: Session) -> tuple[object, ...]:
    """Everything a command could change on the token."""
    return (s.accounts(), s.config_get(), s.info())


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_bad_input_is_one_line_a_documented_status_and_changes_nothing(
    token: MicroPythonToken,  # noqa: F811 - the fixture imported above
    capsys: pytest.CaptureFixture[str],
    bad: Case,
) -> None:
    s = Session(token.transport)
    s.add(AccountSpec("totp", "ACME", "alice", SECRET))
    s.add(AccountSpec("totp", "ACME", "bob", SECRET))
    s.add(AccountSpec("hotp", "Corp", "carol", SECRET, counter=5))
    before = state(s)
    status, out, err = run(capsys, *bad.args, stdin=bad.stdin)
    assert status == bad.status, err
    assert status in readme_table()
    line = one_line_error(err)
    assert out == "", out
    assert B32 not in line and B32.lower() not in line
    assert all(ch.isprintable() for ch in line), line
    assert state(s) == before
