"""andOTP backups, plain and encrypted.

Plain: a JSON array of {"secret" (base32), "issuer", "label", "digits", "type" (TOTP, HOTP,
STEAM), "algorithm", "period" | "counter", "thumbnail", "tags", ...}. Without an "issuer",
a label "Issuer - account" (andOTP's own old form) or "Issuer:account" is split.

Encrypted (`.json.aes`), AES-256-GCM with a 12-byte nonce and the 16-byte tag at the end:
- current format: iterations (4 bytes, big-endian) | salt (12) | nonce (12) | ciphertext | tag,
  key = PBKDF2-HMAC-SHA1(password, salt, iterations, 32 bytes);
- old format: nonce (12) | ciphertext | tag, key = SHA-256(password).
Nothing in the file says which, so the current format is tried first, then the old one.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from host_tools.errors import NotAnExportError, WrongPasswordError
from host_tools.imports.common import (
    ImportResult,
    Password,
    add,
    as_str,
    entry_label,
    json_spec,
    need_password,
)

SOURCE = "andotp"
NONCE_BYTES = 12
SALT_BYTES = 12
TAG_BYTES = 16
# The smallest encrypted file: an old-format nonce, "[]" and the tag.
MIN_ENCRYPTED_BYTES = NONCE_BYTES + 2 + TAG_BYTES
MAX_ITERATIONS = 10_000_000  # more is not an andOTP file (and would take minutes)


def parse_andotp(obj: Any) -> ImportResult:
    if not isinstance(obj, list) or not all(isinstance(e, dict) and "secret" in e for e in obj):
        raise NotAnExportError("not an andOTP export")
    result = ImportResult(SOURCE)
    for n, entry in enumerate(obj, 1):
        issuer, name = as_str(entry.get("issuer")), as_str(entry.get("label"))
        if not issuer and " - " in name:
            issuer, _, name = name.partition(" - ")
        add(
            result,
            entry_label(issuer, name, f"entry {n}"),
            json_spec,
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


def _decrypt(key: bytes, data: bytes) -> bytes | None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(data) < NONCE_BYTES + TAG_BYTES:
        return None
    try:
        return AESGCM(key).decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
    except InvalidTag:
        return None


def decrypt_andotp(data: bytes, password: Password | None, what: str) -> bytes:
    """The JSON text of an encrypted andOTP backup (either format)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    if len(data) < MIN_ENCRYPTED_BYTES:
        raise NotAnExportError(f"{what} is not UTF-8 text, nor an encrypted andOTP backup")
    secret = need_password(password, what).encode("utf-8")
    iterations = int.from_bytes(data[:4], "big")
    if 1 <= iterations <= MAX_ITERATIONS:
        salt = data[4 : 4 + SALT_BYTES]
        kdf = PBKDF2HMAC(algorithm=hashes.SHA1(), length=32, salt=salt, iterations=iterations)
        plain = _decrypt(kdf.derive(secret), data[4 + SALT_BYTES :])
        if plain is not None:
            return plain
    plain = _decrypt(hashlib.sha256(secret).digest(), data)
    if plain is None:
        raise WrongPasswordError(f"wrong password for {what} (or it is not an andOTP backup)")
    return plain


def parse_encrypted_andotp(
    data: bytes, password: Password | None, what: str = "andOTP backup"
) -> ImportResult:
    plain = decrypt_andotp(data, password, what)
    try:
        obj = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotAnExportError(f"{what}: the decrypted backup is not JSON") from None
    return parse_andotp(obj)
