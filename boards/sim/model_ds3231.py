# A model of a battery-backed DS3231 RTC on I2C, for the sim board (runs inside MicroPython).
#
# Register map 0x00-0x12 as in the datasheet: BCD time (0x00-0x06, hours in 12- or 24-hour
# mode, century bit in the month register), alarms (0x07-0x0D, stored only), control 0x0E,
# status 0x0F, aging offset 0x10, temperature 0x11-0x12.
#
# The time is the host clock plus a stored offset, so it keeps running while the sim is not
# running, as the coin cell keeps a real chip going. Writing the seconds register resets the
# sub-second phase (the chip's countdown chain). As on the chip, a read transaction returns a
# snapshot of the time taken at its START, so a multi-byte read is consistent; a write of time
# registers takes effect at STOP. The year range is 2000-2199 (century bit set from 2100);
# unlike the chip, the model does real Gregorian arithmetic (2100 is not a leap year).
#
# Public API (used by boards/sim/board.py, the supervisor's control socket and tests):
#   Ds3231Model(state_path=None, clock=None)
#       state_path: JSON file holding the battery-backed state; read at creation, rewritten
#       atomically (temp file, then rename) on every change. A missing or unreadable file is
#       a first power-up: registers at their reset values, time 2000-01-01 00:00:00, OSF set.
#       clock: host time source returning integer nanoseconds (default time.time_ns), so tests
#       can move the host clock.
#   unix() -> int            the chip's time as UTC Unix seconds
#   unix_ns() -> int         the same in nanoseconds (sub-second phase included)
#   set_unix(t)              set the time (int or float seconds, 2000..2199); phase from t
#   shift(seconds)           move the chip's time by seconds (may be negative or float)
#   pull_battery()           coin cell out (and power gone): registers back to reset values,
#                            OSF set; stays so on every power-up until insert_battery()
#   insert_battery()         coin cell back in
#   battery                  True while a cell is fitted
#   temperature              float, degrees C reported in 0x11-0x12 (default 25.0)
#   regs(addr, n) -> bytes   register contents as a driver would read them now
#   reads, writes            counters of read and write transactions
#   present                  set False to make the address stop answering (ENODEV)

import json
import os
import time

from simi2c import Device

_NREGS = 0x13
_CONTROL = 0x0E
_STATUS = 0x0F
_AGING = 0x10
_TEMP = 0x11
_OSF = 0x80
_CONV = 0x20
_NS = 1000000000
_Y2000 = 946684800  # 2000-01-01T00:00:00Z
_Y2200 = 7258118400  # 2200-01-01T00:00:00Z
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_days(year, month):
    return 29 if month == 2 and _leap(year) else _MONTH_DAYS[month - 1]


def _bcd(v):
    return ((v // 10) << 4) | (v % 10)


def _unbcd(b):
    return (b >> 4) * 10 + (b & 0x0F)


def _default_clock():
    if hasattr(time, "time_ns"):
        return time.time_ns()
    return int(time.time() * _NS)


class Ds3231Model(Device):
    def __init__(self, state_path=None, clock=None):
        self.state_path = state_path
        self._clock = clock or _default_clock
        self.reads = 0
        self.writes = 0
        self.temperature = 25.0
        self._reg = bytearray(_NREGS)
        self._snap = bytearray(7)
        self._ptr = 0
        self._first = False
        self._time_written = False
        self._seconds_written = False
        self._dirty = False
        self.battery = True
        if state_path and self._load():
            if not self.battery:
                self._power_on_reset()  # powered up again with no cell: all lost
                self._save()
        else:
            self._power_on_reset()
            self._save()

    # --- battery-backed state ---------------------------------------------------------------

    def _power_on_reset(self):
        for i in range(_NREGS):
            self._reg[i] = 0
        self._reg[_CONTROL] = 0x1C  # INTCN, RS2, RS1
        self._reg[_STATUS] = 0x88  # OSF, EN32kHz
        self._hour12 = False
        self._dow_delta = 2  # the day register reads 1 at 2000-01-01 (a Saturday)
        self._offset_ns = _Y2000 * _NS - self._clock()

    def _load(self):
        try:
            with open(self.state_path) as f:
                state = json.load(f)
            offset = int(state["offset_ns"])
            regs = state["regs"]
            if len(regs) != _NREGS:
                raise ValueError("register count")
            for i, v in enumerate(regs):
                self._reg[i] = v
        except (OSError, ValueError, KeyError, TypeError):
            return False  # no state, or unreadable: a first power-up
        self._offset_ns = offset
        self._hour12 = bool(state.get("hour12", False))
        self._dow_delta = int(state.get("dow_delta", 0))
        self.battery = bool(state.get("battery", True))
        self.temperature = float(state.get("temperature", 25.0))
        return True

    def _save(self):
        if not self.state_path:
            return
        state = {
            "offset_ns": self._offset_ns,
            "regs": list(self._reg),
            "hour12": self._hour12,
            "dow_delta": self._dow_delta,
            "battery": self.battery,
            "temperature": self.temperature,
        }
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(json.dumps(state))
        os.rename(tmp, self.state_path)

    # --- control API ----------------------------------------------------------------------

    def _now_ns(self):
        return self._clock() + self._offset_ns

    def unix(self):
        return self._now_ns() // _NS

    def unix_ns(self):
        return self._now_ns()

    def set_unix(self, t):
        if not (_Y2000 <= t < _Y2200):
            raise ValueError("DS3231 model: time outside 2000..2199")
        ns = t * _NS if isinstance(t, int) else int(t * _NS)
        self._offset_ns = ns - self._clock()
        self._save()

    def shift(self, seconds):
        ns = seconds * _NS if isinstance(seconds, int) else int(seconds * _NS)
        self._offset_ns += ns
        self._save()

    def pull_battery(self):
        self.battery = False
        self._power_on_reset()
        self._save()

    def insert_battery(self):
        self.battery = True
        self._save()

    def regs(self, addr, n):
        self._take_snapshot()
        return bytes(self._peek((addr + i) % _NREGS) for i in range(n))

    # --- time <-> registers -----------------------------------------------------------------

    def _take_snapshot(self):
        secs = self._now_ns() // _NS
        days, sod = divmod(secs - _Y2000, 86400)
        weekday = (days + 5) % 7  # 2000-01-01 was a Saturday; 0 = Monday
        year = 2000
        while True:
            n = 366 if _leap(year) else 365
            if days < n:
                break
            days -= n
            year += 1
        month = 1
        while days >= _month_days(year, month):
            days -= _month_days(year, month)
            month += 1
        hour, rest = divmod(sod, 3600)
        minute, second = divmod(rest, 60)
        s = self._snap
        s[0] = _bcd(second)
        s[1] = _bcd(minute)
        if self._hour12:
            h12 = hour % 12 or 12
            s[2] = 0x40 | (0x20 if hour >= 12 else 0) | _bcd(h12)
        else:
            s[2] = _bcd(hour)
        s[3] = (weekday + self._dow_delta) % 7 + 1
        s[4] = _bcd(days + 1)
        s[5] = (0x80 if year >= 2100 else 0) | _bcd(month)
        s[6] = _bcd(year % 100)

    def _commit_time(self):
        s = self._snap
        second = _unbcd(s[0] & 0x7F)
        minute = _unbcd(s[1] & 0x7F)
        self._hour12 = bool(s[2] & 0x40)
        if self._hour12:
            hour = _unbcd(s[2] & 0x1F) % 12 + (12 if s[2] & 0x20 else 0)
        else:
            hour = _unbcd(s[2] & 0x3F)
        day = _unbcd(s[4] & 0x3F)
        month = _unbcd(s[5] & 0x1F)
        year = 2000 + (100 if s[5] & 0x80 else 0) + _unbcd(s[6])
        # Days since 2000-01-01; out-of-range fields roll over like plain arithmetic.
        days = 0
        for y in range(2000, year):
            days += 366 if _leap(y) else 365
        for m in range(1, min(max(month, 1), 12)):
            days += _month_days(year, m)
        days += day - 1
        secs = _Y2000 + days * 86400 + hour * 3600 + minute * 60 + second
        if self._seconds_written:
            self._offset_ns = secs * _NS - self._clock()
        else:
            phase = self._now_ns() % _NS
            self._offset_ns = secs * _NS + phase - self._clock()
        weekday = (days + 5) % 7
        self._dow_delta = ((s[3] & 0x07) - 1 - weekday) % 7

    def _peek(self, addr):
        if addr < 7:
            return self._snap[addr]
        if addr == _TEMP or addr == _TEMP + 1:
            q = int(self.temperature * 4) & 0x3FF  # 10-bit two's complement, 0.25 C steps
            return (q >> 2) if addr == _TEMP else (q & 3) << 6
        return self._reg[addr]

    def _poke(self, addr, v):
        if addr < 7:
            self._snap[addr] = v
            self._time_written = True
            if addr == 0:
                self._seconds_written = True
        elif addr == _CONTROL:
            self._reg[addr] = v & ~_CONV  # a forced conversion completes at once here
        elif addr == _STATUS:
            old = self._reg[addr]
            # OSF, A2F and A1F can only be cleared; EN32kHz is writable; BSY is read-only.
            self._reg[addr] = (old & v & 0x83) | (v & 0x08)
        elif addr == _TEMP or addr == _TEMP + 1:
            return  # read-only
        else:
            self._reg[addr] = v
        self._dirty = True

    # --- bus side ---------------------------------------------------------------------------

    def i2c_start(self, read):
        self._take_snapshot()
        self._first = not read
        self._time_written = self._seconds_written = self._dirty = False
        if read:
            self.reads += 1
        else:
            self.writes += 1

    def i2c_write(self, data):
        for b in data:
            if self._first:
                self._ptr = b % _NREGS
                self._first = False
            else:
                self._poke(self._ptr, b)
                self._ptr = (self._ptr + 1) % _NREGS

    def i2c_read(self, buf):
        for i in range(len(buf)):
            buf[i] = self._peek(self._ptr)
            self._ptr = (self._ptr + 1) % _NREGS

    def i2c_stop(self):
        if self._time_written:
            self._commit_time()
        if self._time_written or self._dirty:
            self._save()
        self._time_written = self._seconds_written = self._dirty = False
