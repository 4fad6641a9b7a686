"""2FAS backups (`.2fas`), every schema version, plain and encrypted.

    {"services": [{"name", "secret" (base32), "otp": {"label", "account", "issuer", "digits",
      "period", "algorithm", "tokenType" (TOTP, HOTP, STEAM), "counter", "source", "link"},
      "order", "icon", ...}], "groups", "schemaVersion", "appOrigin", ...,
     "servicesEncrypted": "<ciphertext+tag>:<salt>:<iv>" (each base64), "reference": ...}

Schema versions differ in what sits beside the services (groups, icons, encryption); the
fields read here are common to all of them, and any that is missing takes the usual default
(TOTP, SHA1, 6 digits, 30 s); an entry without a secret but with an otpauth:// `link` is
read from the link. When encrypted, `services` is empty and `servicesEncrypted`
holds the services array, AES-256-GCM with the key PBKDF2-HMAC-SHA256(password, salt,
10,000 iterations, 32 bytes).

Names, as the app shows an entry (the service name as its title, the account under it):
issuer = otp.issuer, else the service name; name = otp.account, else otp.label (split at
"Issuer:" like a URI label), else the service name. So an entry with only a service name,
"Example", becomes issuer "Example", name "Example".
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from host_tools.errors import NotAnExportError, WrongPasswordError
from host_tools.imports import uris
from host_tools.imports.common import (
    ImportResult,
    Password,
    add,
    as_dict,
    as_str,
    entry_label,
    json_spec,
    need_password,
    split_prefix,
)

SOURCE = "2fas"
PBKDF2_ITERATIONS = 10_000


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise NotAnExportError(f"{what}: servicesEncrypted is not base64") from None


def decrypt_services(encrypted: str, password: Password | None, what: str) -> Any:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    parts = encrypted.split(":")
    if len(parts) < 3:
        raise NotAnExportError(f"{what}: servicesEncrypted is not ciphertext:salt:iv")
    data, salt, iv = (_b64(p, what) for p in parts[:3])
    if len(iv) != 12 or len(data) < 16:
        raise NotAnExportError(f"{what}: servicesEncrypted has a malformed iv or ciphertext")
    secret = need_password(password, what).encode("utf-8")
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=PBKDF2_ITERATIONS)
    try:
        plain = AESGCM(kdf.derive(secret)).decrypt(iv, data, None)
    except InvalidTag:
        raise WrongPasswordError(f"wrong password for {what}") from None
    try:
        return json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotAnExportError(f"{what}: the decrypted services are not JSON") from None


def _names(service: dict[str, Any], otp: dict[str, Any]) -> tuple[str, str]:
    title = as_str(service.get("name")).strip()
    issuer = as_str(otp.get("issuer")).strip() or title
    name = as_str(otp.get("account")).strip()
    if not name:
        issuer, name = split_prefix(issuer, as_str(otp.get("label")))
    return issuer, name or title or issuer


def parse_2fas(
    obj: Any, password: Password | None = None, what: str = "2FAS backup"
) -> ImportResult:
    if not isinstance(obj, dict) or not ("services" in obj or "servicesEncrypted" in obj):
        raise NotAnExportError("not a 2FAS export")
    encrypted = obj.get("servicesEncrypted")
    if isinstance(encrypted, str) and encrypted:
        services = decrypt_services(encrypted, password, what)
    else:
        services = obj.get("services")
    if not isinstance(services, list):
        raise NotAnExportError("2FAS export has no services list")
    result = ImportResult(SOURCE)
    for n, service in enumerate(services, 1):
        if not isinstance(service, dict):
            result.skip(f"service {n}", "malformed entry")
            continue
        otp = as_dict(service.get("otp"))
        issuer, name = _names(service, otp)
        link = as_str(otp.get("link")).strip()
        if not as_str(service.get("secret")) and link.lower().startswith("otpauth://"):
            # An entry that keeps its account only as the URI it was scanned from.
            add(result, entry_label(issuer, name, f"service {n}"), uris.parse_export_uri, link)
            continue
        add(
            result,
            entry_label(issuer, name, f"service {n}"),
            json_spec,
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
