"""Encryption at rest of the vault's secrets, with a key derived from the device PIN.

    c = vaultcrypt.Cipher.derive(pin, salt, iterations)   # slow on purpose (PBKDF2)
    c.check                    # 16 bytes kept in the vault: a PIN is right if its check matches
    blob = c.seal(secret)      # iv 16 + AES-256-CBC(secret, PKCS#7 padding) + tag 16
    c.open(blob)               # the secret; ValueError if the blob fails its tag
    vaultcrypt.new_salt(extra) # 16 bytes: os.urandom mixed with host-supplied entropy
    vaultcrypt.pbkdf2(password, salt, iterations)   # PBKDF2-HMAC-SHA256, 32 bytes (vaultkdf)

Imported only when a PIN is set, entered or changed: a token without a PIN never loads it.

Keys: PBKDF2-HMAC-SHA256(PIN, salt, iterations) gives a 32-byte master key, never stored.
Three keys are derived from it with HMAC-SHA256 under fixed labels: the AES-256 key, the MAC
key and the check. cryptolib offers ECB and CBC only (no CTR, no GCM: the unix ports,
micropython32 and the RV32 build alike), so a secret is sealed with AES-256-CBC under a
random IV and authenticated encrypt-then-MAC: the tag is HMAC-SHA256(MAC key, iv + ciphertext)
truncated to 16 bytes, checked (in constant time) before anything is decrypted, so a changed
blob is refused and never decrypted (no padding oracle).

PBKDF2 is in vaultkdf.py (viper), imported for a derivation and dropped after it. The
iterations are stored beside the salt, so a later firmware can raise them for new PINs and
still open old vaults.

The limit, plainly: the salt, the iterations and the check are in the vault file. Whoever
copies the flash can try every 4- to 8-digit PIN offline at the speed of a PC, so a short PIN
protects a copy of the flash only for minutes; ESP32 flash encryption is what keeps the copy
unreadable (docs/storage.md, "Encryption at rest").
"""

import hashlib
import os

from mac import hmac_sha256 as _hmac
from mac import same
from micropython import const

SALT = const(16)
CHECK = const(16)
_TAG = const(16)
_IV = const(16)
_BLOCK = const(16)  # AES
_KEY = const(32)
_CBC = const(2)  # cryptolib.aes mode
OVERHEAD = const(48)  # iv + the padding's most + tag: a sealed secret is at most this longer
ITERATIONS = const(1500)  # new PINs: about 45 M RV32 instructions, ~0.3 s at 160 MHz


def pbkdf2(password, salt, iterations):
    """PBKDF2-HMAC-SHA256, 32 bytes (vaultkdf.py). The KDF's viper code, and the SHA-256 core
    if nothing else had loaded it, leave the heap again afterwards: a check needs them for a
    moment, the token's codes not at all."""
    import sys

    had_core = "hmac_sha256" in sys.modules
    import vaultkdf

    try:
        return vaultkdf.pbkdf2(password, salt, iterations)
    finally:
        vaultkdf.release()
        del sys.modules["vaultkdf"]
        if not had_core:
            sys.modules.pop("hmac_sha256", None)


def new_salt(extra=b""):
    """16 bytes: os.urandom (pseudo-random on an ESP32 with its radio off) mixed with entropy
    the host sent, so neither alone decides the salt."""
    h = hashlib.sha256(os.urandom(32))
    h.update(extra)
    return h.digest()[:SALT]


class Cipher:
    """The keys of one PIN. Holds no PIN and no master key, only what sealing needs."""

    def __init__(self, master):
        self._enc = _hmac(master, b"token vault aes")
        self._mac = _hmac(master, b"token vault mac")
        self.check = _hmac(master, b"token pin check")[:CHECK]

    @classmethod
    def derive(cls, pin, salt, iterations):
        return cls(pbkdf2(pin, salt, iterations))

    def _tag(self, iv, body):
        return _hmac(self._mac, bytes(iv) + bytes(body))[:_TAG]

    def seal(self, secret):
        import cryptolib

        n = len(secret)
        pad = _BLOCK - n % _BLOCK  # PKCS#7: 1..16 bytes, each the pad length
        buf = bytearray(n + pad)
        buf[:n] = secret
        for i in range(n, n + pad):
            buf[i] = pad
        iv = os.urandom(_IV)
        body = cryptolib.aes(self._enc, _CBC, iv).encrypt(buf)
        for i in range(n):
            buf[i] = 0  # the padded plaintext copy
        return iv + body + self._tag(iv, body)

    def open(self, blob):
        import cryptolib

        n = len(blob) - _IV - _TAG
        if n < _BLOCK or n % _BLOCK:
            raise ValueError("sealed secret has a bad length")
        mv = memoryview(blob)
        iv = mv[:_IV]
        body = mv[_IV : _IV + n]
        if not same(self._tag(iv, body), mv[_IV + n :]):
            raise ValueError("sealed secret fails its check")
        plain = cryptolib.aes(self._enc, _CBC, bytes(iv)).decrypt(bytes(body))
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK:
            raise ValueError("sealed secret has bad padding")
        return plain[: n - pad]
