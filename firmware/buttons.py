"""Polled, debounced buttons with short and long presses.

    b = buttons.Buttons(board.buttons)     # objects with pressed() -> bool
    ev = b.poll()                          # call every ~10 ms; 0 or one event:
    if ev == buttons.SHORT_0: ...          #   DOWN_0, SHORT_0, LONG_0, DOWN_1, SHORT_1, LONG_1
    b.swallow()                            # the presses now held produce no SHORT/LONG

Events, per button (0 = next, 1 = previous), named constants (small ints: no allocation):
    DOWN_i   the press was accepted (after the debounce time); comes first, every time
    LONG_i   the button has been held for long_ms (fires while still held, once)
    SHORT_i  the button went up before long_ms
(The value is button << 2 | kind, kind one of DOWN, SHORT, LONG, for a board with more
buttons; the app uses the names.)
A button already held when Buttons is made (the press that woke the board from deep sleep)
counts only after it has been released once. poll() returns at most one event; a button
that also changed waits for the next poll (10 ms later). Allocates nothing per poll.
"""

import time

from micropython import const

DOWN = const(1)
SHORT = const(2)
LONG = const(3)

DOWN_0 = const(1)
SHORT_0 = const(2)
LONG_0 = const(3)
DOWN_1 = const(5)
SHORT_1 = const(6)
LONG_1 = const(7)

_DEBOUNCE_MS = const(30)
_LONG_MS = const(700)


class Buttons:
    def __init__(self, pins, debounce_ms=_DEBOUNCE_MS, long_ms=_LONG_MS, ticks_ms=None):
        # Runs once, at boot: its code is bootinit.py (dropped by the app after boot).
        import bootinit

        bootinit.buttons(self, pins, debounce_ms, long_ms, ticks_ms)

    def _read(self, i):
        try:
            return 1 if self._pins[i].pressed() else 0
        except OSError:
            return 0

    def swallow(self):
        """Drop the SHORT/LONG of every press now in progress (a press that woke the screen)."""
        for i in range(self.count):
            if self._stable[i]:
                self._swallow[i] = 1

    def poll(self):
        now = self._ticks()
        i = 0
        while i < self.count:
            raw = self._read(i)
            if raw != self._raw[i]:
                self._raw[i] = raw
                self._since[i] = now
            elif raw != self._stable[i]:
                if time.ticks_diff(now, self._since[i]) >= self._debounce:
                    self._stable[i] = raw
                    if raw:
                        self._down_at[i] = now
                        self._long_done[i] = 0
                        self._swallow[i] = 0
                        return (i << 2) | DOWN
                    if self._swallow[i]:
                        self._swallow[i] = 0
                    elif not self._long_done[i]:
                        return (i << 2) | SHORT
            elif raw and not self._long_done[i]:
                if time.ticks_diff(now, self._down_at[i]) >= self._long:
                    self._long_done[i] = 1
                    if not self._swallow[i]:
                        return (i << 2) | LONG
            i += 1
        return 0
