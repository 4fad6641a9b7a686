"""Accounts from other authenticators' exports: Google Authenticator, Aegis, andOTP, 2FAS.

    parse_text(text) -> ImportResult     # otpauth://, otpauth-migration:// or a JSON export
    load_file(path) -> ImportResult      # the same, from a file (UTF-8)
    load_qr(image_path) -> ImportResult  # every QR code in a screenshot (otpauth or migration)
    parse_migration_uri(uri) -> ImportResult                       # Google Authenticator
    parse_aegis(obj) / parse_andotp(obj) / parse_2fas(obj) -> ImportResult   # decoded JSON

ImportResult(source, accounts: list[AccountSpec], skipped: list[str]): `source` names the
format; `skipped` says, one line per entry, why an entry was left out (Steam, MD5, 5 digits,
a field over the vault's limits...). Lines name the entry's label, never its secret. A file
that is not a recognised export, or an encrypted one, raises InvalidInputError.

Formats (REFERENCE.md, "Account formats"):
- Google Authenticator: `otpauth-migration://offline?data=<base64 protobuf>`. MigrationPayload
  field 1 is a repeated OtpParameters (2-5: version, batch size/index/id, ignored). OtpParameters:
  1 secret (raw bytes), 2 name, 3 issuer, 4 algorithm (0/1 SHA1, 2 SHA256, 3 SHA512, 4 MD5),
  5 digits (0/1 six, 2 eight), 6 type (1 HOTP, 0/2 TOTP), 7 counter. No period: 30 s. A name
  "Issuer:account" whose prefix equals the issuer loses the prefix. Large exports span several
  QR codes: parse each and concatenate. The protobuf is decoded here by hand (varints and
  length-delimited fields; unknown fields skipped).
- Aegis plain export: `{"version", "header": {"slots": null, "params": null}, "db": {"entries":
  [{"type": "totp"|"hotp"|"steam", "name", "issuer", "info": {"secret" (base32), "algo",
  "digits", "period" | "counter"}}]}}`. Encrypted exports (slots set) are refused.
- andOTP: a JSON array of `{"secret", "issuer", "label", "digits", "type", "algorithm",
  "period" | "counter"}`; a label "Issuer:account" with no issuer is split.
- 2FAS: `{"services": [{"name", "secret", "otp": {"issuer", "account", "digits", "period",
  "algorithm", "counter", "tokenType"}}]}`; the service name is the issuer when otp.issuer is
  empty. Encrypted exports ("servicesEncrypted") are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from host_tools.account import AccountSpec
from host_tools.errors import InvalidInputError
from host_tools.otpauth import decode_base32, decode_qr, parse_uri

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass
class ImportResult:
    source: str
    accounts: list[AccountSpec] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def extend(self, other: ImportResult) -> None:
        self.accounts += other.accounts
        self.skipped += other.skipped


def _label(issuer: str, name: str) -> str:
    return f"{issuer}:{name}" if issuer else name or "(no name)"


def _add(result: ImportResult, label: str, build: Callable[..., AccountSpec], *args: Any) -> None:
    """Build one account; an invalid entry is skipped with the reason, never the secret."""
    try:
        result.accounts.append(build(*args))
    except InvalidInputError as e:
        result.skipped.append(f"{label}: {e}")
    except (TypeError, ValueError, KeyError, AttributeError):
        result.skipped.append(f"{label}: malformed entry")


def _split_prefix(issuer: str, name: str) -> tuple[str, str]:
    """Apply the URI label rule: "Issuer:account" -> ("Issuer", "account") when the issuer is
    empty or equal to the prefix (ignoring case); otherwise keep the name whole."""
    issuer, name = issuer.strip(), name.strip()
    prefix, sep, rest = name.partition(":")
    if sep and rest.strip() and (not issuer or prefix.strip().casefold() == issuer.casefold()):
        return issuer or prefix.strip(), rest.strip()
    return issuer, name


def _spec(
    kind: str,
    issuer: str,
    name: str,
    secret: bytes,
    algorithm: str,
    digits: int,
    period: int,
    counter: int,
) -> AccountSpec:
    kind = kind.strip().lower()
    if kind == "steam":
        raise InvalidInputError("Steam accounts are not supported")
    algo = algorithm.strip().lower().replace("-", "")
    issuer, name = _split_prefix(issuer, name)
    if not name and issuer:
        issuer, name = "", issuer
    return AccountSpec(
        kind=kind,
        issuer=issuer,
        name=name,
        secret=secret,
        algorithm=algo,
        digits=digits,
        period=period if kind == "totp" else 30,
        counter=counter if kind == "hotp" else 0,
    )


# ---- Google Authenticator: a hand-written protobuf reader


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise InvalidInputError("migration data is truncated")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise InvalidInputError("migration data has an overlong number")


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """Top-level (field number, value) pairs: ints for varints, bytes for the rest."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise InvalidInputError("migration data is truncated")
            value, pos = data[pos : pos + size], pos + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(data):
                raise InvalidInputError("migration data is truncated")
            value, pos = data[pos : pos + size], pos + size
        else:
            raise InvalidInputError(f"migration data uses protobuf wire type {wire}")
        out.append((number, value))
    return out


_GA_ALGORITHMS = {0: "sha1", 1: "sha1", 2: "sha256", 3: "sha512", 4: "md5"}
_GA_DIGITS = {0: 6, 1: 6, 2: 8}


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise InvalidInputError("migration data has a number where text belongs")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("migration data has text that is not UTF-8") from None


def _number(values: dict[int, int | bytes], number: int, default: int) -> int | None:
    value = values.get(number, default)
    return value if isinstance(value, int) else None


def _migration_entry(result: ImportResult, blob: bytes) -> None:
    values: dict[int, int | bytes] = {}
    for number, value in _fields(blob):
        values[number] = value
    name = _text(values.get(2, b""))
    issuer = _text(values.get(3, b""))
    label = _label(issuer.strip(), name.strip())
    secret = values.get(1, b"")
    algorithm = _number(values, 4, 0)
    digits = _number(values, 5, 0)
    kind = _number(values, 6, 2)
    counter = _number(values, 7, 0)
    if not isinstance(secret, bytes) or None in (algorithm, digits, kind, counter):
        result.skipped.append(f"{label}: malformed entry")
        return
    if algorithm not in _GA_ALGORITHMS:
        result.skipped.append(f"{label}: unknown algorithm number {algorithm}")
        return
    if digits not in _GA_DIGITS:
        result.skipped.append(f"{label}: unknown digits number {digits}")
        return
    if kind not in (0, 1, 2):
        result.skipped.append(f"{label}: unknown type number {kind}")
        return
    _add(
        result,
        label,
        _spec,
        "hotp" if kind == 1 else "totp",
        issuer,
        name,
        secret,
        _GA_ALGORITHMS[algorithm],
        _GA_DIGITS[digits],
        30,
        counter,
    )


def parse_migration_uri(uri: str) -> ImportResult:
    parts = urllib.parse.urlsplit(uri.strip())
    if parts.scheme.lower() != "otpauth-migration":
        raise InvalidInputError("not an otpauth-migration:// URI")
    data_values = urllib.parse.parse_qs(parts.query).get("data", [])
    if len(data_values) != 1:
        raise InvalidInputError("otpauth-migration URI needs exactly one data parameter")
    # parse_qs has already undone the percent-encoding; a '+' that became a space in transit
    # goes back, and the URL-safe alphabet is accepted too.
    text = data_values[0].strip().replace(" ", "+").replace("-", "+").replace("_", "/")
    text = text.rstrip("=")
    try:
        payload = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInputError("otpauth-migration data is not base64") from None
    result = ImportResult("google-authenticator")
    for number, value in _fields(payload):
        if number == 1:
            if not isinstance(value, bytes):
                raise InvalidInputError("migration data has a malformed account")
            _migration_entry(result, value)
    log.debug(
        "migration payload: %d accounts, %d skipped", len(result.accounts), len(result.skipped)
    )
    return result


# ---- JSON exports


def _secret_b32(value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidInputError("secret is missing")
    return decode_base32(value)


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidInputError("a number field holds true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise InvalidInputError("a number field holds something else")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json_spec(
    kind: Any,
    issuer: str,
    name: str,
    secret: Any,
    algorithm: Any,
    digits: Any,
    period: Any,
    counter: Any,
) -> AccountSpec:
    """An account from loosely typed JSON fields (missing ones take the usual defaults)."""
    return _spec(
        _str(kind) or "totp",
        issuer,
        name,
        _secret_b32(secret),
        _str(algorithm) or "sha1",
        _int(digits, 6),
        _int(period, 30),
        _int(counter, 0),
    )


def parse_aegis(obj: Any) -> ImportResult:
    if not isinstance(obj, dict) or not isinstance(obj.get("db"), (dict, str)):
        raise InvalidInputError("not an Aegis export")
    header = _dict(obj.get("header"))
    if header.get("slots") or header.get("params") or isinstance(obj["db"], str):
        raise InvalidInputError("this Aegis export is encrypted: export it without a password")
    entries = obj["db"].get("entries")
    if not isinstance(entries, list):
        raise InvalidInputError("Aegis export has no entries list")
    result = ImportResult("aegis")
    for entry in entries:
        if not isinstance(entry, dict):
            result.skipped.append("(entry): malformed entry")
            continue
        info = _dict(entry.get("info"))
        issuer, name = _str(entry.get("issuer")), _str(entry.get("name"))
        _add(
            result,
            _label(issuer, name),
            _json_spec,
            entry.get("type"),
            issuer,
            name,
            info.get("secret"),
            info.get("algo"),
            info.get("digits"),
            info.get("period"),
            info.get("counter"),
        )
    return result


def parse_andotp(obj: Any) -> ImportResult:
    if not isinstance(obj, list) or not all(isinstance(e, dict) and "secret" in e for e in obj):
        raise InvalidInputError("not an andOTP export")
    result = ImportResult("andotp")
    for entry in obj:
        issuer, name = _str(entry.get("issuer")), _str(entry.get("label"))
        _add(
            result,
            _label(issuer, name),
            _json_spec,
            entry.get("type"),
            issuer,
            name,
            entry.get("secret"),
            entry.get("algorithm"),
            entry.get("digits"),
            entry.get("period"),
            entry.get("counter"),
        )
    return result


def parse_2fas(obj: Any) -> ImportResult:
    if not isinstance(obj, dict) or "services" not in obj:
        raise InvalidInputError("not a 2FAS export")
    if obj.get("servicesEncrypted"):
        raise InvalidInputError("this 2FAS export is encrypted: export it without a password")
    services = obj["services"]
    if not isinstance(services, list):
        raise InvalidInputError("2FAS export has no services list")
    result = ImportResult("2fas")
    for service in services:
        if not isinstance(service, dict):
            result.skipped.append("(service): malformed entry")
            continue
        otp = _dict(service.get("otp"))
        issuer = _str(otp.get("issuer")) or _str(service.get("name"))
        name = _str(otp.get("account")) or _str(otp.get("label"))
        _add(
            result,
            _label(issuer, name),
            _json_spec,
            otp.get("tokenType"),
            issuer,
            name,
            service.get("secret"),
            otp.get("algorithm"),
            otp.get("digits"),
            otp.get("period"),
            otp.get("counter"),
        )
    return result


def _parse_json(text: str) -> ImportResult:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"not JSON (line {e.lineno}, column {e.colno})") from None
    if isinstance(obj, list):
        return parse_andotp(obj)
    if isinstance(obj, dict) and "services" in obj:
        return parse_2fas(obj)
    if isinstance(obj, dict) and "db" in obj:
        return parse_aegis(obj)
    raise InvalidInputError("JSON is not an Aegis, andOTP or 2FAS export")


def parse_text(text: str) -> ImportResult:
    """Accounts from one otpauth:// URI, one or more otpauth-migration:// URIs (one per line),
    or a JSON export."""
    stripped = text.strip()
    if not stripped:
        raise InvalidInputError("nothing to import: the input is empty")
    if stripped[0] in "[{":
        return _parse_json(stripped)
    result = ImportResult("otpauth")
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    for line in lines:
        scheme = line.split(":", 1)[0].lower()
        if scheme == "otpauth-migration":
            result.source = "google-authenticator"
            result.extend(parse_migration_uri(line))
        elif scheme == "otpauth":
            result.accounts.append(parse_uri(line))
        else:
            raise InvalidInputError("expected otpauth:// or otpauth-migration:// URIs or JSON")
    return result


def load_file(path: str | Path) -> ImportResult:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InvalidInputError(f"{p} is larger than {MAX_FILE_BYTES} bytes")
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInputError(f"file not found: {p}") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{p} is not UTF-8 text") from None
    except OSError as e:
        raise InvalidInputError(f"cannot read {p}: {e.strerror}") from None
    return parse_text(text)


def load_qr(image_path: str | Path) -> ImportResult:
    """Accounts from every QR code in an image: otpauth:// codes and Google Authenticator
    export codes alike (an export spread over several codes needs one image per code)."""
    result = ImportResult("qr")
    for text in decode_qr(image_path):
        result.extend(parse_text(text))
    return result
