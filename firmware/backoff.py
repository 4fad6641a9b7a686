"""A failure counter on flash that slows down guessing (a password, a PIN).

    b = backoff.Backoff("/data/pw_backoff.bin")
    wait = b.wait_s(now_s)   # seconds still to wait before the next try (0: try now)
    b.fail(now_s)            # count a failure (persisted before it returns)
    b.succeed()              # a right answer: the count goes back to 0
    b.failures               # consecutive failures counted so far

The delay after n consecutive failures is 2**(n-1) seconds (1 s, 2 s, 4 s, ...) capped at one
hour, measured from the last failure against the caller's clock (the token's seconds).

Why it resists the obvious tricks:
- The count is on flash (store.Store: checksummed copies switched by atomic renames, so a
  power cut during a write leaves the old count or the new one), so a reset or a power cycle
  does not clear it.
- The time of the last failure is not stored: after a boot a pending delay restarts in full
  from the first wait_s() call, so pulling the power only costs the guesser time.
- A clock that goes backwards restarts the delay from the new time rather than stretching it
  to the old one (nor shortening it): the guesser gains nothing from moving the clock back.
- Cut the power between a wrong guess and its fail(), and the guess would be free. So the
  caller counts a try BEFORE checking it: fail(now) first, check, then succeed() only if it
  was right (two writes per good try, one per wrong one; tries are rare).
- A damaged file (no copy passes its check) counts as the cap: a full hour's delay, never a
  free reset (factory reset is the way out).
"""

import struct

from micropython import const

_MAGIC = b"TKBO"
_MAX_DELAY_S = const(3600)
_CAP = const(12)  # 2**12 s > 1 h: counting higher changes nothing, it only grows the number
_KEEP = const(0xFFFF)  # the count kept on flash saturates here


class Backoff:
    def __init__(self, path):
        import store

        self._store = store.Store(path, magic=_MAGIC, max_size=4)
        self._since = None  # token seconds of the last failure (None: not since boot)
        try:
            data = self._store.load()
        except store.CorruptError:
            data = struct.pack("<I", _CAP + 1)
        self.failures = struct.unpack("<I", data)[0] if data and len(data) == 4 else 0

    def delay_s(self):
        """The whole delay that follows the failures counted so far."""
        n = self.failures
        if n <= 0:
            return 0
        if n > _CAP:
            return _MAX_DELAY_S
        return min(1 << (n - 1), _MAX_DELAY_S)

    def wait_s(self, now_s):
        """Seconds (whole, rounded up) still to wait at now_s before the next try."""
        delay = self.delay_s()
        if not delay:
            return 0
        since = self._since
        if since is None or now_s < since:
            # First look since boot, or the clock went back: the delay starts again now.
            self._since = since = now_s
        left = since + delay - now_s
        if left <= 0:
            return 0
        whole = int(left)
        return whole + 1 if left > whole else whole

    def fail(self, now_s):
        """Count one failure; it is on flash when this returns (OSError if the flash fails)."""
        n = self.failures + 1
        if n > _KEEP:
            n = _KEEP
        self._store.save(struct.pack("<I", n))
        self.failures = n
        self._since = now_s

    def succeed(self):
        """A right answer: forget the failures."""
        if self.failures:
            self._store.save(struct.pack("<I", 0))
        self.failures = 0
        self._since = None

    def erase(self):
        """Remove the counter's files (factory reset): failures 0."""
        self._store.erase()
        self.failures = 0
        self._since = None
