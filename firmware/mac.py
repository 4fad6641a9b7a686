"""HMAC-SHA256 with hashlib, and a constant-time comparison: the password's login (auth.py)
and the PIN's keys and tags (vaultcrypt.py) use these; neither is a hot path (codes use the
viper cores in otp.py).

    mac.hmac_sha256(key, msg) -> 32 bytes   (RFC 2104; a key over 64 bytes is hashed first)
    mac.same(a, b) -> bool                   equal bytes, in a time that does not depend on
                                             where they differ
"""

import hashlib


def hmac_sha256(key, msg):
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    pad = bytearray(64)
    pad[: len(key)] = key
    for i in range(64):
        pad[i] ^= 0x36
    h = hashlib.sha256(pad)
    h.update(msg)
    inner = h.digest()
    for i in range(64):
        pad[i] ^= 0x36 ^ 0x5C
    h = hashlib.sha256(pad)
    h.update(inner)
    return h.digest()


def same(a, b):
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0
