"""Accounts from other authenticators' exports: Google Authenticator, Aegis, 2FAS, andOTP, and
otpauth:// URI lists, plain or encrypted, as files or as QR codes in images.

    load_files(paths, password=None) -> ImportResult   # every file, parts joined, duplicates out
    load_file(path, password=None) -> ImportResult     # one file (text, binary or image)
    load_qr(image_path) -> ImportResult                # every QR code in a screenshot or photo
    parse_text(text, password=None) -> ImportResult    # URI lines or a JSON export
    parse_migration_uri(uri) / parse_aegis(obj) / parse_andotp(obj) / parse_2fas(obj)

ImportResult(source, accounts: list[AccountSpec], skipped: list[Skipped]): `source` names the
format; each Skipped names an entry (its label, or its place in the file) and says in one line
why it was left out. No line ever holds a secret. One bad entry never stops the others.

`password` is a function asked, with the file's description, when a file is encrypted; without
one an encrypted file raises PasswordNeededError, a wrong password WrongPasswordError. Other
failures of a whole file: UnreadableFileError (missing, unreadable, too large),
NotAnExportError (none of the formats), NoQrCodeError (an image without a QR code). The
formats are described in each module: migration, aegis, twofas, andotp, uris.

What a file is, is read from its content, not its name: an image by its magic bytes, a JSON
export by its first character, URI lines (blank lines and '#' comments allowed) otherwise; a
file that is not UTF-8 text can only be an encrypted andOTP backup.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

from host_tools.errors import InvalidInputError, NotAnExportError, UnreadableFileError
from host_tools.imports.aegis import parse_aegis
from host_tools.imports.andotp import parse_andotp, parse_encrypted_andotp
from host_tools.imports.common import ImportResult, Password, Skipped, decode_base32
from host_tools.imports.migration import parse_migration_uri
from host_tools.imports.twofas import parse_2fas
from host_tools.imports.uris import parse_export_uri, uri_label
from host_tools.otpauth import decode_qr

__all__ = [
    "ImportResult",
    "Password",
    "Skipped",
    "decode_base32",
    "join",
    "load_file",
    "load_files",
    "load_qr",
    "parse_2fas",
    "parse_aegis",
    "parse_andotp",
    "parse_migration_uri",
    "parse_text",
]

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 4 * 1024 * 1024
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")


def _parse_json(text: str, password: Password | None, where: str) -> ImportResult:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotAnExportError(
            f"{where} is not JSON (line {e.lineno}, column {e.colno})"
        ) from None
    if isinstance(obj, list):
        return parse_andotp(obj)
    if isinstance(obj, dict) and ("services" in obj or "servicesEncrypted" in obj):
        return parse_2fas(obj, password, f"2FAS backup {where}")
    if isinstance(obj, dict) and "db" in obj:
        return parse_aegis(obj, password, f"Aegis export {where}")
    raise NotAnExportError(f"{where}: JSON is not an Aegis, andOTP or 2FAS export")


def _pieces_of_text(text: str, password: Password | None, where: str) -> list[ImportResult]:
    """One piece per migration URI (their batches are joined later), one for the rest.
    `where` names the text's origin in messages (a file's path)."""
    stripped = text.strip()
    if not stripped:
        raise NotAnExportError(f"nothing to import: {where} is empty")
    if stripped[0] in "[{":
        return [_parse_json(stripped, password, where)]
    uris = ImportResult("otpauth")
    pieces = [uris]
    recognised = 0
    for n, raw in enumerate(stripped.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        scheme = line.split(":", 1)[0].lower()
        if scheme == "otpauth-migration":
            recognised += 1
            try:
                pieces.append(parse_migration_uri(line))
            except InvalidInputError as e:
                uris.skip(f"line {n}", f"Google Authenticator export: {e}")
        elif scheme == "otpauth":
            recognised += 1
            try:
                uris.accounts.append(parse_export_uri(line))
            except InvalidInputError as e:
                uris.skip(uri_label(line) or f"line {n}", str(e))
        else:
            uris.skip(f"line {n}", "not an otpauth:// or otpauth-migration:// URI")
    if not recognised:
        raise NotAnExportError(
            f"{where} is not an export: expected otpauth:// or otpauth-migration:// URIs, "
            "or an Aegis, 2FAS or andOTP JSON export"
        )
    return [p for p in pieces if p.accounts or p.skipped or p.batch]


def join(pieces: Sequence[ImportResult]) -> ImportResult:
    """Pieces as one result: the parts of a Google Authenticator export spread over several QR
    codes put together in order (a code seen twice counted once, a missing one named), and
    every account after the first of its label skipped as a duplicate."""
    sources: list[str] = []
    batches: dict[int, dict[int, int]] = {}  # batch id -> {index: size}
    first_seen: dict[int, int] = {}
    keyed: list[tuple[tuple[int, int], ImportResult]] = []
    for position, piece in enumerate(pieces):
        if piece.source not in sources:
            sources.append(piece.source)
        if piece.batch is None:
            keyed.append(((position, 0), piece))
            continue
        batch_id, index, size = piece.batch
        parts = batches.setdefault(batch_id, {})
        if index in parts:
            continue
        parts[index] = size
        keyed.append(((first_seen.setdefault(batch_id, position), index), piece))
    out = ImportResult("+".join(sources) or "none")
    for _, piece in sorted(keyed, key=lambda k: k[0]):
        out.extend(piece)
    for batch_id, parts in batches.items():
        size = max(parts.values())
        missing = [str(i + 1) for i in range(size) if i not in parts]
        if missing:
            out.skip(
                f"Google Authenticator export (batch {batch_id})",
                f"QR code {', '.join(missing)} of {size} missing: give every code of the export",
            )
    seen: set[str] = set()
    accounts = []
    for spec in out.accounts:
        if spec.label in seen:
            out.skip(spec.label, "duplicate of an earlier entry of the import")
            continue
        seen.add(spec.label)
        accounts.append(spec)
    out.accounts = accounts
    return out


def parse_text(text: str, password: Password | None = None) -> ImportResult:
    """Accounts from otpauth:// and otpauth-migration:// lines or a JSON export."""
    return join(_pieces_of_text(text, password, "the input"))


def _read(path: Path) -> bytes:
    try:
        if path.is_dir():
            raise UnreadableFileError(f"{path} is a directory, not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFileError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFileError(f"file not found: {path}") from None
    except OSError as e:
        raise UnreadableFileError(f"cannot read {path}: {e.strerror}") from None


def _is_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _pieces_of_qr(path: Path, password: Password | None) -> list[ImportResult]:
    pieces = []
    for text in decode_qr(path):
        pieces += _pieces_of_text(text, password, f"a QR code in {path}")
    return pieces


def _pieces_of_file(path: str | Path, password: Password | None) -> list[ImportResult]:
    p = Path(path)
    data = _read(p)
    if _is_image(data):
        return _pieces_of_qr(p, password)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [parse_encrypted_andotp(data, password, f"andOTP backup {p}")]
    return _pieces_of_text(text, password, str(p))


def load_file(path: str | Path, password: Password | None = None) -> ImportResult:
    return join(_pieces_of_file(path, password))


def load_files(paths: Sequence[str | Path], password: Password | None = None) -> ImportResult:
    """Every file's accounts as one import (a multi-part export may span files)."""
    pieces: list[ImportResult] = []
    for path in paths:
        pieces += _pieces_of_file(path, password)
    result = join(pieces)
    log.debug("%d accounts, %d skipped from %d files", len(result.accounts), len(result.skipped),
              len(paths))  # fmt: skip
    return result


def load_qr(image_path: str | Path, password: Password | None = None) -> ImportResult:
    """Accounts from every QR code in an image: otpauth:// codes and Google Authenticator
    export codes alike."""
    return join(_pieces_of_qr(Path(image_path), password))
