"""host_tools.otpauth: Key URI parsing with real-world quirks, round trips, QR decoding.

Expected values come from the URIs written here by hand, from CPython's base64, from pyotp's
provisioning URIs, and from segno-generated QR images; never from the code under test.
"""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path

import pyotp
import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from host_tools.account import AccountSpec
from host_tools.errors import InvalidInputError
from host_tools.otpauth import decode_qr, parse_uri, spec_from_fields, to_uri

# "Hello!\xde\xad\xbe\xef" is the well-known value of the Key Uri Format's example secret.
WIKI_SECRET = b"Hello!\xde\xad\xbe\xef"
WIKI_B32 = "JBSWY3DPEHPK3PXP"


def test_key_uri_format_example():
    spec = parse_uri(
        "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
    )
    assert spec == AccountSpec("totp", "Example", "alice@google.com", WIKI_SECRET)
    assert (spec.algorithm, spec.digits, spec.period, spec.counter) == ("sha1", 6, 30, 0)
    assert spec.label == "Example:alice@google.com"


def test_all_parameters():
    spec = parse_uri(
        "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ"
        "&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60"
    )
    assert spec.issuer == "ACME Co" and spec.name == "john.doe@email.com"
    assert spec.secret == base64.b32decode("HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ")
    assert (spec.algorithm, spec.digits, spec.period) == ("sha256", 8, 60)


def test_hotp_with_counter():
    spec = parse_uri("otpauth://hotp/Bank:me?secret=JBSWY3DPEHPK3PXP&counter=42&digits=7")
    assert (spec.kind, spec.counter, spec.digits, spec.issuer) == ("hotp", 42, 7, "Bank")
    big = parse_uri(f"otpauth://hotp/x?secret={WIKI_B32}&counter={2**64 - 1}")
    assert big.counter == 2**64 - 1


@pytest.mark.parametrize(
    ("label", "issuer", "name"),
    [
        ("Example:alice", "Example", "alice"),
        ("Example:%20alice", "Example", "alice"),  # optional space after the colon
        ("Example%3Aalice", "Example", "alice"),  # encoded colon
        ("Big%20Corp:alice%20smith", "Big Corp", "alice smith"),
        ("Corp:alice:work", "Corp", "alice:work"),  # extra ':' stay in the name
        ("alice", "", "alice"),
        ("%E2%82%AC%20Bank:j%C3%BCrgen", "€ Bank", "jürgen"),
        ("A+B:c+d", "A+B", "c+d"),  # '+' in a path is a plus
    ],
)
def test_labels(label: str, issuer: str, name: str):
    spec = parse_uri(f"otpauth://totp/{label}?secret={WIKI_B32}")
    assert (spec.issuer, spec.name) == (issuer, name)


def test_issuer_parameter_alone_and_form_encoded():
    assert parse_uri(f"otpauth://totp/alice?secret={WIKI_B32}&issuer=Big+Corp").issuer == (
        "Big Corp"
    )
    # An issuer can never hold ':' (labels split at the first one).
    with pytest.raises(InvalidInputError, match="':'"):
        parse_uri(f"otpauth://totp/alice?issuer=Ex%3Ample&secret={WIKI_B32}")


def test_issuer_parameter_matching_label_ignoring_case_keeps_parameter_spelling():
    spec = parse_uri(f"otpauth://totp/github:alice?secret={WIKI_B32}&issuer=GitHub")
    assert (spec.issuer, spec.name) == ("GitHub", "alice")


def test_issuer_mismatch_is_an_error_naming_both():
    with pytest.raises(InvalidInputError) as e:
        parse_uri(f"otpauth://totp/Foo:alice?secret={WIKI_B32}&issuer=Bar")
    assert "'Foo'" in str(e.value) and "'Bar'" in str(e.value)


@pytest.mark.parametrize(
    "written",
    [
        "jbswy3dpehpk3pxp",
        "JBSW Y3DP EHPK 3PXP",
        "jbsw-y3dp-ehpk-3pxp",
        "JBSWY3DPEHPK3PXP",
        "%20JBSWY3DPEHPK3PXP%20",
        "jbsw%20y3dp%20ehpk%203pxp",
    ],
)
def test_secret_spellings(written: str):
    assert parse_uri(f"otpauth://totp/a?secret={written}").secret == WIKI_SECRET


@pytest.mark.parametrize("raw", [b"H", b"He", b"Hel", b"Hell", b"Hello!", bytes(range(37))])
def test_padded_and_unpadded_secrets(raw: bytes):
    padded = base64.b32encode(raw).decode()
    for text in (padded, padded.rstrip("="), padded.lower()):
        query = urllib.parse.quote(text, safe="")
        assert parse_uri(f"otpauth://totp/a?secret={query}").secret == raw


def test_case_insensitive_scheme_type_and_algorithm():
    spec = parse_uri(f"OTPAUTH://TOTP/a?secret={WIKI_B32}&algorithm=sha512")
    assert (spec.kind, spec.algorithm) == ("totp", "sha512")
    assert parse_uri(f"otpauth://totp/a?secret={WIKI_B32}&algorithm=SHA-256").algorithm == (
        "sha256"
    )


def test_unknown_parameters_ignored_and_hotp_ignores_period():
    spec = parse_uri(
        f"otpauth://hotp/a?secret={WIKI_B32}&counter=1&period=999999&image=https%3A%2F%2Fx"
    )
    assert (spec.counter, spec.period) == (1, 30)
    assert parse_uri(f"otpauth://totp/a?secret={WIKI_B32}&counter=5").counter == 0


def test_limits_inclusive():
    issuer, name = "é" * 32, "N" * 64  # 64 bytes of UTF-8 each
    secret = bytes(range(128))
    uri = (
        f"otpauth://totp/{urllib.parse.quote(issuer)}:{name}?period=3600&digits=8"
        f"&secret={base64.b32encode(secret).decode()}"
    )
    spec = parse_uri(uri)
    assert (spec.issuer, spec.name, spec.secret, spec.period) == (issuer, name, secret, 3600)
    assert parse_uri("otpauth://totp/a?secret=AE&period=1").secret == b"\x01"


def _rejections() -> list[tuple[str, str]]:
    s = WIKI_B32
    long_secret = base64.b32encode(bytes(129)).decode()
    return [
        ("http://totp/a?secret=" + s, "otpauth"),
        ("otpauth://motp/a?secret=" + s, "motp"),  # steam is supported (test_steam.py)
        ("otpauth://totp/a?issuer=x", "no secret"),
        ("otpauth://totp/?secret=" + s, "account name"),
        ("otpauth://totp/Issuer:?secret=" + s, "account name"),
        ("otpauth://totp/a?secret=" + s + "&secret=" + s, "more than once"),
        ("otpauth://totp/a?secret=JBSWY3DP1HPK3PXP", "character 9"),
        ("otpauth://totp/a?secret=JBSWY3DPE", "length"),
        ("otpauth://totp/a?secret=", "empty"),
        ("otpauth://totp/a?secret=" + long_secret, "128"),
        ("otpauth://totp/a?secret=" + s + "&algorithm=MD5", "algorithm"),
        ("otpauth://totp/a?secret=" + s + "&digits=5", "6, 7 or 8"),
        ("otpauth://totp/a?secret=" + s + "&digits=9", "6, 7 or 8"),
        ("otpauth://totp/a?secret=" + s + "&digits=six", "6, 7 or 8"),
        ("otpauth://totp/a?secret=" + s + "&period=0", "period"),
        ("otpauth://totp/a?secret=" + s + "&period=3601", "period"),
        ("otpauth://totp/a?secret=" + s + "&period=-30", "period"),
        ("otpauth://hotp/a?secret=" + s, "counter"),
        ("otpauth://hotp/a?secret=" + s + "&counter=-1", "counter"),
        ("otpauth://hotp/a?secret=" + s + f"&counter={2**64}", "counter"),
        ("otpauth://totp/" + "I" * 65 + ":a?secret=" + s, "issuer"),
        ("otpauth://totp/" + "é" * 33 + ":a?secret=" + s, "issuer"),
        ("otpauth://totp/a:" + "n" * 65 + "?secret=" + s, "name"),
        ("otpauth://totp/a:b%09c?secret=" + s, "control"),
        ("otpauth://totp/a%FF?secret=" + s, "UTF-8"),
        ("otpauth://totp/Foo:a?secret=" + s + "&issuer=Bar", "differs"),
        ("otpauth-migration://offline?data=AAAA", "export"),
        ("otpauth://totp/a?secret=" + s + "x" * 5000, "longer"),
    ]


@pytest.mark.parametrize(("uri", "fragment"), _rejections())
def test_rejections_are_clear_and_never_echo_the_secret(uri: str, fragment: str):
    with pytest.raises(InvalidInputError) as e:
        parse_uri(uri)
    message = str(e.value)
    assert fragment in message
    assert "\n" not in message
    secret = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query).get("secret", [""])[0]
    if len(secret) >= 4:
        assert secret not in message and secret[:8] not in message


def test_repr_and_str_hide_the_secret():
    spec = parse_uri(f"otpauth://totp/a?secret={WIKI_B32}")
    for text in (repr(spec), str(spec)):
        assert "Hello" not in text and WIKI_B32 not in text and "secret" not in text


def test_spec_is_frozen_and_validated():
    spec = AccountSpec("totp", "I", "n", b"k")
    with pytest.raises(AttributeError):
        spec.secret = b"other"  # type: ignore[misc]
    with pytest.raises(InvalidInputError):
        AccountSpec("totp", "I", "n", b"k", counter=3)
    with pytest.raises(InvalidInputError):
        AccountSpec("totp", "", "a:b", b"k")
    with pytest.raises(InvalidInputError):
        AccountSpec("totp", " I", "n", b"k")
    with pytest.raises(InvalidInputError):
        AccountSpec("totp", "I", "n", b"k", digits=True)


def test_spec_from_fields():
    spec = spec_from_fields(" jbsw y3dp ehpk 3pxp ", " alice ", issuer=" Example ")
    assert spec == AccountSpec("totp", "Example", "alice", WIKI_SECRET)
    split = spec_from_fields(WIKI_B32, "Example:alice", kind="HOTP", counter=9, period=60)
    assert (split.issuer, split.name, split.kind, split.counter, split.period) == (
        "Example",
        "alice",
        "hotp",
        9,
        30,
    )
    spec = spec_from_fields(WIKI_B32, "n", algorithm="SHA512", digits=8, period=15)
    assert (spec.algorithm, spec.digits, spec.period) == ("sha512", 8, 15)
    with pytest.raises(InvalidInputError, match="6, 7 or 8"):
        spec_from_fields(WIKI_B32, "n", digits=10)
    with pytest.raises(InvalidInputError, match="type"):
        spec_from_fields(WIKI_B32, "n", kind="motp")  # steam is supported (test_steam.py)
    with pytest.raises(InvalidInputError, match="base32") as e:
        spec_from_fields("NOT!BASE32", "n")
    assert "NOT" not in str(e.value)


# ---- round trips

_text_char = st.characters(
    blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85\xa0"
)


def _label_text(min_size: int, colon_ok: bool) -> st.SearchStrategy[str]:
    chars = (
        _text_char
        if colon_ok
        else st.characters(
            blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters=":\x85\xa0"
        )
    )
    return (
        st.text(chars, min_size=min_size, max_size=40)
        .map(str.strip)
        .filter(lambda s: len(s) >= min_size and len(s.encode()) <= 64 and s == s.strip())
    )


@st.composite
def specs(draw: st.DrawFn) -> AccountSpec:
    kind = draw(st.sampled_from(["totp", "hotp"]))
    issuer = draw(_label_text(0, colon_ok=False))
    name = draw(_label_text(1, colon_ok=bool(issuer)))
    return AccountSpec(
        kind=kind,
        issuer=issuer,
        name=name,
        secret=draw(st.binary(min_size=1, max_size=128)),
        algorithm=draw(st.sampled_from(["sha1", "sha256", "sha512"])),
        digits=draw(st.sampled_from([6, 7, 8])),
        period=draw(st.integers(1, 3600)) if kind == "totp" else 30,
        counter=draw(st.integers(0, 2**64 - 1)) if kind == "hotp" else 0,
    )


@settings(max_examples=300, deadline=None)
@given(specs())
def test_round_trip_through_uri(spec: AccountSpec):
    uri = to_uri(spec)
    assert uri.isascii()
    assert parse_uri(uri) == spec


@settings(max_examples=200, deadline=None)
@given(
    secret=st.binary(min_size=14, max_size=64),  # pyotp insists on >= 112 bits
    name=st.from_regex(r"[A-Za-z0-9._@+-]{1,30}", fullmatch=True),
    issuer=st.from_regex(r"[A-Za-z0-9 ._-]{1,30}", fullmatch=True).map(str.strip).filter(bool),
    digits=st.sampled_from([6, 7, 8]),
    interval=st.integers(1, 120),  # pyotp's own limit
)
def test_pyotp_provisioning_uris(secret, name, issuer, digits, interval):
    b32 = base64.b32encode(secret).decode()
    uri = pyotp.TOTP(b32, digits=digits, interval=interval).provisioning_uri(
        name=name, issuer_name=issuer
    )
    spec = parse_uri(uri)
    assert (spec.issuer, spec.name, spec.secret, spec.digits, spec.period) == (
        issuer,
        name,
        secret,
        digits,
        interval,
    )
    hotp = pyotp.HOTP(b32).provisioning_uri(name=name, issuer_name=issuer, initial_count=7)
    assert parse_uri(hotp).counter == 7


# ---- QR codes


def test_decode_qr_of_a_segno_image(tmp_path: Path):
    uri = f"otpauth://totp/Example:alice@google.com?secret={WIKI_B32}&issuer=Example"
    png = tmp_path / "qr.png"
    segno.make(uri, error="m", micro=False).save(str(png), scale=6, border=4)
    assert decode_qr(png) == [uri]
    assert parse_uri(decode_qr(png)[0]).secret == WIKI_SECRET


def test_decode_qr_errors(tmp_path: Path):
    with pytest.raises(InvalidInputError, match="not found"):
        decode_qr(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(InvalidInputError, match="cannot read"):
        decode_qr(junk)
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (100, 100), 255).save(blank)
    with pytest.raises(InvalidInputError, match="no QR code"):
        decode_qr(blank)
