"""The optional device PIN: entering it, counting wrong ones, setting and clearing it.

    p = pin.Pin(vault, data_dir)   # imported and made only when a PIN is set or being set
    p.required                     # a PIN is set and not entered: no codes anywhere
    p.failures, p.tries_left       # consecutive wrong PINs (kept on flash), MAX_TRIES - that
    p.wait_s()                     # seconds before the next try may be checked (0: now)
    p.enter("1234")                # -> RIGHT, WRONG, WAIT or WIPED (see below)
    p.lock()                       # forget the keys (screen timeout): the PIN is asked again
    p.set(new, old, entropy)       # set or change (old: the current PIN, "" when none)
    p.clear(old)                   # back to plain secrets
    p.wipe()                       # every account, the PIN and the counter (the tenth
                                   # wrong PIN; factory reset: token.pin.wipe())
    pin.erase(data_dir)            # the counter's files alone, without a Pin (a reset
                                   # gesture at boot: with vault.wipe(keep_pin=False))

A PIN is 4 to 8 digits. It is never stored: the vault keeps a salt, an iteration count and a
check derived from it (vaultcrypt.py), and its secrets are sealed with keys derived from it.
The keys are in RAM only between a right PIN and the next lock (screen timeout, power-on).

Each try, from the buttons or over USB (set and clear give the current PIN), is counted on
flash BEFORE it is checked, so cutting the power during the check does not make it free
(backoff.Backoff: the delay doubles with every wrong PIN, 1 s, 2 s, 4 s, ...; a right PIN
resets it). While a delay runs, a try is not checked at all (WAIT). The check itself is slow on
purpose (PBKDF2, about 0.3 s on an ESP32), so the token is no fast oracle even between delays.
The MAX_TRIES-th wrong PIN in a row wipes the token: every account, the PIN and the counter
(WIPED); it then works as a new token without a PIN.

The delay runs on the board's own clock (time.time(): the ESP32's internal RTC, which
nothing here sets, so it counts from power-on), not the DS3231 that the USB port can set:
moving the token's clock does not shorten it. A reset restarts the delay in full
(backoff.py).

Errors for the protocol: PinError (a ValueError) with code PIN_REQUIRED (no PIN was given
where one is set) or PIN_WRONG (a wrong PIN, a delay still running, or the try that wiped).
A PIN of the wrong form is InvalidError (the vault's INVALID).
"""

import time

from micropython import const

MAX_TRIES = const(10)
RIGHT = const(0)
WRONG = const(1)
WAIT = const(2)
WIPED = const(3)
_FILE = "pin_tries.bin"


class PinError(ValueError):
    code = "PIN_WRONG"


class PinRequiredError(PinError):
    code = "PIN_REQUIRED"


def valid(text):
    """True if text (str or bytes) is 4 to 8 ASCII digits."""
    if not 4 <= len(text) <= 8:
        return False
    for c in text.encode() if isinstance(text, str) else text:
        if not 0x30 <= c <= 0x39:
            return False
    return True


def _digits(text):
    if not valid(text):
        import vault

        raise vault.InvalidError("a PIN is 4 to 8 digits")
    return text.encode() if isinstance(text, str) else bytes(text)


def _path(data_dir):
    return data_dir.rstrip("/") + "/" + _FILE


def erase(data_dir):
    """Remove the wrong-PIN counter (factory reset; the vault's wipe(keep_pin=False) removes
    the PIN itself)."""
    import store

    store.Store(_path(data_dir), b"TKBO", 4).erase()


class Pin:
    def __init__(self, vault, data_dir, now=None):
        import backoff

        self._vault = vault
        self._backoff = backoff.Backoff(_path(data_dir))
        self._now = now or time.time

    @property
    def required(self):
        return not self._vault.unlocked

    @property
    def failures(self):
        return self._backoff.failures

    @property
    def tries_left(self):
        left = MAX_TRIES - self._backoff.failures
        return left if left > 0 else 0

    def wait_s(self):
        return self._backoff.wait_s(self._now())

    def lock(self):
        self._vault.lock()

    def enter(self, text):
        """Check a PIN: RIGHT (the vault is unlocked), WRONG, WAIT (a delay runs: not
        checked, not counted) or WIPED (the last allowed try was wrong: everything erased)."""
        digits = _digits(text)
        params = self._vault.pin_params()
        if params is None:
            return RIGHT  # no PIN (any longer): nothing to unlock
        b = self._backoff
        now = self._now()
        if b.wait_s(now):
            return WAIT
        b.fail(now)  # counted before the check: a power cut now costs the guesser a try
        import mac
        import vaultcrypt

        salt, iterations, check = params
        cipher = vaultcrypt.Cipher.derive(digits, salt, iterations)
        if mac.same(cipher.check, check):
            b.succeed()
            self._vault.unlock(cipher)
            return RIGHT
        if b.failures >= MAX_TRIES:
            self.wipe()
            return WIPED
        return WRONG

    def wipe(self):
        """Erase every account, the PIN and the counter, on flash and in RAM (the MAX_TRIES-th
        wrong PIN, and factory reset). Needs no PIN: nothing is decrypted."""
        self._vault.wipe(keep_pin=False)
        self._backoff.erase()

    def _prove(self, old):
        # The current PIN, given over USB to change or clear it: the same count and delays
        # as the buttons.
        if self._vault.pin_params() is None:
            return
        if not old:
            raise PinRequiredError("a PIN is set: give the current PIN")
        result = self.enter(old)
        if result == RIGHT:
            return
        if result == WAIT:
            raise PinError(
                "wrong PIN before: wait %d s (%d tries left)" % (self.wait_s(), self.tries_left)
            )
        if result == WIPED:
            raise PinError("wrong PIN %d times in a row: the token wiped itself" % MAX_TRIES)
        raise PinError("wrong PIN (%d tries left)" % self.tries_left)

    def set(self, new, old="", entropy=b""):
        """Set the PIN (or change it: old is the current one) and re-encrypt the vault."""
        digits = _digits(new)
        self._prove(old)
        import vaultcrypt

        salt = vaultcrypt.new_salt(entropy)
        iterations = vaultcrypt.ITERATIONS
        _reseal(self._vault, vaultcrypt.Cipher.derive(digits, salt, iterations), salt, iterations)

    def clear(self, old):
        """Remove the PIN: the secrets are stored in plain again."""
        if self._vault.pin_params() is None:
            import vault

            raise vault.InvalidError("no PIN is set")
        self._prove(old)
        _reseal(self._vault, None)


def _reseal(v, cipher, salt=b"", iterations=0):
    """Re-encrypt every secret of vault v under cipher (a new PIN; None: no PIN, plain
    secrets) and save it as one atomic change without a backup copy (no file keeps the old
    form). The vault is unlocked afterwards. vaultedit.py does it (the vault's own module for
    changes, which every boot does not load)."""
    import struct

    import vaultedit

    header = None
    if cipher is not None:
        header = bytes(salt) + struct.pack("<I", iterations) + cipher.check
    vaultedit.reseal(v, cipher, header)
