"""host_tools.imports: Google Authenticator migration, Aegis, andOTP and 2FAS exports.

Migration payloads are encoded here with a few lines of protobuf writing (the reverse of what
the code under test does), plus the widely published one-account example; JSON exports are
written by hand in each app's documented shape. Expected accounts come from those inputs.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host_tools.errors import InvalidInputError, PasswordNeededError
from host_tools.imports import (
    load_file,
    load_qr,
    parse_2fas,
    parse_aegis,
    parse_andotp,
    parse_migration_uri,
    parse_text,
)
from host_tools.otpauth import AccountSpec

WIKI_SECRET = b"Hello!\xde\xad\xbe\xef"
WIKI_B32 = "JBSWY3DPEHPK3PXP"


# ---- a minimal protobuf writer for the tests


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def _otp(secret: bytes, name: str, issuer: str = "", algo=1, digits=1, kind=2, counter=None):
    body = _field(1, secret) + _field(2, name)
    if issuer:
        body += _field(3, issuer)
    body += _field(4, algo) + _field(5, digits) + _field(6, kind)
    if counter is not None:
        body += _field(7, counter)
    return body


def _migration(*entries: bytes, extra: bytes = b"") -> str:
    payload = b"".join(_field(1, e) for e in entries) + _field(2, 1) + _field(3, 1) + extra
    data = base64.b64encode(payload).decode()
    return "otpauth-migration://offline?data=" + urllib.parse.quote(data, safe="")


def test_published_single_account_example():
    # The example export found in many write-ups of the format: one TOTP account,
    # name "Example:alice@google.com", issuer "Example", the Key Uri Format's secret.
    uri = (
        "otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNv"
        "bRoHRXhhbXBsZTAC"
    )
    result = parse_migration_uri(uri)
    assert result.accounts == [AccountSpec("totp", "Example", "alice@google.com", WIKI_SECRET)]
    assert result.skipped == [] and result.source == "google-authenticator"


def test_migration_every_field():
    uri = _migration(
        _otp(b"\x01" * 20, "alice", "GitHub"),
        _otp(b"\x02" * 32, "bob", "Bank", algo=2, digits=2),
        _otp(b"\x03" * 64, "carol", "Corp", algo=3, digits=1, kind=1, counter=2**40),
        _otp(b"\x04" * 10, "Mail:dave", "mail"),  # prefix equal to issuer ignoring case
        _otp(b"\x05" * 10, "erin"),  # no issuer
        _otp(b"\x06" * 10, "Other:frank", "Issuer"),  # prefix is not the issuer: keep it
    )
    got = parse_migration_uri(uri).accounts
    assert got == [
        AccountSpec("totp", "GitHub", "alice", b"\x01" * 20),
        AccountSpec("totp", "Bank", "bob", b"\x02" * 32, "sha256", 8),
        AccountSpec("hotp", "Corp", "carol", b"\x03" * 64, "sha512", 6, 30, 2**40),
        AccountSpec("totp", "mail", "dave", b"\x04" * 10),
        AccountSpec("totp", "", "erin", b"\x05" * 10),
        AccountSpec("totp", "Issuer", "Other:frank", b"\x06" * 10),
    ]


def test_migration_unspecified_enums_default_and_unknown_fields_are_skipped():
    entry = _field(1, b"k" * 10) + _field(2, "n") + _field(99, b"future") + _field(98, 7)
    got = parse_migration_uri(_migration(entry, extra=_field(5, 123456)))
    assert got.accounts == [AccountSpec("totp", "", "n", b"k" * 10)]


def test_migration_unsupported_entries_are_skipped_with_reasons_not_secrets():
    uri = _migration(
        _otp(b"SECRETBYTES", "md5acct", "X", algo=4),
        _otp(b"SECRETBYTES", "weird", "X", digits=3),
        _otp(b"SECRETBYTES", "huge", "X" * 70),
        _otp(b"", "empty", "X"),
        _otp(b"k" * 10, "ok", "X"),
    )
    result = parse_migration_uri(uri)
    assert [a.name for a in result.accounts] == ["ok"]
    assert len(result.skipped) == 4
    assert [s.entry for s in result.skipped] == ["X:md5acct", "X:weird", "X" * 70 + ":huge",
                                                 "X:empty"]  # fmt: skip
    assert "algorithm" in result.skipped[0].reason
    assert "digits" in result.skipped[1].reason
    assert "issuer" in result.skipped[2].reason
    for line in map(str, result.skipped):
        assert "SECRETBYTES" not in line and "U0VDUkVU" not in line


def test_migration_data_spellings():
    entry = _otp(b"\xfb\xff" * 8, "n", "I")  # base64 with '+' and '/'
    payload = _field(1, entry)
    std = base64.b64encode(payload).decode()
    assert "+" in std or "/" in std
    for data in (
        urllib.parse.quote(std, safe=""),
        std.rstrip("="),
        urllib.parse.quote(base64.urlsafe_b64encode(payload).decode(), safe=""),
        std.replace("+", " ").rstrip("="),
    ):
        uri = "otpauth-migration://offline?data=" + data
        assert parse_migration_uri(uri).accounts[0].secret == b"\xfb\xff" * 8, data


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("otpauth://totp/a?secret=" + WIKI_B32, "otpauth-migration"),
        ("otpauth-migration://offline", "data"),
        ("otpauth-migration://offline?data=!!!!", "base64"),
        ("otpauth-migration://offline?data=" + base64.b64encode(b"\x0a\x05ab").decode(), "trunc"),
        ("otpauth-migration://offline?data=" + base64.b64encode(b"\x0b").decode(), "wire type"),
        (
            "otpauth-migration://offline?data="
            + base64.b64encode(b"\x08" + b"\xff" * 11).decode(),
            "overlong",
        ),
    ],
)
def test_migration_rejections(uri: str, fragment: str):
    with pytest.raises(InvalidInputError, match=fragment):
        parse_migration_uri(uri)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=1, max_size=128),
            st.from_regex(r"[a-z0-9@.]{1,20}", fullmatch=True),
            st.from_regex(r"[A-Za-z0-9]{0,20}", fullmatch=True),
            st.sampled_from([(1, "sha1"), (2, "sha256"), (3, "sha512")]),
            st.sampled_from([(1, 6), (2, 8)]),
            st.one_of(st.none(), st.integers(0, 2**63)),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_migration_round_trip(entries):
    encoded = []
    expected = []
    for secret, name, issuer, (algo_n, algo), (digits_n, digits), counter in entries:
        kind = 2 if counter is None else 1
        encoded.append(_otp(secret, name, issuer, algo_n, digits_n, kind, counter))
        expected.append(
            AccountSpec(
                "totp" if counter is None else "hotp",
                issuer,
                name,
                secret,
                algo,
                digits,
                30,
                counter or 0,
            )
        )
    assert parse_migration_uri(_migration(*encoded)).accounts == expected


# ---- JSON exports

AEGIS = {
    "version": 1,
    "header": {"slots": None, "params": None},
    "db": {
        "version": 2,
        "entries": [
            {
                "type": "totp",
                "uuid": "3ae6f1ad-2e65-4ed2-a953-1ec0dff2386d",
                "name": "alice@example.com",
                "issuer": "Example",
                "note": "",
                "icon": None,
                "info": {"secret": WIKI_B32, "algo": "SHA256", "digits": 8, "period": 60},
            },
            {
                "type": "hotp",
                "name": "bob",
                "issuer": "Bank",
                "info": {"secret": "jbsw y3dp", "algo": "SHA1", "digits": 6, "counter": 5},
            },
            {
                "type": "steam",
                "name": "gamer",
                "issuer": "Steam",
                "info": {"secret": WIKI_B32, "algo": "SHA1", "digits": 5, "period": 30},
            },
            {
                "type": "totp",
                "name": "broken",
                "issuer": "X",
                "info": {"secret": "NOT-BASE32!", "algo": "SHA1", "digits": 6, "period": 30},
            },
        ],
    },
}


def test_aegis_plain_export():
    result = parse_aegis(AEGIS)
    assert result.source == "aegis"
    assert result.accounts == [
        AccountSpec("totp", "Example", "alice@example.com", WIKI_SECRET, "sha256", 8, 60),
        AccountSpec("hotp", "Bank", "bob", base64.b32decode("JBSWY3DP"), counter=5),
        AccountSpec("steam", "Steam", "gamer", WIKI_SECRET, "sha1", 5, 30),
    ]
    broken = result.skipped
    assert len(broken) == 1 and broken[0].entry == "X:broken" and "base32" in broken[0].reason
    assert "NOT-BASE32" not in str(broken[0])


def test_aegis_types_the_token_does_not_do_are_skipped_by_name():
    entries = [
        {"type": kind, "name": kind, "issuer": "Y", "info": {"secret": WIKI_B32, "pin": "1234"}}
        for kind in ("yandex", "motp")
    ]
    result = parse_aegis({"version": 1, "header": {"slots": None}, "db": {"entries": entries}})
    assert result.accounts == []
    assert [str(s) for s in result.skipped] == [
        f"Y:{kind}: unsupported type '{kind}' (the token does TOTP, HOTP and Steam)"
        for kind in ("yandex", "motp")
    ]


def test_aegis_encrypted_without_a_password_is_refused():
    encrypted = {
        "version": 1,
        "header": {"slots": [{"type": 1, "n": 2, "r": 1, "p": 1, "salt": "00"}], "params": {}},
        "db": "abc",
    }
    with pytest.raises(PasswordNeededError, match="encrypted"):
        parse_aegis(encrypted)


def test_andotp_export():
    data = [
        {
            "secret": WIKI_B32,
            "issuer": "Example",
            "label": "alice",
            "digits": 6,
            "type": "TOTP",
            "algorithm": "SHA1",
            "thumbnail": "Default",
            "last_used": 0,
            "used_frequency": 0,
            "period": 30,
            "tags": [],
        },
        {
            "secret": WIKI_B32,
            "issuer": "",
            "label": "Legacy:bob",
            "digits": 7,
            "type": "HOTP",
            "algorithm": "SHA512",
            "counter": 3,
        },
        {"secret": WIKI_B32, "label": "steam", "type": "STEAM", "digits": 5},
    ]
    result = parse_andotp(data)
    assert result.accounts == [
        AccountSpec("totp", "Example", "alice", WIKI_SECRET),
        AccountSpec("hotp", "Legacy", "bob", WIKI_SECRET, "sha512", 7, 30, 3),
        AccountSpec("steam", "", "steam", WIKI_SECRET, "sha1", 5, 30),
    ]
    assert not result.skipped


def test_2fas_export():
    data = {
        "services": [
            {
                "name": "GitHub",
                "secret": WIKI_B32,
                "otp": {
                    "label": "GitHub:alice",
                    "account": "alice",
                    "issuer": "GitHub",
                    "digits": 6,
                    "period": 30,
                    "algorithm": "SHA1",
                    "tokenType": "TOTP",
                    "source": "Link",
                },
                "order": {"position": 0},
            },
            {
                "name": "Service Only",
                "secret": WIKI_B32,
                "otp": {"digits": 8, "period": 15, "algorithm": "SHA256", "tokenType": "TOTP"},
            },
            {
                "name": "Counter",
                "secret": WIKI_B32,
                "otp": {"account": "me", "tokenType": "HOTP", "counter": 9},
            },
        ],
        "schemaVersion": 4,
        "appVersionCode": 5000000,
    }
    result = parse_2fas(data)
    assert result.accounts == [
        AccountSpec("totp", "GitHub", "alice", WIKI_SECRET),
        # only a service name: the app shows it as the title; it is both issuer and name
        AccountSpec("totp", "Service Only", "Service Only", WIKI_SECRET, "sha256", 8, 15),
        AccountSpec("hotp", "Counter", "me", WIKI_SECRET, counter=9),
    ]
    with pytest.raises(PasswordNeededError, match="encrypted"):
        parse_2fas({"services": [], "servicesEncrypted": "A" * 24 + ":abcd:" + "A" * 16})


# ---- detection and files


def test_parse_text_detects_each_format(tmp_path: Path):
    assert parse_text(json.dumps(AEGIS)).source == "aegis"
    assert parse_text(json.dumps([{"secret": WIKI_B32, "label": "a"}])).source == "andotp"
    assert parse_text(json.dumps({"services": []})).source == "2fas"
    one = parse_text(f"otpauth://totp/Example:alice?secret={WIKI_B32}\n")
    assert one.accounts == [AccountSpec("totp", "Example", "alice", WIKI_SECRET)]
    two = _migration(_otp(b"k" * 10, "a", "I")) + "\n\n" + _migration(_otp(b"j" * 10, "b", "I"))
    assert [a.name for a in parse_text(two).accounts] == ["a", "b"]
    path = tmp_path / "aegis.json"
    path.write_text("\ufeff" + json.dumps(AEGIS), encoding="utf-8")
    labels = [a.label for a in load_file(path).accounts]
    assert labels == ["Example:alice@example.com", "Bank:bob", "Steam:gamer"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("{not json", "not JSON"),
        ('{"hello": 1}', "not an Aegis, andOTP or 2FAS"),
        ("[1, 2]", "andOTP"),
        ("https://example.com", "otpauth"),
    ],
)
def test_parse_text_rejections(text: str, fragment: str):
    with pytest.raises(InvalidInputError, match=fragment):
        parse_text(text)


def test_load_file_errors(tmp_path: Path):
    with pytest.raises(InvalidInputError, match="not found"):
        load_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InvalidInputError, match="UTF-8"):
        load_file(bad)


def test_load_qr_reads_every_code_in_an_image(tmp_path: Path):
    import segno
    from PIL import Image

    uri = f"otpauth://totp/Example:alice?secret={WIKI_B32}&issuer=Example"
    export = _migration(_otp(b"k" * 10, "bob", "Bank"), _otp(b"j" * 10, "carol", "Corp"))
    images = []
    for i, text in enumerate((uri, export)):
        path = tmp_path / f"{i}.png"
        segno.make(text, error="m", micro=False).save(str(path), scale=5, border=4)
        images.append(Image.open(path).convert("L"))
    width = sum(im.width for im in images) + 40
    sheet = Image.new("L", (width, max(im.height for im in images)), 255)
    sheet.paste(images[0], (0, 0))
    sheet.paste(images[1], (images[0].width + 40, 0))
    sheet_path = tmp_path / "sheet.png"
    sheet.save(sheet_path)
    got = sorted(a.label for a in load_qr(sheet_path).accounts)
    assert got == ["Bank:bob", "Corp:carol", "Example:alice"]
