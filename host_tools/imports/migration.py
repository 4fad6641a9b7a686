"""Google Authenticator exports: `otpauth-migration://offline?data=<base64 protobuf>`.

MigrationPayload: field 1 is a repeated OtpParameters; 2 version; 3 batch size, 4 batch index
and 5 batch id, which tie together the QR codes of one export too large for one code.
OtpParameters: 1 secret (raw bytes), 2 name, 3 issuer, 4 algorithm (0/1 SHA1, 2 SHA256,
3 SHA512, 4 MD5), 5 digits (0/1 six, 2 eight), 6 type (1 HOTP, 0/2 TOTP), 7 counter. No period:
30 s. A name "Issuer:account" whose prefix equals the issuer loses the prefix. The protobuf is
decoded here by hand (varints and length-delimited fields; unknown fields skipped).
"""

from __future__ import annotations

import base64
import binascii
import logging
import urllib.parse

from host_tools.errors import InvalidInputError
from host_tools.imports.common import ImportResult, add, build_spec, entry_label

log = logging.getLogger(__name__)

SOURCE = "google-authenticator"


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


_ALGORITHMS = {0: "sha1", 1: "sha1", 2: "sha256", 3: "sha512", 4: "md5"}
_DIGITS = {0: 6, 1: 6, 2: 8}


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


def _entry(result: ImportResult, blob: bytes, n: int) -> None:
    values: dict[int, int | bytes] = {}
    for number, value in _fields(blob):
        values[number] = value
    name = _text(values.get(2, b""))
    issuer = _text(values.get(3, b""))
    label = entry_label(issuer, name, f"account {n}")
    secret = values.get(1, b"")
    algorithm = _number(values, 4, 0)
    digits = _number(values, 5, 0)
    kind = _number(values, 6, 2)
    counter = _number(values, 7, 0)
    if not isinstance(secret, bytes) or None in (algorithm, digits, kind, counter):
        result.skip(label, "malformed entry")
        return
    if algorithm not in _ALGORITHMS:
        result.skip(label, f"unknown algorithm number {algorithm}")
        return
    if digits not in _DIGITS:
        result.skip(label, f"unknown digits number {digits}")
        return
    if kind not in (0, 1, 2):
        result.skip(label, f"unknown type number {kind}")
        return
    add(
        result,
        label,
        build_spec,
        "hotp" if kind == 1 else "totp",
        issuer,
        name,
        secret,
        _ALGORITHMS[algorithm],
        _DIGITS[digits],
        30,
        counter,
    )


def _signed32(value: int) -> int:
    """An int32 field as protobuf writes a negative one (ten bytes, two's complement)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def parse_migration_uri(uri: str) -> ImportResult:
    """One QR code's worth of a Google Authenticator export. `batch` is set when the export
    spans several codes (imports.join puts them together and names any missing)."""
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
    result = ImportResult(SOURCE)
    size = index = batch_id = 0
    n = 0
    for number, value in _fields(payload):
        if number == 1:
            if not isinstance(value, bytes):
                raise InvalidInputError("migration data has a malformed account")
            n += 1
            _entry(result, value, n)
        elif number in (3, 4, 5) and isinstance(value, int):
            if number == 3:
                size = _signed32(value)
            elif number == 4:
                index = _signed32(value)
            else:
                batch_id = _signed32(value)
    if size > 1 and 0 <= index < size:
        result.batch = (batch_id, index, size)
    log.debug(
        "migration payload: %d accounts, %d skipped, batch %s",
        len(result.accounts),
        len(result.skipped),
        result.batch,
    )
    return result
