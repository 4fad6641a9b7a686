"""The management password's host side: the verifier the token stores and the login proof.

SCRAM's construction (RFC 5802, section 3) with SHA-256; docs/security.md has the design:

    SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations)
    ClientKey      = HMAC-SHA256(SaltedPassword, "Client Key")
    StoredKey      = SHA256(ClientKey)      (the token stores it, with salt and iterations)
    ClientProof    = ClientKey XOR HMAC-SHA256(StoredKey, nonce || client_nonce || CONTEXT)

The password never leaves this process; neither does the ClientKey (only XORed with a MAC of a
fresh token nonce, which a recorded exchange cannot reuse).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from dataclasses import dataclass, field

from host_tools.errors import InvalidInputError

CONTEXT = b"totp-token login"
# OWASP's 2023 figure for PBKDF2-HMAC-SHA256: about 0.3 s on a desktop CPU, once per login.
# The token never runs PBKDF2 (the host does), so its own speed does not cap this; the
# firmware refuses fewer than MIN_ITERATIONS (docs/security.md, "What a flash copy gives").
ITERATIONS = 600_000
MIN_ITERATIONS = 100_000
SALT_BYTES = 16
NONCE_BYTES = 16
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


@dataclass(frozen=True)
class Verifier:
    """What PASSWORD_SET sends: never the password."""

    salt: bytes
    iterations: int
    stored_key: bytes = field(repr=False)


def normalise(password: str) -> bytes:
    """The password's bytes: NFC-normalised UTF-8 (SASLprep's main effect), so the same
    password typed on two systems gives the same key."""
    return unicodedata.normalize("NFC", password).encode()


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInputError(f"the password must have at most {MAX_PASSWORD} characters")


def client_key(password: str, salt: bytes, iterations: int) -> bytes:
    salted = hashlib.pbkdf2_hmac("sha256", normalise(password), salt, iterations)
    return hmac.new(salted, b"Client Key", hashlib.sha256).digest()


def stored_key(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def new_verifier(
    password: str, iterations: int = ITERATIONS, salt: bytes | None = None
) -> Verifier:
    check_new_password(password)
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    return Verifier(salt, iterations, stored_key(client_key(password, salt, iterations)))


def proof(key: bytes, nonce: bytes, client_nonce: bytes) -> bytes:
    """ClientProof for the token's nonce, from the ClientKey."""
    sig = hmac.new(stored_key(key), nonce + client_nonce + CONTEXT, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(key, sig, strict=True))
