"""host_tools.imports on files of every format, written by tests/host/fixtures/make_exports.py
from each app's documented layout: plain and encrypted, wrong and missing passwords, comments,
Google Authenticator exports in parts (across files, in a QR screenshot), Steam entries,
odd-length secrets, service-name-only entries, HOTP counters, duplicates. Expected accounts
come from the generator's own account table, secrets decoded with base64.b32decode."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from host_tools import imports
from host_tools.account import AccountSpec
from host_tools.errors import (
    NoQrCodeError,
    NotAnExportError,
    PasswordNeededError,
    UnreadableFileError,
    WrongPasswordError,
)
from host_tools.imports import common, load_file, load_files, load_qr, parse_text

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import make_exports as mx  # noqa: E402


def given(password: str = mx.PASSWORD):  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def ask(what: str) -> str:
        asked.append(what)
        return password

    ask.asked = asked  # type: ignore[attr-defined]
    return ask


def spec(a: mx.Acct) -> AccountSpec:
    """The account an app would show for `a` (Steam: SHA1, 5 digits, 30 s)."""
    if a.kind == "steam":
        return AccountSpec("steam", a.issuer, a.name, a.secret, "sha1", 5, 30)
    return AccountSpec(
        a.kind, a.issuer, a.name, a.secret, a.algorithm.lower(), a.digits,
        a.period if a.kind == "totp" else 30, a.counter,
    )  # fmt: skip


def check(result: imports.ImportResult, accts: list[mx.Acct], refused: list[mx.Acct]) -> None:
    """`result` holds exactly `accts` (Steam ones as Steam accounts) and skips `refused` by
    label, with no secret in any line."""
    assert result.accounts == [spec(a) for a in accts]
    assert sorted(s.entry for s in result.skipped) == sorted(a.label for a in refused)
    for s in result.skipped:
        for a in accts + refused:
            assert a.b32 not in str(s) and a.secret.hex() not in str(s)


JSON_ACCTS = mx.COMMON + mx.EXTRA


def test_aegis_plain_and_encrypted(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(mx.aegis_plain(JSON_ACCTS + [mx.MD5])))
    check(load_file(plain), JSON_ACCTS, [mx.MD5])
    enc = tmp_path / "enc.json"
    enc.write_text(json.dumps(mx.aegis_encrypted(JSON_ACCTS + [mx.MD5])))
    password = given()
    result = load_file(enc, password)
    check(result, JSON_ACCTS, [mx.MD5])
    assert result.source == "aegis" and password.asked == [f"Aegis export {enc}"]  # type: ignore[attr-defined]
    with pytest.raises(WrongPasswordError, match="wrong password"):
        load_file(enc, given("not it"))
    with pytest.raises(PasswordNeededError, match="encrypted"):
        load_file(enc)


def test_aegis_with_only_a_phone_slot_is_refused(tmp_path: Path) -> None:
    vault = mx.aegis_encrypted(mx.COMMON)
    vault["header"]["slots"] = vault["header"]["slots"][:1]  # the biometric one
    path = tmp_path / "phone.json"
    path.write_text(json.dumps(vault))
    with pytest.raises(NotAnExportError, match="no password slot"):
        load_file(path, given())


@pytest.mark.parametrize("schema", [1, 2, 3, 4])
def test_2fas_every_schema_version(tmp_path: Path, schema: int) -> None:
    accts = JSON_ACCTS if schema >= 2 else mx.totp_only(JSON_ACCTS)
    path = tmp_path / "backup.2fas"
    path.write_text(json.dumps(mx.twofas_plain(mx.twofas_services(accts, schema), schema)))
    result = load_file(path)
    assert result.source == "2fas"
    check(result, accts, [])


def test_2fas_encrypted(tmp_path: Path) -> None:
    path = tmp_path / "enc.2fas"
    path.write_text(
        json.dumps(mx.twofas_encrypted(mx.twofas_services(JSON_ACCTS + [mx.TEN_DIGITS])))
    )
    check(load_file(path, given()), JSON_ACCTS, [mx.TEN_DIGITS])
    with pytest.raises(WrongPasswordError):
        load_file(path, given("wrong"))
    with pytest.raises(PasswordNeededError):
        load_file(path)


def test_2fas_service_name_only_is_issuer_and_name(tmp_path: Path) -> None:
    services = [mx.service_only("example.com", b"service-only-secret")]
    services += mx.twofas_services([mx.COMMON[0]])
    path = tmp_path / "s.2fas"
    path.write_text(json.dumps(mx.twofas_plain(services)))
    got = load_file(path).accounts
    assert got[0] == AccountSpec("totp", "example.com", "example.com", b"service-only-secret")
    assert got[1] == spec(mx.COMMON[0])


def test_2fas_entry_kept_only_as_its_link(tmp_path: Path) -> None:
    a = mx.COMMON[3]
    service = {"name": "Mail", "otp": {"link": mx.otpauth_uri(a), "tokenType": "HOTP"}}
    path = tmp_path / "link.2fas"
    path.write_text(json.dumps(mx.twofas_plain([service])))
    assert load_file(path).accounts == [spec(a)]


def test_andotp_plain_and_both_encrypted_formats(tmp_path: Path) -> None:
    entries = mx.andotp_entries(JSON_ACCTS + [mx.MD5])
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(entries))
    check(load_file(plain), JSON_ACCTS, [mx.MD5])
    for name, data in (
        ("new.json.aes", mx.andotp_encrypted(entries)),
        ("old.json.aes", mx.andotp_encrypted_old(entries)),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        result = load_file(path, given())
        assert result.source == "andotp"
        check(result, JSON_ACCTS, [mx.MD5])
        with pytest.raises(WrongPasswordError, match="wrong password"):
            load_file(path, given("wrong"))
        with pytest.raises(PasswordNeededError):
            load_file(path)


def test_andotp_label_without_issuer_is_split() -> None:
    result = imports.parse_andotp(
        [{"secret": mx.COMMON[0].b32, "label": "Shop - me@x", "type": "TOTP"}]
    )
    assert [(a.issuer, a.name) for a in result.accounts] == [("Shop", "me@x")]


def test_otpauth_list_with_comments_steam_and_odd_secrets(tmp_path: Path) -> None:
    lines = ["# exported list", ""]
    lines += [mx.otpauth_uri(a) for a in JSON_ACCTS]
    steam2 = mx.Acct("steam", "", "second", mx.STEAM.b32, mx.STEAM.secret)
    lines.append(mx.otpauth_uri(steam2, steam_form="encoder"))
    # What a Steam URI says of digits, algorithm or period is not Steam's: ignored.
    steam3 = mx.Acct("steam", "Steam", "third", mx.STEAM.b32, mx.STEAM.secret)
    lines.append(
        f"otpauth://steam/Steam:third?secret={mx.STEAM.b32}&digits=8&algorithm=SHA512&period=60"
    )
    lines.append("otpauth://totp/Bad:line?secret=NOT*BASE32")
    lines.append("not a uri at all")
    path = tmp_path / "list.txt"
    path.write_text("\n".join(lines) + "\n")
    result = load_file(path)
    assert result.accounts == [spec(a) for a in JSON_ACCTS + [steam2, steam3]]
    skipped = {s.entry: s.reason for s in result.skipped}
    assert "base32" in skipped.pop("Bad:line")
    assert skipped.pop(f"line {len(lines)}") == "not an otpauth:// or otpauth-migration:// URI"
    assert skipped == {}


def test_steam_entries_become_steam_accounts_from_every_format(tmp_path: Path) -> None:
    want = [AccountSpec("steam", "Steam", "gamer", mx.STEAM.secret, "sha1", 5, 30)]
    sources = {
        "a.json": json.dumps(mx.aegis_plain([mx.STEAM])),
        "b.2fas": json.dumps(mx.twofas_plain(mx.twofas_services([mx.STEAM]))),
        "c.json": json.dumps(mx.andotp_entries([mx.STEAM])),
        "d.txt": mx.otpauth_uri(mx.STEAM),
        "e.txt": mx.otpauth_uri(mx.STEAM, steam_form="encoder"),
    }
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
        result = load_file(tmp_path / name)
        assert (result.accounts, result.skipped) == (want, []), name


def test_steam_spec_is_sha1_five_characters_30_s() -> None:
    got = common.steam_spec("Steam", "gamer", b"k" * 10)
    assert got == AccountSpec("steam", "Steam", "gamer", b"k" * 10, "sha1", 5, 30, 0)


def test_base32_as_the_apps_read_it() -> None:
    import base64

    for text in ("JBSWY3DPEHPK3PXP", "jbsw y3dp ehpk 3pxp", "JBSW-Y3DP-EHPK-3PXP===="):
        assert common.decode_base32(text) == base64.b32decode("JBSWY3DPEHPK3PXP")
    full = base64.b32decode("JBSWY3DPEHPK3PXP")
    # Every shorter length: the whole bytes its bits give, the rest ignored.
    for n in range(2, 17):
        assert common.decode_base32("JBSWY3DPEHPK3PXP"[:n]) == full[: n * 5 // 8], n
    for bad, fragment in (("A", "shorter"), ("AB1C", "character 3"), ("", "empty")):
        with pytest.raises(Exception, match=fragment):
            common.decode_base32(bad)


def test_google_export_in_parts_across_files_in_any_order(tmp_path: Path) -> None:
    uris = mx.migration_uris(mx.COMMON, parts=3)
    files = []
    for i, uri in enumerate(uris):
        path = tmp_path / f"part{i}.txt"
        path.write_text(f"# part {i + 1} of 3\n\n{uri}\n")
        files.append(path)
    # given backwards, one part twice: the same accounts once each, in the export's order
    result = load_files([files[2], files[0], files[1], files[0]])
    expected = [
        spec(a) for chunk in (mx.COMMON[0::3], mx.COMMON[1::3], mx.COMMON[2::3]) for a in chunk
    ]
    assert result.accounts == expected and result.skipped == []
    missing = load_files([files[0], files[2]])
    assert [s.entry for s in missing.skipped] == ["Google Authenticator export (batch -123456)"]
    assert "QR code 2 of 3 missing" in missing.skipped[0].reason


def test_google_export_in_one_text_with_comments() -> None:
    uris = mx.migration_uris(mx.COMMON, parts=2)
    text = f"# Google Authenticator\n{uris[1]}\n\n   # second\n{uris[0]}\n"
    assert len(parse_text(text).accounts) == len(mx.COMMON)


def test_qr_screenshot_of_a_google_export_in_parts(tmp_path: Path) -> None:
    uris = mx.migration_uris(mx.COMMON, parts=2)
    shot = mx.qr_png(uris + [mx.otpauth_uri(mx.SEVEN)], tmp_path / "shot.png")
    result = load_qr(shot)
    assert sorted(a.label for a in result.accounts) == sorted(
        a.label for a in mx.COMMON + [mx.SEVEN]
    )
    assert load_file(shot).accounts == result.accounts  # the file loader sees an image too


def test_duplicates_within_an_import_are_skipped(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text(json.dumps(mx.aegis_plain(mx.COMMON[:2])))
    b = tmp_path / "b.txt"
    b.write_text(mx.otpauth_uri(mx.COMMON[1]) + "\n" + mx.otpauth_uri(mx.COMMON[2]) + "\n")
    result = load_files([a, b])
    assert [s.label for s in result.accounts] == [x.label for x in mx.COMMON[:3]]
    assert [(s.entry, s.reason) for s in result.skipped] == [
        (mx.COMMON[1].label, "duplicate of an earlier entry of the import")
    ]


def test_whole_file_failures_have_their_own_errors(tmp_path: Path) -> None:
    from PIL import Image

    with pytest.raises(UnreadableFileError, match="not found"):
        load_file(tmp_path / "missing.json")
    with pytest.raises(UnreadableFileError, match="directory"):
        load_file(tmp_path)
    readme = tmp_path / "README.txt"
    readme.write_text("Hello,\nthis is not an export.\n")
    with pytest.raises(NotAnExportError, match="not an export"):
        load_file(readme)
    blank = tmp_path / "blank.png"
    Image.new("L", (120, 120), 255).save(blank)
    with pytest.raises(NoQrCodeError, match="no QR code"):
        load_file(blank)
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(WrongPasswordError):  # could be an andOTP backup: the password fails
        load_file(garbage, given())
