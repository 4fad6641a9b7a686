"""Steam Guard accounts on the host: the reference, the account model, otpauth URIs, and the
CLI against the real firmware server (tests/host/mptoken.py).

Expected codes are published ones, never computed with the code under test:
- KeePassXC, tests/TestTotp.cpp (testSteamTotp): secret 63BEDWCQZKTQWPESARIERL5DTTQFCJTK
  gives FR8RV at 1511200518 and 9P3VP at 1511200714, "created by running the Steam Guard
  function of the Steam mobile app with a throw-away steam account";
- the RFC 6238 SHA1 seed at t=59 gives PV9M4, and pyotp's Steam helper (pyotp.contrib.Steam,
  an independent implementation) agrees with the reference on random secrets and times.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mptoken import MicroPythonToken
from pyotp.contrib import Steam
from test_cli import one_line_error, run

from host_tools import protocol, reference, verification
from host_tools.account import AccountSpec, steam_account
from host_tools.commands import _token
from host_tools.errors import InvalidInputError
from host_tools.otpauth import parse_uri, spec_from_fields, to_uri
from host_tools.session import Session

STEAM_B32 = "63BEDWCQZKTQWPESARIERL5DTTQFCJTK"
STEAM_SECRET = base64.b32decode(STEAM_B32)
PUBLISHED = ((1511200518, "FR8RV"), (1511200714, "9P3VP"))


# ---- the reference


def test_reference_gives_the_published_codes() -> None:
    for t, text in PUBLISHED:
        assert reference.steam(STEAM_SECRET, t) == text
        value = reference.totp(STEAM_SECRET, t, "sha1", 5, 30)
        assert reference.format_code(value, 5) == text
    assert reference.steam(b"12345678901234567890", 59) == "PV9M4"


def test_reference_agrees_with_pyotp_steam() -> None:
    rng = random.Random(15)
    for _ in range(300):
        secret = rng.randbytes(rng.randint(14, 64))  # pyotp wants at least 112 bits
        t = rng.randrange(0, 2**34)
        b32 = base64.b32encode(secret).decode()
        assert reference.steam(secret, t) == Steam(b32).at(t), (len(secret), t)


def test_steam_values_and_text() -> None:
    assert reference.STEAM_ALPHABET == "23456789BCDFGHJKMNPQRTVWXY"
    assert reference.STEAM_MODULUS == 26**5 and reference.STEAM_DIGITS == protocol.STEAM_DIGITS
    assert reference.steam_text(0) == "22222" and reference.steam_text(26**5 - 1) == "YYYYY"
    assert reference.steam_text(1) == "32222"  # the least significant character first
    assert reference.format_code(123, 6) == "000123"  # decimal codes are unchanged
    vectors = reference.random_steam_vectors(50, random.Random(1))
    assert all(v.digits == 5 and v.period == 30 and v.algorithm == "sha1" for v in vectors)
    assert all(v.text == reference.steam(v.secret, v.unix_time) for v in vectors)


def test_verify_includes_the_published_steam_codes() -> None:
    steam = [v for v in verification.rfc_vectors() if v.digits == 5]
    assert [(v.unix_time, v.text) for v in steam] == [  # type: ignore[union-attr]
        (t, text) for t, text in PUBLISHED
    ]


# ---- the account model and URIs


def test_steam_account_is_the_one_way_to_build_one() -> None:
    spec = steam_account("Steam", "gamer", STEAM_SECRET)
    assert (spec.kind, spec.algorithm, spec.digits, spec.period, spec.counter) == (
        "steam",
        "sha1",
        5,
        30,
        0,
    )
    assert STEAM_B32 not in repr(spec)


@pytest.mark.parametrize(
    "kw",
    [
        {"digits": 6},
        {"digits": 5, "algorithm": "sha256"},
        {"digits": 5, "period": 60},
        {"digits": 5, "counter": 1},
    ],
)
def test_steam_with_other_parameters_is_refused(kw: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError, match="steam account is SHA1") as e:
        AccountSpec("steam", "Steam", "gamer", STEAM_SECRET, **kw)  # type: ignore[arg-type]
    assert STEAM_B32 not in str(e.value)


def test_decimal_codes_still_refuse_five_digits() -> None:
    with pytest.raises(InvalidInputError, match="6, 7 or 8"):
        AccountSpec("totp", "I", "n", STEAM_SECRET, digits=5)


@pytest.mark.parametrize(
    "uri",
    [
        f"otpauth://steam/Steam:gamer?secret={STEAM_B32}&issuer=Steam",
        f"otpauth://STEAM/Steam:gamer?secret={STEAM_B32}&digits=5&period=30&algorithm=SHA1",
        # As KeePassXC writes (and tests) it: totp with encoder=steam.
        f"otpauth://totp/Steam:gamer?secret={STEAM_B32}&issuer=Steam&algorithm=SHA1"
        "&digits=5&period=30&encoder=steam",
        f"otpauth://totp/Steam:gamer?secret={STEAM_B32.lower()}&encoder=Steam",
    ],
)
def test_steam_uris(uri: str) -> None:
    spec = parse_uri(uri)
    assert spec == steam_account("Steam", "gamer", STEAM_SECRET)
    assert parse_uri(to_uri(spec)) == spec
    assert to_uri(spec).startswith("otpauth://steam/")


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        (f"otpauth://steam/a?secret={STEAM_B32}&digits=6", "steam account is SHA1"),
        (f"otpauth://steam/a?secret={STEAM_B32}&period=60", "steam account is SHA1"),
        (f"otpauth://steam/a?secret={STEAM_B32}&algorithm=SHA256", "steam account is SHA1"),
        (f"otpauth://totp/a?secret={STEAM_B32}&encoder=base10", "encoder"),
        (f"otpauth://hotp/a?secret={STEAM_B32}&counter=1&encoder=steam", "encoder"),
        ("otpauth://steam/a?secret=", "empty"),
    ],
)
def test_bad_steam_uris(uri: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match=fragment) as e:
        parse_uri(uri)
    assert STEAM_B32 not in str(e.value) and "\n" not in str(e.value)


def test_spec_from_fields_steam() -> None:
    spec = spec_from_fields(STEAM_B32, "Steam:gamer", kind="steam")
    assert spec == steam_account("Steam", "gamer", STEAM_SECRET)


# ---- the CLI against the firmware server


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MicroPythonToken]:
    t = MicroPythonToken(tmp_path / "token")
    (tmp_path / "token").mkdir()
    monkeypatch.setattr(_token, "open_session", lambda port: Session(t.transport))
    yield t
    assert "Traceback" not in t.stop()


def test_provision_list_and_code(token: MicroPythonToken, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run(
        capsys, "provision", "--steam", "--secret", "-", "--name", "Steam:gamer",
        stdin=STEAM_B32 + "\n",
    )  # fmt: skip
    assert status == 0, err
    assert "provisioned Steam:gamer (Steam Guard, SHA1, 5 characters, 30 s)" in out
    assert STEAM_B32 not in out + err
    status, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == [
        {"label": "Steam:gamer", "issuer": "Steam", "name": "gamer", "type": "steam",
         "algorithm": "SHA1", "digits": 5, "period": 30}
    ]  # fmt: skip
    status, out, _ = run(capsys, "list")
    assert "Steam Guard, SHA1, 5 characters, 30 s" in out
    status, out, _ = run(capsys, "code", "--json")
    result = json.loads(out)
    code = result["codes"][0]["code"]
    assert code == Steam(STEAM_B32).at(result["token_time"])
    assert len(code) == 5 and 1 <= result["codes"][0]["seconds_left"] <= 30
    status, out, _ = run(capsys, "code", "gamer")
    assert status == 0 and out.split()[1] in {
        Steam(STEAM_B32).at(result["token_time"] + d) for d in (0, 30, 60)
    }


def test_provision_steam_uri_and_token_codes(token: MicroPythonToken, capsys) -> None:  # type: ignore[no-untyped-def]
    uri = f"otpauth://totp/Steam:gamer?secret={STEAM_B32}&encoder=steam"
    status, out, err = run(capsys, "provision", uri)
    assert status == 0, err
    s = Session(token.transport)
    (account,) = s.accounts()
    assert account.kind == "steam" and account.digits == 5
    # CHECK (the provisioning proof) at the published times gives the published codes.
    spec = parse_uri(uri)
    s.add(spec, replace=True)
    got = s.check(spec, [t for t, _ in PUBLISHED])
    assert [reference.format_code(c, 5) for c in got] == [text for _, text in PUBLISHED]


def test_the_token_refuses_steam_with_other_parameters(token: MicroPythonToken) -> None:
    s = Session(token.transport)
    # Bypass the host's own check: the token must refuse by itself.
    bad = AccountSpec("totp", "Steam", "gamer", STEAM_SECRET, digits=6)
    object.__setattr__(bad, "kind", "steam")
    with pytest.raises(InvalidInputError, match="steam account is sha1, digits 5"):
        s.add(bad)
    assert s.accounts() == []


def test_steam_option_conflicts(token: MicroPythonToken, capsys) -> None:  # type: ignore[no-untyped-def]
    for extra in (["--digits", "6"], ["--hotp"], ["--period", "60"], ["--algorithm", "SHA256"]):
        status, _, err = run(
            capsys, "provision", "--steam", "--secret", STEAM_B32, "--name", "g", *extra
        )
        assert status == 2 and "--steam goes with --secret" in one_line_error(err)
    assert Session(token.transport).accounts() == []


def test_verify_on_the_token_includes_steam(token: MicroPythonToken, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run(capsys, "verify", "--count", "100", "--seed", "3", "--json")
    assert status == 0, err
    report = json.loads(out)
    assert report["failed"] == 0 and report["vectors"] == 130  # 28 RFC, 2 Steam, 100 random


def test_confirm_takes_the_steam_code_as_shown(token: MicroPythonToken, capsys) -> None:  # type: ignore[no-untyped-def]
    uri = f"otpauth://steam/Steam:gamer?secret={STEAM_B32}"
    shown = Steam(STEAM_B32).at(int(time.time()))
    status, _, err = run(capsys, "provision", uri, "--confirm", stdin=shown.lower() + "\n")
    assert status == 0, err
    status, _, err = run(
        capsys, "provision", uri, "--force", "--confirm", stdin="22222\n12345\nBCDFG\n"
    )
    assert status == 1 and "host_tools: the code typed does not match" in err
    assert Session(token.transport).accounts() == []
