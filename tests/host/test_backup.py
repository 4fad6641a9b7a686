"""host_tools.backup: an encrypted Aegis vault of the accounts put on the token.

The round trip is checked with an independent reading of Aegis's documented format
(docs/vault.md: scrypt password slot -> master key -> AES-256-GCM db), written here with
`cryptography` directly, not with host_tools.imports.aegis."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from host_tools import backup as backup_mod
from host_tools.account import AccountSpec
from host_tools.backup import Backup
from host_tools.errors import BackupError, InvalidInputError, WrongPasswordError
from host_tools.imports import load_file

PASSWORD = "backup pass"
ALICE = AccountSpec("totp", "ACME", "alice", b"alice-secret-bytes!!", "sha256", 8, 60)
BOB = AccountSpec("hotp", "Bank", "bob", b"bob-secret", counter=7)
CAROL = AccountSpec("totp", "", "carol", b"carol's secret")


def aegis_decrypt(path: Path, password: str) -> dict[str, Any]:
    """The db of an encrypted Aegis vault, read as Aegis's documentation describes it."""
    vault = json.loads(path.read_text())
    assert vault["version"] == 1
    header = vault["header"]
    slot = next(s for s in header["slots"] if s["type"] == 1)
    key = Scrypt(
        salt=bytes.fromhex(slot["salt"]), length=32, n=slot["n"], r=slot["r"], p=slot["p"]
    ).derive(password.encode())
    params = slot["key_params"]
    master = AESGCM(key).decrypt(
        bytes.fromhex(params["nonce"]),
        bytes.fromhex(slot["key"]) + bytes.fromhex(params["tag"]),
        None,
    )
    db = base64.b64decode(vault["db"])
    plain = AESGCM(master).decrypt(
        bytes.fromhex(header["params"]["nonce"]),
        db + bytes.fromhex(header["params"]["tag"]),
        None,
    )
    result: dict[str, Any] = json.loads(plain)
    return result


def b32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def test_a_new_backup_opens_with_aegis_reading(tmp_path: Path) -> None:
    path = tmp_path / "backup.json"
    b = Backup.open(path, PASSWORD)
    assert not path.exists()  # nothing is written before the first account
    b.record(ALICE)
    b.record(BOB)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    db = aegis_decrypt(path, PASSWORD)
    entries = db["entries"]
    assert [(e["type"], e["issuer"], e["name"]) for e in entries] == [
        ("totp", "ACME", "alice"),
        ("hotp", "Bank", "bob"),
    ]
    assert entries[0]["info"] == {
        "secret": b32(ALICE.secret), "algo": "SHA256", "digits": 8, "period": 60,
    }  # fmt: skip
    assert entries[1]["info"] == {"secret": b32(BOB.secret), "algo": "SHA1", "digits": 6,
                                  "counter": 7}  # fmt: skip
    for e in entries:
        assert len(e["uuid"]) == 36 and e["note"] == "" and e["icon"] is None
    slot = json.loads(path.read_text())["header"]["slots"][0]
    assert (slot["n"], slot["r"], slot["p"], len(slot["salt"])) == (32768, 8, 1, 64)


def test_adding_to_a_backup_keeps_it_and_its_password(tmp_path: Path) -> None:
    path = tmp_path / "backup.json"
    Backup.open(path, PASSWORD).record(ALICE)
    first = json.loads(path.read_text())
    b = Backup.open(path, PASSWORD)
    b.record(CAROL)
    b.record(AccountSpec("totp", "ACME", "alice", b"replaced secret"))  # same label: replaced
    second = json.loads(path.read_text())
    assert second["header"]["slots"] == first["header"]["slots"]
    assert second["header"]["params"]["nonce"] != first["header"]["params"]["nonce"]
    entries = aegis_decrypt(path, PASSWORD)["entries"]
    assert [(e["issuer"], e["name"], e["info"]["secret"]) for e in entries] == [
        ("", "carol", b32(CAROL.secret)),
        ("ACME", "alice", b32(b"replaced secret")),
    ]


def test_wrong_password_or_a_plain_vault_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "backup.json"
    Backup.open(path, PASSWORD).record(ALICE)
    before = path.read_bytes()
    with pytest.raises(WrongPasswordError, match="wrong password"):
        Backup.open(path, "not the password")
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"version": 1, "header": {"slots": None, "params": None},
                                 "db": {"version": 2, "entries": []}}))  # fmt: skip
    with pytest.raises(BackupError, match="not an encrypted Aegis vault"):
        Backup.open(plain, PASSWORD)
    other = tmp_path / "notes.txt"
    other.write_text("my notes")
    with pytest.raises(BackupError, match="not an Aegis vault"):
        Backup.open(other, PASSWORD)
    with pytest.raises(InvalidInputError, match="empty"):
        Backup.open(tmp_path / "new.json", "")
    with pytest.raises(BackupError, match="no directory"):
        Backup.open(tmp_path / "nowhere" / "b.json", PASSWORD)
    assert path.read_bytes() == before and other.read_text() == "my notes"


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_crash_mid_write_leaves_the_old_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    path = tmp_path / "backup.json"
    b = Backup.open(path, PASSWORD)
    b.record(ALICE)
    before = path.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError(5, "Input/output error")

    if failing == "write":
        real_fdopen = os.fdopen

        class Broken:
            def __init__(self, fd: int, mode: str) -> None:
                self.f = real_fdopen(fd, mode)

            def __enter__(self) -> Broken:
                return self

            def __exit__(self, *exc: object) -> None:
                self.f.close()

            def write(self, data: bytes) -> None:
                self.f.write(data[: len(data) // 2])  # half written, then the "power cut"
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(backup_mod.os, "fdopen", Broken)
    else:
        monkeypatch.setattr(backup_mod.os, failing, crash)
    with pytest.raises(BackupError, match="cannot write the backup"):
        b.record(BOB)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.json"]  # no temp file left
    assert [e["name"] for e in aegis_decrypt(path, PASSWORD)["entries"]] == ["alice"]


def test_the_backup_imports_back(tmp_path: Path) -> None:
    path = tmp_path / "backup.json"
    b = Backup.open(path, PASSWORD)
    for spec in (ALICE, BOB, CAROL):
        b.record(spec)
    result = load_file(path, lambda what: PASSWORD)
    assert result.source == "aegis" and result.accounts == [ALICE, BOB, CAROL]
