"""The management password's challenge-response, token side (docs/security.md, "Password").

    a = auth.Auth(state)              # state: security.State
    nonce = a.challenge()             # 16 fresh random bytes, valid for one proof
    ok = a.verify(client_nonce, proof)

SCRAM's idea (RFC 5802) with SHA-256. The host derives, from the password and the token's
salt and iteration count:
    SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations)
    ClientKey      = HMAC(SaltedPassword, "Client Key")
    StoredKey      = SHA256(ClientKey)          (what the token stores)
and answers a challenge with
    ClientProof    = ClientKey XOR HMAC(StoredKey, nonce || client_nonce || "totp-token login")
The token recomputes the HMAC, XORs it out of the proof and checks SHA256(result) ==
StoredKey. The nonce is used once (any proof consumes it), so a recorded exchange does not
replay; the client nonce mixes the host's randomness in (os.urandom on an ESP32 is only
pseudo-random while the radio is off).
"""

import hashlib
import os

from mac import hmac_sha256, same

_CONTEXT = b"totp-token login"
_NONCE = 16


class Auth:
    def __init__(self, state):
        self.state = state
        self._nonce = None

    def challenge(self):
        self._nonce = os.urandom(_NONCE)
        return self._nonce

    def forget(self):
        self._nonce = None

    def verify(self, client_nonce, proof):
        nonce = self._nonce
        self._nonce = None  # single use, right or wrong
        state = self.state
        if nonce is None or len(proof) != 32 or not state.stored_key:
            return False
        sig = hmac_sha256(state.stored_key, nonce + bytes(client_nonce) + _CONTEXT)
        client_key = bytearray(32)
        for i in range(32):
            client_key[i] = proof[i] ^ sig[i]
        return same(hashlib.sha256(client_key).digest(), state.stored_key)
