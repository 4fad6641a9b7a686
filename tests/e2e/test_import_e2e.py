"""`host_tools import` against the virtual token (unpaced line): a mixed set of exports, then
the token's `code --json` against CPython's hmac for every TOTP account, and for the Steam
account against the host reference and pyotp's Steam helper; bad input leaves the flash alone.
Export files come from tests/host/fixtures/make_exports.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import host_tools
from pyotp.contrib import Steam

from host_tools import reference
from host_tools.errors import ExitStatus

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host" / "fixtures"))
import make_exports as mx  # noqa: E402

pytestmark = pytest.mark.e2e

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def expected_code(a: mx.Acct, at: int) -> str:
    """RFC 6238 with CPython's hmac (pyotp refuses secrets under 14 bytes, which exports
    hold), or Steam's code: the host reference's, which pyotp's Steam helper must agree with
    (tests/host/test_steam.py checks the reference against published Steam codes)."""
    if a.kind == "steam":
        code = reference.steam(a.secret, at)
        assert code == Steam(a.b32).at(at), (a.label, at)
        return code
    mac = hmac.new(a.secret, (at // a.period).to_bytes(8, "big"), DIGESTS[a.algorithm]).digest()
    offset = mac[-1] & 15
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**a.digits:0{a.digits}d}"


def token_codes(sim, capsys) -> tuple[int, dict[str, str]]:  # type: ignore[no-untyped-def]
    status, out, err = host_tools(sim, capsys, "code", "--json")
    assert status == 0, err
    doc = json.loads(out)
    return doc["token_time"], {c["label"]: c["code"] for c in doc["codes"]}


def test_import_a_mixed_set_then_codes_equal_the_reference(unpaced_sim, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    aegis = tmp_path / "aegis.json"
    aegis.write_text(json.dumps(mx.aegis_encrypted(mx.COMMON[:2] + [mx.STEAM, mx.MD5])))
    twofas = tmp_path / "backup.2fas"
    twofas.write_text(json.dumps(mx.twofas_plain(mx.twofas_services([mx.SEVEN]))))
    lines = tmp_path / "list.txt"
    lines.write_text("# exported\n\n" + mx.otpauth_uri(mx.ODD) + "\n")
    qr = mx.qr_png(mx.migration_uris(mx.COMMON[2:], parts=2), tmp_path / "google.png")
    status, out, err = host_tools(
        unpaced_sim, capsys, "import", "--password", mx.PASSWORD,
        str(aegis), str(twofas), str(lines), str(qr),
    )  # fmt: skip
    assert status == 0, err
    imported = mx.COMMON + [mx.SEVEN, mx.ODD, mx.STEAM]
    assert f"skipped {mx.MD5.label}: unsupported algorithm" in out
    assert f"imported {mx.STEAM.label} (STEAM, SHA1, 5 characters, 30 s)" in out
    summary = out.splitlines()[-1]
    assert summary.startswith(f"imported {len(imported)}, skipped 1;"), out
    for secret in (a.b32 for a in imported):
        assert secret not in out + err
    for _ in range(3):  # a code read across a period edge is read again
        at, codes = token_codes(unpaced_sim, capsys)
        want = {a.label: expected_code(a, at) for a in imported if a.kind != "hotp"}
        got = {label: code for label, code in codes.items() if label in want}
        if got == want:
            break
        time.sleep(1)
    assert got == want
    assert sorted(codes) == sorted(a.label for a in imported)


def test_bad_input_writes_nothing_to_the_token(unpaced_sim, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    good = tmp_path / "good.txt"
    good.write_text(mx.otpauth_uri(mx.COMMON[0]) + "\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("not an export\n")
    locked = tmp_path / "locked.json"
    locked.write_text(json.dumps(mx.aegis_encrypted(mx.COMMON)))
    blank = tmp_path / "blank.png"
    Image.new("L", (100, 100), 255).save(blank)
    writes = unpaced_sim.control.firmware_status()["flash_writes"]
    seen = set()
    for bad, status in (
        (tmp_path / "missing.txt", ExitStatus.UNREADABLE_FILE),
        (notes, ExitStatus.NOT_AN_EXPORT),
        (locked, ExitStatus.WRONG_PASSWORD),
        (blank, ExitStatus.NO_QR_CODE),
    ):
        got, out, err = host_tools(
            unpaced_sim, capsys, "import", "--password", "nope", str(good), str(bad)
        )
        assert got == status, err
        assert out == "" and len(err.splitlines()) == 1 and err.startswith("host_tools: ")
        seen.add(got)
    assert len(seen) == 4  # four kinds, four statuses
    status, out, _ = host_tools(unpaced_sim, capsys, "list", "--json")
    assert status == 0 and json.loads(out) == []
    assert unpaced_sim.control.firmware_status()["flash_writes"] == writes
