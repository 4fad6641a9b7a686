# DS3231 real-time clock driver (I2C), UTC only.
#
# DS3231(i2c, addr=0x68); `i2c` is any object with the machine.I2C methods
# (readfrom_mem_into, writeto_mem). Constructing it does not touch the bus.
#
#   days_seconds() -> (days, s)   days since 1970-01-01 and second of the day: small ints
#   oscillator_stopped() -> bool  the OSF flag: the time cannot be trusted while it is set
#   read(reg, buf)                registers from reg on into buf (what ds3231_extra.py uses)
# and, in drivers/ds3231_extra.py (see "Memory" below):
#   time() -> int                 UTC Unix seconds (a big int on 32-bit ports from 2004 on)
#   set_time(unix_seconds)        2000-01-01 .. 2099-12-31, written in 24-hour mode
#   datetime() -> (year, month, day, hour, minute, second, weekday)   weekday 0 = Monday
#   set_datetime((year, month, day, hour, minute, second[, ...]))     weekday computed
#   clear_oscillator_stop()
#   aging() -> int, set_aging(-128..127)   crystal trim, about 0.1 ppm per step; positive
#                                 slows the clock; set_aging() starts a conversion so it
#                                 takes effect at once
#   temperature() -> float        degrees C, 0.25 steps
#
# Memory. An idle token only reads the time and the oscillator flag (days_seconds() and
# oscillator_stopped(), every few seconds): that is all this module holds. Everything else is
# in ds3231_extra.py, reached through the same methods (rtc.set_time(...)): __getattr__
# loads that module for the lookup and drops it again at once (drivers.extra()), so its code
# is on the heap only while the function it returned is held. A caller that must act at an
# exact moment (the clock writing the time at a second edge) looks the method up before
# waiting.
#
# The calendar arithmetic is done here (days from 1970-01-01, Gregorian), not with
# time.mktime/localtime, which follow TZ on the unix port and use another epoch on bare metal.
# The chip counts years 00-99 and flips the century bit when 99 rolls over, so times from
# 2100 on read back with the century bit set; the chip's own leap-year rule only holds up to
# 2099, so set_time refuses later times. A clock left in 12-hour mode is read correctly.
# Writing the seconds register restarts the chip's sub-second countdown: set_time() at a
# second edge sets the phase too.
#
# Bus errors raise OSError(errno, "DS3231 at 0x68: ..."); registers holding an impossible time
# raise OSError(EIO); bad arguments raise ValueError.

from micropython import const

_REG_TIME = const(0x00)
_REG_STATUS = const(0x0F)
_OSF = const(0x80)
_CENTURY = const(0x80)
_HOUR_12 = const(0x40)
_HOUR_PM = const(0x20)
_EIO = const(5)


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a Gregorian date (year >= 0)."""
    if month <= 2:
        year -= 1
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _unbcd(b):
    lo = b & 0x0F
    hi = b >> 4
    if lo > 9 or hi > 9:
        return -1
    return hi * 10 + lo


class DS3231:
    def __init__(self, i2c, addr=0x68):
        self.i2c = i2c
        self.addr = addr
        self._buf = bytearray(7)
        self._one = bytearray(1)
        # The last days_seconds() read as year, month, day, hour, minute, second.
        self._fields = [0] * 6

    def __getattr__(self, name):
        # The rest of the driver, in ds3231_extra.py (see the header and drivers.extra()).
        import drivers

        return drivers.extra(self, "ds3231_extra", name)

    def read(self, reg, buf):
        try:
            self.i2c.readfrom_mem_into(self.addr, reg, buf)
        except OSError as e:
            raise OSError(e.errno, "DS3231 at 0x%02x: I2C read failed" % self.addr) from None

    def days_seconds(self):
        # One transaction: the chip latches all seven registers at START, so they agree.
        # Decoded into self._fields (no allocation but the returned tuple).
        b = self._buf
        self.read(_REG_TIME, b)
        second = _unbcd(b[0] & 0x7F)
        minute = _unbcd(b[1] & 0x7F)
        h = b[2]
        if h & _HOUR_12:
            hour = _unbcd(h & 0x1F)
            if not 1 <= hour <= 12:
                hour = -1
            else:
                hour = hour % 12 + (12 if h & _HOUR_PM else 0)
        else:
            hour = _unbcd(h & 0x3F)
        day = _unbcd(b[4] & 0x3F)
        month = _unbcd(b[5] & 0x1F)
        year = _unbcd(b[6])
        last = 0  # the month's last day; 0 for no month
        if 1 <= month <= 12 and year >= 0:
            year += 2100 if b[5] & _CENTURY else 2000
            last = b"\x1f\x1c\x1f\x1e\x1f\x1e\x1f\x1f\x1e\x1f\x1e\x1f"[month - 1]
            if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
                last = 29
        if not (0 <= second <= 59 and 0 <= minute <= 59 and 0 <= hour <= 23 and 1 <= day <= last):
            raise OSError(_EIO, "DS3231 at 0x%02x: invalid time registers" % self.addr)
        f = self._fields
        f[0] = year
        f[1] = month
        f[2] = day
        f[3] = hour
        f[4] = minute
        f[5] = second
        return days_from_civil(year, month, day), hour * 3600 + minute * 60 + second

    def oscillator_stopped(self):
        self.read(_REG_STATUS, self._one)
        return bool(self._one[0] & _OSF)
