"""The token's security state on flash: the management password's verifier and the lock.

    s = security.State(data_dir)     # reads DIR/security.bin
    s.has_password()                 # a verifier is stored
    s.salt, s.iterations, s.stored_key
    s.set_password(salt, iterations, stored_key)   # atomic; replaces any old verifier
    s.clear_password()               # also clears the lock (a lock without a password is moot)
    s.locked()                       # Ctrl-C and the REPL off at every boot
    s.set_locked(True/False)         # needs a password to lock
    security.locked_at_boot(data_dir)  # what main.py/boot.py ask before turning Ctrl-C on
    security.erase_security_state(data_dir)  # factory reset: password, lock, back-off, ...

The token never stores the password, only what SCRAM (RFC 5802, with SHA-256) calls the
StoredKey = SHA256(HMAC(PBKDF2(password, salt, iterations), "Client Key")), with its salt
and iteration count. Knowing the StoredKey does not let anyone log in (the proof needs the
ClientKey, which only the password gives); guessing the password from a flash copy costs a
full PBKDF2 per guess (docs/security.md).

File (store.Store, magic TKSC; a power cut leaves the old record or the new one):
    u8 flags (bit 0 locked), u8 salt length (0: no password), salt, u32 iterations,
    32 bytes StoredKey (only with a salt)
A damaged record counts as locked (fail closed): only a factory reset clears it.
"""

import struct

from micropython import const

_FILE = "/security.bin"
_BACKOFF_FILE = "/auth_backoff.bin"
_MAGIC = b"TKSC"
_LOCKED = const(0x01)
KEY_LEN = const(32)
MIN_SALT = const(16)
MAX_SALT = const(64)
MIN_ITERATIONS = const(100000)  # below this an offline guess is too cheap (docs/security.md)
MAX_ITERATIONS = const(100000000)


class State:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self._store = None
        self._loaded = False
        self.flags = 0
        self.salt = b""
        self.iterations = 0
        self.stored_key = b""
        self.damaged = False
        self._backoff = None
        self.load()

    def _s(self):
        if self._store is None:
            import store

            self._store = store.Store(self.data_dir + _FILE, magic=_MAGIC, max_size=128)
        return self._store

    def load(self):
        if self._loaded:
            return
        import store

        try:
            data = self._s().load()
        except store.CorruptError:
            data = None
            self.damaged = True
            self.flags = _LOCKED
        if data:
            flags, n = data[0], data[1]
            self.flags = flags
            if n:
                self.salt = bytes(data[2 : 2 + n])
                self.iterations = struct.unpack_from("<I", data, 2 + n)[0]
                self.stored_key = bytes(data[6 + n : 6 + n + KEY_LEN])
        self._loaded = True

    def has_password(self):
        self.load()
        return bool(self.salt) or self.damaged

    def locked(self):
        self.load()
        return bool(self.flags & _LOCKED)

    def _save(self, flags, salt, iterations, key):
        out = bytearray(2 + len(salt) + (4 + KEY_LEN if salt else 0))
        out[0] = flags
        out[1] = len(salt)
        if salt:
            out[2 : 2 + len(salt)] = salt
            struct.pack_into("<I", out, 2 + len(salt), iterations)
            out[6 + len(salt) :] = key
        # No backup copy: an old verifier must not outlive a password change.
        self._s().save(out, backup=False)
        self.flags, self.salt, self.iterations, self.stored_key = flags, salt, iterations, key
        self.damaged = False
        self._loaded = True

    def set_password(self, salt, iterations, stored_key):
        if not MIN_SALT <= len(salt) <= MAX_SALT:
            raise ValueError("salt must be %d to %d bytes" % (MIN_SALT, MAX_SALT))
        if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
            raise ValueError("iterations must be %d to %d" % (MIN_ITERATIONS, MAX_ITERATIONS))
        if len(stored_key) != KEY_LEN:
            raise ValueError("the verifier must be %d bytes" % KEY_LEN)
        self.load()
        self._save(self.flags & _LOCKED, bytes(salt), iterations, bytes(stored_key))

    def clear_password(self):
        self._save(0, b"", 0, b"")

    def set_locked(self, on):
        self.load()
        if on and not self.salt:
            raise ValueError("set a password first: only the password can unlock")
        self._save(_LOCKED if on else 0, self.salt, self.iterations, self.stored_key)

    def backoff(self):
        """The login's back-off counter (one per boot: it keeps the time of the last failure)."""
        if self._backoff is None:
            import backoff

            self._backoff = backoff.Backoff(self.data_dir + _BACKOFF_FILE)
        return self._backoff


def locked_at_boot(data_dir):
    """True unless the flash says the token is unlocked (a damaged record: locked)."""
    try:
        return State(data_dir).locked()
    except Exception:  # noqa: BLE001 - cannot read the flash: stay locked (fail closed)
        return True


def erase_security_state(data_dir):
    """Factory reset's part: the password, the lock, the back-off counts (password and PIN),
    every copy. The PIN itself lives in the vault: Vault.wipe(keep_pin=False) erases it."""
    import pin
    import store

    pin.erase(data_dir)
    store.Store(data_dir + _FILE, magic=_MAGIC).erase()
    store.Store(data_dir + _BACKOFF_FILE, magic=b"TKBO").erase()
    store.Store(data_dir + "/clockguard.bin", magic=b"TKCG").erase()


# Whether the REPL was opened for this boot (UNLOCK): main.py lets a Ctrl-C reach the REPL only
# then (or when the token is not locked). RAM only: the next reset closes it again.
_repl = [False]


def open_repl(on):
    _repl[0] = bool(on)


def repl_open():
    return _repl[0]
