"""Backup while provisioning, restore into a second virtual token: the same accounts and the
same codes (TOTP against CPython's hmac at each token's time; HOTP: the same next code).
Both sims run on the unpaced line."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import host_tools

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host" / "fixtures"))
import make_exports as mx  # noqa: E402

pytestmark = pytest.mark.e2e

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
PASSWORD = "backup password"
UNPACED = ("--baud", "0")  # conftest.UNPACED, for sim_factory


def totp(a: mx.Acct, at: int) -> str:
    mac = hmac.new(a.secret, (at // a.period).to_bytes(8, "big"), DIGESTS[a.algorithm]).digest()
    offset = mac[-1] & 15
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**a.digits:0{a.digits}d}"


def check_codes(sim, capsys, accts: list[mx.Acct]) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):  # a read across a period edge is read again
        status, out, err = host_tools(sim, capsys, "code", "--json")
        assert status == 0, err
        doc = json.loads(out)
        got = {c["label"]: c["code"] for c in doc["codes"] if c["type"] == "totp"}
        want = {a.label: totp(a, doc["token_time"]) for a in accts if a.kind == "totp"}
        if got == want:
            return
        time.sleep(1)
    assert got == want


def test_backup_while_provisioning_then_restore_on_a_second_token(  # type: ignore[no-untyped-def]
    sim_factory, capsys, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("HOST_TOOLS_BACKUP_PASSWORD", PASSWORD)
    backup = tmp_path / "backup.json"
    first = sim_factory(*UNPACED)
    one = mx.COMMON[0]
    status, out, err = host_tools(
        first, capsys, "provision", "--backup", str(backup), mx.otpauth_uri(one)
    )
    assert status == 0, err
    assert f"added to the backup {backup}" in out
    export = tmp_path / "export.txt"
    rest = mx.COMMON[1:] + [mx.SEVEN, mx.ODD]
    export.write_text("\n".join(mx.otpauth_uri(a) for a in rest) + "\n")
    status, out, err = host_tools(first, capsys, "import", "--backup", str(backup), str(export))
    assert status == 0, err
    assert (backup.stat().st_mode & 0o777) == 0o600
    accts = [one] + rest
    check_codes(first, capsys, accts)

    second = sim_factory(*UNPACED)
    monkeypatch.delenv("HOST_TOOLS_BACKUP_PASSWORD")
    status, out, err = host_tools(second, capsys, "restore", "--password", PASSWORD, str(backup))
    assert status == 0, err
    assert out.splitlines()[-1].startswith(f"imported {len(accts)}, skipped 0;")
    status, out, _ = host_tools(second, capsys, "list", "--json")
    assert [a["label"] for a in json.loads(out)] == [a.label for a in accts]
    check_codes(second, capsys, accts)
    # HOTP: both tokens give the same next code from the same counter.
    hotp = next(a for a in accts if a.kind == "hotp")
    codes = []
    for sim in (first, second):
        status, out, err = host_tools(sim, capsys, "code", hotp.label, "--json")
        assert status == 0, err
        (entry,) = json.loads(out)["codes"]
        codes.append((entry["code"], entry["counter"]))
    assert codes[0] == codes[1] and codes[0][1] == hotp.counter
