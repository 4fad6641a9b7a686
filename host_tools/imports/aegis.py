"""Aegis vaults and exports, plain and encrypted, read and written (Aegis's docs/vault.md).

    {"version": 1, "header": {"slots": [...] | null, "params": {"nonce", "tag"} | null},
     "db": {"version", "entries": [...]} | "<base64 of the encrypted db>"}

Encrypted: a random 256-bit master key encrypts the db JSON with AES-256-GCM (`params`: nonce
and tag as hex; `db`: the ciphertext without its tag, base64 with padding). Each slot holds the
master key encrypted with AES-256-GCM under its own key (`key`, `key_params`: hex). A password
slot (type 1) derives that key with scrypt from the password's UTF-8 bytes (`n`, `r`, `p`,
`salt` as hex, 32-byte key). Raw (0) and biometric (2) slots need the phone: not usable here.
Entries: {"type": "totp"|"hotp"|"steam", "uuid", "name", "issuer", "note", "favorite",
"icon", "info": {"secret" (base32), "algo", "digits", "period" | "counter"}}.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

from host_tools.account import AccountSpec
from host_tools.errors import NotAnExportError, WrongPasswordError
from host_tools.imports.common import (
    ImportResult,
    Password,
    add,
    as_dict,
    as_str,
    entry_label,
    json_spec,
    need_password,
)

SOURCE = "aegis"
PASSWORD_SLOT = 1
KEY_BYTES = 32
NONCE_BYTES = 12
# scrypt cost of a new password slot, as Aegis makes them (N=2^15, r=8, p=1: 32 MiB, about
# 0.1 s); a file asking for much more than this is refused rather than eating the memory.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1
SCRYPT_MAX_MEMORY = 1 << 30
DB_VERSION = 2


@dataclass
class Unlocked:
    """An encrypted vault opened: its plain db, the master key and the slots to keep."""

    db: dict[str, Any]
    master_key: bytes
    slots: list[Any]


def is_encrypted(obj: dict[str, Any]) -> bool:
    header = as_dict(obj.get("header"))
    return bool(header.get("slots")) or isinstance(obj.get("db"), str)


def _hex(value: Any, what: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise NotAnExportError(f"Aegis vault has a malformed {what}") from None


def _scrypt_key(password: str, slot: dict[str, Any]) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    n, r, p = slot.get("n"), slot.get("r"), slot.get("p")
    if not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in (n, r, p)):
        raise NotAnExportError("Aegis vault has a password slot without scrypt parameters")
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)
    if n & (n - 1) or n < 2 or 128 * n * r * p > SCRYPT_MAX_MEMORY:
        raise NotAnExportError(f"Aegis vault asks for scrypt N={n}, r={r}, p={p}: refused")
    salt = _hex(slot.get("salt"), "slot salt")
    return Scrypt(salt=salt, length=KEY_BYTES, n=n, r=r, p=p).derive(password.encode("utf-8"))


def _open(key: bytes, params: Any, ciphertext: bytes, what: str) -> bytes:
    """AES-256-GCM decryption with Aegis's {"nonce", "tag"}; None if the tag is wrong."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    params = as_dict(params)
    nonce = _hex(params.get("nonce"), f"{what} nonce")
    tag = _hex(params.get("tag"), f"{what} tag")
    if len(nonce) != NONCE_BYTES or len(tag) != 16:
        raise NotAnExportError(f"Aegis vault has a malformed {what} nonce or tag")
    try:
        return AESGCM(key).decrypt(nonce, ciphertext + tag, None)
    except InvalidTag:
        raise WrongPasswordError(what) from None


def _seal(key: bytes, plaintext: bytes) -> tuple[bytes, dict[str, str]]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, None)
    return sealed[:-16], {"nonce": nonce.hex(), "tag": sealed[-16:].hex()}


def unlock(obj: dict[str, Any], password: Password | None, what: str) -> Unlocked:
    """Open an encrypted vault with a password slot; WrongPasswordError if none opens."""
    header = as_dict(obj.get("header"))
    slots = header.get("slots")
    if not isinstance(slots, list) or not isinstance(obj.get("db"), str):
        raise NotAnExportError(f"{what}: an encrypted Aegis vault needs slots and a db string")
    usable = [s for s in slots if isinstance(s, dict) and s.get("type") == PASSWORD_SLOT]
    if not usable:
        raise NotAnExportError(f"{what} has no password slot (only the phone can open it)")
    secret = need_password(password, what)
    master = None
    for slot in usable:
        key = _scrypt_key(secret, slot)
        try:
            master = _open(key, slot.get("key_params"), _hex(slot.get("key"), "slot key"), "slot")
            break
        except WrongPasswordError:
            continue
    if master is None or len(master) != KEY_BYTES:
        raise WrongPasswordError(f"wrong password for {what}")
    try:
        ciphertext = base64.b64decode(obj["db"], validate=True)
    except (binascii.Error, ValueError):
        raise NotAnExportError(f"{what}: the encrypted db is not base64") from None
    try:
        plain = _open(master, header.get("params"), ciphertext, "db")
    except WrongPasswordError:
        raise NotAnExportError(f"{what}: the db does not match its key (damaged file)") from None
    try:
        db = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise NotAnExportError(f"{what}: the decrypted db is not JSON") from None
    if not isinstance(db, dict):
        raise NotAnExportError(f"{what}: the decrypted db is not an object")
    return Unlocked(db, master, slots)


def new_password_slot(master_key: bytes, password: str) -> dict[str, Any]:
    """A password slot (type 1) holding `master_key`, as Aegis makes one."""
    slot: dict[str, Any] = {
        "type": PASSWORD_SLOT,
        "uuid": str(uuid.uuid4()),
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": os.urandom(32).hex(),
        "repaired": True,
        "is_backup": False,
    }
    key = _scrypt_key(password, slot)
    sealed, params = _seal(key, master_key)
    slot["key"] = sealed.hex()
    slot["key_params"] = params
    return slot


def seal_vault(db: dict[str, Any], master_key: bytes, slots: list[Any]) -> dict[str, Any]:
    """The encrypted vault file's JSON object for `db` (a fresh nonce every time)."""
    ciphertext, params = _seal(master_key, json.dumps(db, ensure_ascii=False).encode("utf-8"))
    return {
        "version": 1,
        "header": {"slots": slots, "params": params},
        "db": base64.b64encode(ciphertext).decode("ascii"),
    }


def entry_of(spec: AccountSpec) -> dict[str, Any]:
    """The Aegis entry of an account (secret in base32 without padding, as Aegis writes)."""
    info: dict[str, Any] = {
        "secret": base64.b32encode(spec.secret).decode("ascii").rstrip("="),
        "algo": spec.algorithm.upper(),
        "digits": spec.digits,
    }
    if spec.kind == "hotp":
        info["counter"] = spec.counter
    else:
        info["period"] = spec.period
    return {
        "type": spec.kind,
        "uuid": str(uuid.uuid4()),
        "name": spec.name,
        "issuer": spec.issuer,
        "note": "",
        "favorite": False,
        "icon": None,
        "info": info,
    }


def parse_db(db: Any, result: ImportResult | None = None) -> ImportResult:
    """The accounts of a plain Aegis db object ({"version", "entries": [...]})."""
    entries = db.get("entries") if isinstance(db, dict) else None
    if not isinstance(entries, list):
        raise NotAnExportError("Aegis export has no entries list")
    result = result or ImportResult(SOURCE)
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            result.skip(f"entry {n}", "malformed entry")
            continue
        info = as_dict(entry.get("info"))
        issuer, name = as_str(entry.get("issuer")), as_str(entry.get("name"))
        add(
            result,
            entry_label(issuer, name, f"entry {n}"),
            json_spec,
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


def parse_aegis(
    obj: Any, password: Password | None = None, what: str = "Aegis export"
) -> ImportResult:
    """Accounts of an Aegis vault or export, plain or encrypted (asks `password` then)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("db"), (dict, str)):
        raise NotAnExportError("not an Aegis export")
    if is_encrypted(obj):
        return parse_db(unlock(obj, password, what).db)
    return parse_db(obj["db"])
