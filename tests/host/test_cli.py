"""The token commands of the CLI end to end against the real firmware server under
`micropython` (tests/host/mptoken.py): output, --json, exit statuses, one-line errors."""

from __future__ import annotations

import base64
import io
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
import segno
from mptoken import MicroPythonToken
from PIL import Image

from host_tools import cli, reference
from host_tools.commands import _token
from host_tools.session import Session
from host_tools.transport import SerialTransport

SECRET = b"12345678901234567890"
B32 = base64.b32encode(SECRET).decode().rstrip("=")
URI = f"otpauth://totp/ACME:alice@example.com?secret={B32}&issuer=ACME"


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MicroPythonToken]:
    t = MicroPythonToken(tmp_path / "token")
    (tmp_path / "token").mkdir()
    opened: list[Session] = []

    def open_session(port: str | None) -> Session:
        s = Session(t.transport)
        opened.append(s)
        return s

    monkeypatch.setattr(_token, "open_session", open_session)
    yield t
    assert "Traceback" not in t.stop()


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    """host_tools ARGS as the console script runs it: (exit status, stdout, stderr)."""
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        status = cli.main(list(args))
    finally:
        sys.stdin = saved
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("host_tools: "), err
    assert "Traceback" not in err
    return lines[0]


def test_provision_uri_then_list_and_code(token: MicroPythonToken, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run(capsys, "provision", URI)
    assert status == 0, err
    assert "provisioned ACME:alice@example.com" in out and "1 of 64 slots used" in out
    status, out, _ = run(capsys, "list", "--json")
    listed = json.loads(out)
    assert listed == [
        {"label": "ACME:alice@example.com", "issuer": "ACME", "name": "alice@example.com",
         "type": "totp", "algorithm": "SHA1", "digits": 6, "period": 30}
    ]  # fmt: skip
    assert B32 not in out and "secret" not in out
    status, out, _ = run(capsys, "code", "--json")
    result = json.loads(out)
    assert result["codes"][0]["code"] == pyotp.TOTP(B32).at(result["token_time"])
    now = int(time.time())
    status, out, _ = run(capsys, "code", "alice")
    assert status == 0
    assert out.split()[1] in {pyotp.TOTP(B32).at(t) for t in (now - 1, now, now + 1)}


def test_provision_fields_hotp_and_code_query(token, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run(
        capsys, "provision", "--secret", B32.lower(), "--name", "bob", "--issuer", "Corp",
        "--hotp", "--counter", "5", "--digits", "6",
    )  # fmt: skip
    assert status == 0, err
    status, out, _ = run(capsys, "code")
    assert "[HOTP]" in out
    status, out, _ = run(capsys, "code", "bob", "--json")
    entry = json.loads(out)["codes"][0]
    assert (entry["code"], entry["counter"]) == (f"{reference.RFC4226_HOTP[5]:06d}", 5)


def test_provision_qr_image(token, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "qr.png"
    segno.make(URI, error="m").save(str(image), scale=6)
    status, out, err = run(capsys, "provision", "--qr", str(image))
    assert status == 0, err
    assert "ACME:alice@example.com" in out


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth://totp/ACME:x?secret=NOT*BASE32",
        "otpauth://totp/ACME:x?issuer=ACME",
        "otpauth://totp/ACME:x?secret=GEZDGNBV&digits=9",
        "otpauth://totp/ACME:x?secret=GEZDGNBV&algorithm=MD5",
        "otpauth://hotp/ACME:x?secret=GEZDGNBV",
        "https://example.com/",
    ],
)
def test_invalid_uris_are_rejected_and_nothing_is_written(token, capsys, uri: str) -> None:  # type: ignore[no-untyped-def]
    status, _, err = run(capsys, "provision", uri)
    assert status == 2
    one_line_error(err)
    assert "NOT*BASE32" not in err
    _, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_duplicate_force_and_full(token, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(capsys, "provision", URI)[0] == 0
    status, _, err = run(capsys, "provision", URI)
    assert status == 7 and "--force" in one_line_error(err)
    assert run(capsys, "provision", URI + "&digits=8", "--force")[0] == 0
    _, out, _ = run(capsys, "list", "--json")
    assert [a["digits"] for a in json.loads(out)] == [8]
    s = Session(token.transport)
    from host_tools.account import AccountSpec

    for i in range(63):
        s.add(AccountSpec("totp", "Fill", f"u{i}", SECRET))
    status, out, _ = run(capsys, "info")
    assert "64 of 64: the vault is FULL" in out
    status, out, _ = run(capsys, "info", "--json")
    assert json.loads(out)["full"] is True and json.loads(out)["free"] == 0
    status, _, err = run(capsys, "provision", "--secret", B32, "--name", "late")
    assert status == 6 and "64" in one_line_error(err)


def test_delete_rename_wipe(token, capsys) -> None:  # type: ignore[no-untyped-def]
    run(capsys, "provision", URI)
    run(capsys, "provision", "--secret", B32, "--name", "bob", "--issuer", "Corp")
    status, out, _ = run(capsys, "rename", "bob", "NewCorp:robert")
    assert status == 0 and "renamed Corp:bob to NewCorp:robert" in out
    status, _, err = run(capsys, "delete", "nobody", "--force")
    assert status == 8 and "nobody" in one_line_error(err)
    status, _, err = run(capsys, "delete", "o", "--force")  # matches both
    assert status == 2 and "matches 2 accounts" in one_line_error(err)
    status, _, _ = run(capsys, "delete", "robert", stdin="n\n")
    assert status == 130  # declined: nothing deleted
    assert run(capsys, "delete", "robert", "--force")[0] == 0
    _, out, _ = run(capsys, "list")
    assert "robert" not in out and "alice" in out
    assert run(capsys, "wipe", stdin="n\n")[0] == 130
    status, out, _ = run(capsys, "wipe", "--force")
    assert status == 0 and "1 accounts deleted" in out
    _, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_failed_check_removes_the_account(token, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from host_tools import provisioning

    monkeypatch.setattr(provisioning, "expected", lambda spec, value: 123456)
    status, _, err = run(capsys, "provision", URI)
    assert status == 1 and "reference" in one_line_error(err)
    _, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_confirm_asks_for_the_code(token, capsys) -> None:  # type: ignore[no-untyped-def]
    now = int(time.time())
    status, out, err = run(
        capsys, "provision", URI, "--confirm", stdin=pyotp.TOTP(B32).at(now) + "\n"
    )
    assert status == 0, err
    status, _, err = run(capsys, "provision", URI + "&digits=8", "--force", "--confirm",
                         stdin="000000\n111111\n222222\n")  # fmt: skip
    assert status == 1
    _, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_time_and_sync(token, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = run(capsys, "time", "--json")
    reading = json.loads(out)
    assert status == 0 and reading["valid"] is True and abs(reading["offset_ms"]) < 50
    status, out, _ = run(capsys, "time")
    assert "offset:" in out and "UTC" in out
    status, out, _ = run(capsys, "time", "sync", "--json")
    assert status == 0 and abs(json.loads(out)["residual_ms"]) < 10
    status, out, _ = run(capsys, "time", "sync")
    assert "residual offset" in out


def test_verify_passes_and_reports_speed(token, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run(capsys, "verify", "--count", "300", "--seed", "7", "--json")
    assert status == 0, err
    report = json.loads(out)
    # 28 RFC vectors, 2 published Steam codes, 300 random ones (15 of them Steam codes)
    assert (report["passed"], report["failed"], report["vectors"]) == (330, 0, 330)
    assert report["vectors_per_second"] > 0
    status, out, _ = run(capsys, "verify", "--count", "20")
    assert "50 passed, 0 failed" in out and "vectors/s" in out


def test_verify_fails_on_a_mismatch(token, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = Session.vectors

    def one_wrong(self, vectors, **kw):  # type: ignore[no-untyped-def]
        got = real(self, vectors, **kw)
        got[12] = (got[12] + 1) % 10**6
        return got

    monkeypatch.setattr(Session, "vectors", one_wrong)
    status, out, err = run(capsys, "verify", "--count", "5", "--seed", "1")
    assert status == 1
    assert "MISMATCH #12" in out and "34 passed, 1 failed" in out  # 30 known + 5 random
    assert "1 of 35 vectors do not match" in one_line_error(err)


def test_screen_text_and_png(token, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    png = tmp_path / "screen.png"
    status, out, _ = run(capsys, "screen", "--png", str(png))
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 34 and len(lines[1]) == 130  # framed 128 x 32 characters
    with Image.open(png) as img:
        assert img.size == (512, 256)
        assert img.convert("L").getpixel((1 * 4 + 1, 1)) == 255  # the "H" of the harness
        assert img.convert("L").getpixel((1, 1)) == 0


def test_config_commands(token, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, _ = run(capsys, "config", "get", "--json")
    assert json.loads(out)["contrast"] == "128"
    assert run(capsys, "config", "set", "contrast", "90")[1].strip() == "contrast = 90"
    status, _, err = run(capsys, "config", "set", "contrast", "900")
    assert status == 2 and "contrast" in one_line_error(err)
    _, out, _ = run(capsys, "config", "get", "contrast")
    assert out.split() == ["contrast", "90"]


def test_missing_port_is_a_clear_error(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    status, _, err = run(capsys, "--port", str(tmp_path / "ttyNONE"), "info")
    assert status == 3 and "ttyNONE" in one_line_error(err)


def test_silent_serial_port_times_out(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A real pseudo-terminal with nobody serving the protocol on the other side.
    master, slave = os.openpty()
    path = os.ttyname(slave)
    monkeypatch.setattr(
        _token, "open_session",
        lambda port: Session(SerialTransport.open(port), timeout=0.2, attempts=2),
    )  # fmt: skip
    try:
        status, _, err = run(capsys, "--port", path, "list")
    finally:
        os.close(master)
        os.close(slave)
    assert status == 4 and "no answer" in one_line_error(err)


def test_random_vector_seed_is_reproducible() -> None:
    a = reference.random_vectors(5, random.Random(3))
    b = reference.random_vectors(5, random.Random(3))
    assert a == b


def test_a_port_in_use_is_a_clear_error(capsys) -> None:  # type: ignore[no-untyped-def]
    master, slave = os.openpty()
    path = os.ttyname(slave)
    holder = SerialTransport.open(path)
    try:
        status, _, err = run(capsys, "--port", path, "info")
    finally:
        holder.close()
        os.close(master)
        os.close(slave)
    assert status == 3 and "in use by another program" in one_line_error(err)


def test_secrets_can_come_from_standard_input(token, capsys) -> None:  # type: ignore[no-untyped-def]
    # Neither form puts the secret in argv (the process list).
    status, out, err = run(capsys, "provision", "-", stdin=URI + "\n")
    assert status == 0, err
    assert "provisioned ACME:alice@example.com" in out and B32 not in out + err
    status, out, err = run(
        capsys, "provision", "--secret", "-", "--name", "bob", "--issuer", "Corp",
        stdin=B32.lower() + "\n",
    )  # fmt: skip
    assert status == 0, err
    assert "provisioned Corp:bob" in out and B32 not in out + err
    _, out, _ = run(capsys, "code", "bob", "--json")
    assert json.loads(out)["codes"][0]["code"] == pyotp.TOTP(B32).at(json.loads(out)["token_time"])


def test_empty_standard_input_is_an_input_error(token, capsys) -> None:  # type: ignore[no-untyped-def]
    for args in (["provision", "-"], ["provision", "--secret", "-", "--name", "x"]):
        status, _, err = run(capsys, *args, stdin="")
        assert status == 2 and "standard input" in one_line_error(err)
    _, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == []


def test_a_terminal_is_asked_without_echo(token, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from host_tools.commands import provision

    asked: list[tuple[str, bool]] = []

    def prompt(text: str, hide_input: bool = False, **kw: object) -> str:
        asked.append((text, hide_input))
        return B32

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(provision.click, "prompt", prompt)
    monkeypatch.setattr(sys, "stdin", Terminal())
    status, out, err = run(capsys, "provision", "--secret", "-", "--name", "tty")
    assert status == 0, err
    assert asked == [("Base32 secret", True)]
    assert B32 not in out + err
