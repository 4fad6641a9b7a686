"""`host_tools import`, `restore` and `--backup` through the CLI against the real firmware server
under `micropython` (tests/host/mptoken.py): --dry-run --json, the per-account reference check,
accounts already on the token, a full vault, a mismatch, backups, and bad input (one line, its
own exit status, nothing written to the token or the backup)."""

from __future__ import annotations

import base64
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mptoken import MicroPythonToken
from pyotp.contrib import Steam

from host_tools import cli, provisioning, reference
from host_tools.account import AccountSpec
from host_tools.commands import _token
from host_tools.errors import ExitStatus
from host_tools.imports import load_file
from host_tools.session import Session

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import make_exports as mx  # noqa: E402

BACKUP_PW = "backup password"


class Token:
    def __init__(self, t: MicroPythonToken) -> None:
        self.t = t

    def session(self) -> Session:
        return Session(self.t.transport)

    def labels(self) -> list[str]:
        return [a.label for a in self.session().accounts()]


def _start(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Token]:
    (tmp_path / name).mkdir()
    t = MicroPythonToken(tmp_path / name)
    monkeypatch.setattr(_token, "open_session", lambda port: Session(t.transport))
    yield Token(t)
    assert "Traceback" not in t.stop()


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Token]:
    yield from _start(tmp_path, "token", monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    saved = sys.stdin
    sys.stdin = io.StringIO("")  # no terminal: nothing is asked
    try:
        status = cli.main(list(args))
    finally:
        sys.stdin = saved
    out, err = capsys.readouterr()
    return status, out, err


def secrets_of(accts: list[mx.Acct]) -> list[str]:
    out = []
    for a in accts:
        out += [a.b32, a.secret.hex(), base64.b32encode(a.secret).decode().rstrip("=")]
    return out


def mixed_files(tmp_path: Path) -> list[Path]:
    """Aegis (encrypted), 2FAS and an otpauth list, with an overlap and an MD5 entry."""
    aegis = tmp_path / "aegis.json"
    aegis.write_text(json.dumps(mx.aegis_encrypted(mx.COMMON[:2] + [mx.MD5])))
    twofas = tmp_path / "backup.2fas"
    twofas.write_text(json.dumps(mx.twofas_plain(mx.twofas_services(mx.COMMON[1:3]))))
    uris = tmp_path / "list.txt"
    uris.write_text("# mine\n" + "\n".join(mx.otpauth_uri(a) for a in [mx.COMMON[3]] + mx.EXTRA))
    return [aegis, twofas, uris]


ALL = mx.COMMON + mx.EXTRA


def test_dry_run_json_lists_every_entry_and_no_secret(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    files = mixed_files(tmp_path)
    status, out, err = run(
        capsys, "import", "--dry-run", "--json", "--password", mx.PASSWORD, *map(str, files)
    )
    assert status == 0, err
    doc = json.loads(out)
    assert list(doc) == ["accounts", "skipped"]
    assert [(d["issuer"], d["name"]) for d in doc["accounts"]] == [(a.issuer, a.name) for a in ALL]
    for d, a in zip(doc["accounts"], ALL, strict=True):
        assert list(d) == ["type", "issuer", "name", "algorithm", "digits", "period", "counter"]
        assert d["type"] == a.kind and d["digits"] == a.digits and d["algorithm"] == a.algorithm
        assert d["counter"] == (a.counter if a.kind == "hotp" else None)
        assert d["period"] == (None if a.kind == "hotp" else a.period)
    skipped = {s["entry"]: s["reason"] for s in doc["skipped"]}
    assert list(doc["skipped"][0]) == ["entry", "reason"]
    assert "md5" in skipped.pop(mx.MD5.label)
    assert skipped.pop(mx.COMMON[1].label) == "duplicate of an earlier entry of the import"
    assert skipped == {}
    steam = {"type": "steam", "issuer": "Steam", "name": "gamer", "algorithm": "SHA1",
             "digits": 5, "period": 30, "counter": None}  # fmt: skip
    assert [d for d in doc["accounts"] if d["type"] == "steam"] == [steam]
    for secret in secrets_of(ALL + [mx.MD5]):
        assert secret not in out and secret not in err


def test_dry_run_touches_no_token(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def no_token(port: str | None) -> Session:
        raise AssertionError("--dry-run opened the token")

    monkeypatch.setattr(_token, "open_session", no_token)
    status, out, _ = run(capsys, "import", "--dry-run", "--password", mx.PASSWORD,
                         *map(str, mixed_files(tmp_path)))  # fmt: skip
    assert status == 0
    assert "would import ACME:alice@example.com (TOTP, SHA1, 6 digits, 30 s)" in out
    assert "would import Steam:gamer (STEAM, SHA1, 5 characters, 30 s)" in out
    assert "nothing written" in out.splitlines()[-1]


def test_import_proves_each_account_then_skips_what_is_there(token, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    files = list(map(str, mixed_files(tmp_path)))
    status, out, err = run(capsys, "import", "--password", mx.PASSWORD, *files)
    assert status == 0, err
    assert token.labels() == [a.label for a in ALL]
    assert f"imported {len(ALL)}, skipped " in out
    assert f"{64 - len(ALL)} of 64 slots left" in out.splitlines()[-1]
    # Each TOTP account's current code on the token is the reference's at the token's time;
    # the Steam account's is also pyotp's Steam code (an independent implementation).
    now, codes = token.session().codes()
    assert now is not None
    by_label = {c.account.label: c for c in codes}
    for a in ALL:
        got = by_label[a.label]
        if a.kind == "totp":
            want = reference.totp(a.secret, now, a.algorithm.lower(), a.digits, a.period)
            assert got.code == want, a.label
        elif a.kind == "steam":
            assert got.account.kind == "steam" and got.code is not None
            text = reference.format_code(got.code, 5)
            assert text == reference.steam(a.secret, now) == Steam(a.b32).at(now), a.label
    # Again: every account is already there, each skipped by name; nothing else changes.
    status, out, err = run(capsys, "import", "--json", "--password", mx.PASSWORD, *files)
    assert status == 0, err
    doc = json.loads(out)
    assert doc["accounts"] == []
    reasons = {s["entry"]: s["reason"] for s in doc["skipped"]}
    for a in ALL:
        assert reasons[a.label] == "already on the token"
    assert token.labels() == [a.label for a in ALL]


def test_a_full_vault_skips_the_rest(token, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    s = token.session()
    for n in range(62):
        s.add(AccountSpec("totp", "Fill", f"n{n}", b"filler-secret"))
    path = tmp_path / "list.txt"
    path.write_text("\n".join(mx.otpauth_uri(a) for a in mx.COMMON[:3]))
    status, out, err = run(capsys, "import", str(path))
    assert status == 0, err
    assert f"imported {mx.COMMON[0].label}" in out and f"imported {mx.COMMON[1].label}" in out
    assert f"skipped {mx.COMMON[2].label}: the token's vault is full" in out
    assert out.splitlines()[-1] == "imported 2, skipped 1; 0 of 64 slots left"


def test_a_mismatch_removes_that_account_and_fails(token, tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = provisioning.expected

    def wrong_for_bob(spec: AccountSpec, value: int) -> int:
        return real(spec, value) + (1 if spec.name == "bob" else 0)

    monkeypatch.setattr(provisioning, "expected", wrong_for_bob)
    path = tmp_path / "list.txt"
    path.write_text("\n".join(mx.otpauth_uri(a) for a in mx.COMMON[:3]))
    status, out, err = run(capsys, "import", str(path))
    assert status == ExitStatus.MISMATCH
    assert token.labels() == [mx.COMMON[0].label, mx.COMMON[2].label]
    assert f"skipped {mx.COMMON[1].label}: the token computed" in out
    assert "removed from the token" in out
    assert err.splitlines()[-1].startswith("host_tools: the token computed 1 account(s)")


def test_import_and_provision_backup_then_restore_elsewhere(
    tmp_path: Path,
    capsys,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    backup = tmp_path / "backup.json"
    monkeypatch.setenv("HOST_TOOLS_BACKUP_PASSWORD", BACKUP_PW)
    first = _start(tmp_path, "first", monkeypatch)
    token = next(first)
    files = list(map(str, mixed_files(tmp_path)))
    status, out, err = run(capsys, "import", "--password", mx.PASSWORD, "--backup",
                           str(backup), *files)  # fmt: skip
    assert status == 0, err
    assert f"added to the backup {backup}" in out
    uri = mx.otpauth_uri(mx.TEN_DIGITS).replace("digits=10", "digits=6")
    status, out, err = run(capsys, "provision", "--backup", str(backup), uri)
    assert status == 0, err
    assert f"added to the backup {backup}" in out
    on_first = token.labels()
    assert (backup.stat().st_mode & 0o777) == 0o600
    next(first, None)
    # a second token from the backup: the same accounts, proven the same way
    second = _start(tmp_path, "second", monkeypatch)
    token2 = next(second)
    status, out, err = run(capsys, "restore", str(backup))
    assert status == 0, err
    assert token2.labels() == on_first
    kinds = [(a.label, a.kind) for a in token2.session().accounts()]
    assert (mx.STEAM.label, "steam") in kinds and len(kinds) == len(on_first)
    assert f"imported {len(on_first)}, skipped 0" in out
    next(second, None)


@pytest.mark.parametrize(
    ("make", "status", "fragment"),
    [
        (lambda d: d / "missing.json", ExitStatus.UNREADABLE_FILE, "file not found"),
        (lambda d: _write(d / "notes.txt", "hello\n"), ExitStatus.NOT_AN_EXPORT, "not an export"),
        (lambda d: _write(d / "a.json", json.dumps(mx.aegis_encrypted(mx.COMMON))),
         ExitStatus.WRONG_PASSWORD, "wrong password"),
        (lambda d: _blank_png(d / "blank.png"), ExitStatus.NO_QR_CODE, "no QR code"),
    ],
)  # fmt: skip
def test_bad_input_one_line_own_status_nothing_written(  # type: ignore[no-untyped-def]
    token, tmp_path, capsys, monkeypatch, make, status, fragment
) -> None:
    monkeypatch.setenv("HOST_TOOLS_BACKUP_PASSWORD", BACKUP_PW)
    good = tmp_path / "good.txt"
    good.write_text(mx.otpauth_uri(mx.COMMON[0]))
    backup = tmp_path / "backup.json"
    bad = make(tmp_path)
    args = ["import", "--password", "not it", "--backup", str(backup), str(good), str(bad)]
    got, out, err = run(capsys, *args)
    assert got == status, err
    assert len(err.splitlines()) == 1 and err.startswith("host_tools: ") and fragment in err
    assert out == ""
    assert token.labels() == [] and not backup.exists()


def test_password_needed_without_a_terminal(token, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _write(
        tmp_path / "a.2fas", json.dumps(mx.twofas_encrypted(mx.twofas_services(mx.COMMON)))
    )
    got, out, err = run(capsys, "import", str(path))
    assert got == ExitStatus.PASSWORD_NEEDED and "--password" in err
    assert len(err.splitlines()) == 1 and token.labels() == []


def test_wrong_backup_password_stops_before_the_token(
    token, tmp_path, capsys, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    backup = tmp_path / "backup.json"
    monkeypatch.setenv("HOST_TOOLS_BACKUP_PASSWORD", BACKUP_PW)
    uri = mx.otpauth_uri(mx.COMMON[0])
    assert run(capsys, "provision", "--backup", str(backup), uri)[0] == 0
    before = backup.read_bytes()
    monkeypatch.setenv("HOST_TOOLS_BACKUP_PASSWORD", "another one")
    path = _write(tmp_path / "l.txt", mx.otpauth_uri(mx.COMMON[1]))
    got, _, err = run(capsys, "import", "--backup", str(backup), str(path))
    assert got == ExitStatus.WRONG_PASSWORD and "wrong password" in err
    got, _, err = run(capsys, "provision", "--backup", str(backup), mx.otpauth_uri(mx.COMMON[2]))
    assert got == ExitStatus.WRONG_PASSWORD
    monkeypatch.delenv("HOST_TOOLS_BACKUP_PASSWORD")
    got, _, err = run(capsys, "provision", "--backup", str(backup), mx.otpauth_uri(mx.COMMON[2]))
    assert got == ExitStatus.PASSWORD_NEEDED and "HOST_TOOLS_BACKUP_PASSWORD" in err
    assert token.labels() == [mx.COMMON[0].label] and backup.read_bytes() == before


def test_restore_refuses_what_is_not_a_backup(token, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "l.txt", mx.otpauth_uri(mx.COMMON[0]))
    got, _, err = run(capsys, "restore", str(path))
    assert got == ExitStatus.NOT_AN_EXPORT and "not a backup" in err
    assert token.labels() == []


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _blank_png(path: Path) -> Path:
    from PIL import Image

    Image.new("L", (120, 120), 255).save(path)
    return path


def test_a_backup_that_cannot_be_written_ends_the_import_in_step(  # type: ignore[no-untyped-def]
    token, tmp_path, capsys, monkeypatch
) -> None:
    # The second account's backup write fails: it is removed from the token again, the first
    # stays on both, and the error says what was imported.
    from host_tools import backup as backup_mod

    monkeypatch.setenv("HOST_TOOLS_BACKUP_PASSWORD", BACKUP_PW)
    backup = tmp_path / "backup.json"
    real = backup_mod.write_private
    calls = []

    def fail_second(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise backup_mod.BackupError(f"cannot write the backup {path}: disk full")
        real(path, data)

    monkeypatch.setattr(backup_mod, "write_private", fail_second)
    path = _write(tmp_path / "l.txt", "\n".join(mx.otpauth_uri(a) for a in mx.COMMON[:3]))
    got, out, err = run(capsys, "import", "--backup", str(backup), str(path))
    assert got == ExitStatus.BACKUP
    assert f"imported before the failure: {mx.COMMON[0].label}" in err
    assert err.splitlines()[-1] == f"host_tools: cannot write the backup {backup}: disk full"
    assert token.labels() == [mx.COMMON[0].label]
    kept = load_file(backup, lambda what: BACKUP_PW).accounts
    assert [a.label for a in kept] == [mx.COMMON[0].label] and len(calls) == 2
