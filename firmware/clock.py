"""UTC time for the token: the DS3231 is the source of truth, ticks_ms carries the sub-second.

    c = clock.Clock(rtc)        # rtc: drivers.ds3231.DS3231 (or anything with its methods)
    c.read()                    # boot: one RTC read, phase guessed (+-0.5 s); never blocks
    c.refresh()                 # find the RTC's second edge: phase to +-1 ms (blocks <= 1.1 s)
    await c.sync()              # the same without blocking the event loop
    await c.check()             # cheap re-read (one datetime + status): resyncs on a jump
    c.valid()                   # False: RTC missing/failing, oscillator stopped (OSF), unread
    c.sample()                  # hot path: sets c.days, c.sod, c.ms (small ints, no allocation)
    c.unix(), c.unix_ms()       # ints (big ints on a 32-bit port: not for the hot path)
    await c.set_unix_ms(ms)     # write the RTC at the new time's second edge, clear OSF
                                #   (clockset.py, loaded for it)
    c.revision                  # +1 whenever the time jumps or validity changes
    c.status                    # OK, or why the clock is not valid: NOT_READ, NO_RTC,
                                #   NOT_SET (oscillator stopped), NO_ANSWER, NOT_TICKING
    c.error                     # None, or the same as a short text (for logs)

Why this shape. An ESP32 has 31-bit small ints, so Unix seconds (~1.8e9) are heap objects.
The clock therefore keeps (days since 1970, second of day) as small ints, anchored at the
ticks_ms() value of the RTC second edge where that second began; sample() advances them by
whole seconds with ticks_diff/ticks_add, allocating nothing. The TOTP step comes from
otp.counter(days, sod, period) and never needs the Unix time.

The DS3231 has no sub-second register: the only way to learn its phase is to watch its
seconds register change. sync() polls it every 2 ms around the predicted edge (about 10 reads
a minute in steady state), so the phase error is about +-1 ms plus the poll jitter; check()
reads once mid-second and notices a clock moved by someone else (a host time set, the sim's
control socket, a pulled battery) within one check period of the app's choosing.

The RTC runs in UTC (set by the host); the calendar conversion is the driver's
(days_seconds()), so no epoch or time zone enters here.
"""

import time

from micropython import const

_DAY = const(86400)
_POLL_MS = const(2)
_LEAD_MS = const(20)  # start watching this long before the predicted edge
_SEARCH_MS = const(1100)  # a running oscillator changes its second within this

# Clock.status: why the time is not valid (what the screen tells the user to do).
OK = const(0)
NOT_READ = const(1)  # the RTC has not been read yet
NO_RTC = const(2)  # no RTC on this board
NOT_SET = const(3)  # the DS3231's oscillator-stop flag: its time was lost, set it again
NO_ANSWER = const(4)  # the RTC did not answer on the bus
NOT_TICKING = const(5)  # the RTC answers but its seconds do not move


class Clock:
    def __init__(self, rtc, ticks_ms=None, sleep_ms=None):
        # Runs once, at boot: its code is bootinit.py (dropped by the app after boot).
        import bootinit

        bootinit.clock(self, rtc, ticks_ms, sleep_ms)

    # ---- the hot path

    def sample(self):
        """Bring days/sod/ms up to now. Small-int arithmetic only: allocates nothing."""
        el = time.ticks_diff(self._ticks(), self._anchor)
        if el >= 1000 or el < 0:
            secs = el // 1000  # floor: negative when the anchor is still ahead
            self._anchor = time.ticks_add(self._anchor, secs * 1000)
            el -= secs * 1000
            sod = self.sod + secs
            if sod >= _DAY or sod < 0:
                self.days += sod // _DAY
                sod %= _DAY
            self.sod = sod
        self.ms = el

    def valid(self):
        return self._valid

    def unix(self):
        self.sample()
        return self.days * _DAY + self.sod

    def unix_ms(self):
        self.sample()
        return (self.days * _DAY + self.sod) * 1000 + self.ms

    def ms_to_edge(self):
        """Milliseconds until the next second edge (1..1000)."""
        self.sample()
        return 1000 - self.ms

    # ---- reading the RTC

    def _fail(self, status, text):
        if self._valid or self.status != status:
            self.revision += 1
        self._valid = False
        self._phase_ok = False
        self.status = status
        self.error = text

    def _read_rtc(self):
        """(days, sod) from the RTC, or None after recording why the time is unusable."""
        rtc = self._rtc
        if rtc is None:
            self._fail(NO_RTC, "no RTC")
            return None
        try:
            if rtc.oscillator_stopped():
                self._fail(NOT_SET, "clock not set")
                return None
            return rtc.days_seconds()
        except OSError:
            self._fail(NO_ANSWER, "RTC not responding")
            return None

    def _set(self, days, sod, anchor, phase_ok):
        self.sample()
        jumped = not self._valid or days != self.days or sod != self.sod
        self.days = days
        self.sod = sod
        self._anchor = anchor
        self.ms = time.ticks_diff(self._ticks(), anchor)
        self.sample()
        self._phase_ok = phase_ok
        if jumped or not self._valid:
            self.revision += 1
        self._valid = True
        self.status = OK
        self.error = None

    def read(self):
        """One RTC read; the phase is guessed as mid-second (for a fast first frame)."""
        t = self._ticks()
        got = self._read_rtc()
        if got is None:
            return False
        self._set(got[0], got[1], time.ticks_add(t, -500), False)
        return True

    def _edge(self):
        """Generator behind refresh()/sync(): yields milliseconds to wait, finds the edge."""
        if self._valid and self._phase_ok:
            wait = self.ms_to_edge() - _LEAD_MS
            if wait > 0:
                yield wait
        start = self._ticks()
        got = self._read_rtc()
        if got is None:
            return
        before = start
        while True:
            yield _POLL_MS
            t = self._ticks()
            now = self._read_rtc()
            if now is None:
                return
            if now != got:
                # The second began between the previous read and this one.
                edge = time.ticks_add(before, time.ticks_diff(t, before) // 2)
                self._set(now[0], now[1], edge, True)
                self.last_sync = t
                return
            before = t
            if time.ticks_diff(t, start) > _SEARCH_MS:
                self._fail(NOT_TICKING, "RTC not ticking")
                return

    def refresh(self):
        """Re-read the RTC and measure its phase, blocking up to about 1.1 s."""
        for wait in self._edge():
            self._sleep(wait)
        return self._valid

    async def sync(self):
        """refresh() for the event loop: waits with asyncio.sleep_ms."""
        import asyncio

        for wait in self._edge():
            await asyncio.sleep_ms(wait)
        return self._valid

    async def check(self):
        """Cheap re-read mid-second: if the RTC disagrees with our count (moved, stopped,
        gone, or back), sync to its edge again."""
        import asyncio

        if self._valid and self._phase_ok:
            wait = self.ms_to_edge() - 500
            if wait < 0:
                wait += 1000
            await asyncio.sleep_ms(wait)
        was_valid = self._valid
        got = self._read_rtc()
        if got is None:
            return False
        self.sample()
        if not was_valid or not self._phase_ok or got[0] != self.days or got[1] != self.sod:
            return await self.sync()
        return True

    # ---- setting the time

    def set_unix_ms(self, ms):
        """Set the RTC to `ms` (Unix milliseconds, as of this call): wait for that time's next
        second edge, write the seconds then (the DS3231 restarts its countdown on that write,
        so the phase is right too), clear the oscillator-stop flag. A coroutine: await it.
        ValueError if out of the RTC's range (2000..2099); OSError if the bus fails."""
        # Only the protocol's time sync sets the clock: the code is in a command-only module
        # (app.py drops it with the protocol server). "As of this call" is now, not after the
        # import.
        t0 = self._ticks()
        import clockset

        return clockset.set_unix_ms(self, ms, t0)
