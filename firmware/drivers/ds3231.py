# DS3231 real-time clock driver (I2C), UTC only.
#
# DS3231(i2c, addr=0x68); `i2c` is any object with the machine.I2C methods
# (readfrom_mem_into, writeto_mem). Constructing it does not touch the bus.
#
#   time() -> int                 UTC Unix seconds (a big int on 32-bit ports from 2004 on)
#   days_seconds() -> (days, s)   days since 1970-01-01 and second of the day: small ints
#   set_time(unix_seconds)        2000-01-01 .. 2099-12-31, written in 24-hour mode
#   datetime() -> (year, month, day, hour, minute, second, weekday)   weekday 0 = Monday
#   set_datetime((year, month, day, hour, minute, second[, ...]))     weekday computed
#   oscillator_stopped() -> bool  the OSF flag: the time cannot be trusted while it is set
#   clear_oscillator_stop()
#   aging() -> int, set_aging(-128..127)   crystal trim, about 0.1 ppm per step; positive
#                                 slows the clock; set_aging() starts a conversion so it
#                                 takes effect at once
#   temperature() -> float        degrees C, 0.25 steps
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
_REG_CONTROL = const(0x0E)
_REG_STATUS = const(0x0F)
_REG_AGING = const(0x10)
_REG_TEMP = const(0x11)
_OSF = const(0x80)
_BSY = const(0x04)
_CONV = const(0x20)
_CENTURY = const(0x80)
_HOUR_12 = const(0x40)
_HOUR_PM = const(0x20)
_EIO = const(5)
_MIN_DAYS = const(10957)  # 2000-01-01 in days since 1970
_MAX_DAYS = const(47481)  # 2099-12-31


def days_from_civil(year, month, day):
    """Days since 1970-01-01 of a Gregorian date (year >= 0)."""
    if month <= 2:
        year -= 1
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days):
    """(year, month, day) of a day number counted from 1970-01-01 (days >= -719468)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def _month_days(year, month):
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _bcd(v):
    return ((v // 10) << 4) | (v % 10)


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
        self._two = bytearray(2)
        self._fields = [0] * 6

    # --- bus ------------------------------------------------------------------------------

    def _error(self, errno, what):
        return OSError(errno, "DS3231 at 0x%02x: %s" % (self.addr, what))

    def _read(self, reg, buf):
        try:
            self.i2c.readfrom_mem_into(self.addr, reg, buf)
        except OSError as e:
            raise self._error(e.errno, "I2C read failed") from None

    def _write(self, reg, buf):
        try:
            self.i2c.writeto_mem(self.addr, reg, buf)
        except OSError as e:
            raise self._error(e.errno, "I2C write failed") from None

    def _read_byte(self, reg):
        self._read(reg, self._one)
        return self._one[0]

    def _write_byte(self, reg, value):
        self._one[0] = value
        self._write(reg, self._one)

    # --- time -----------------------------------------------------------------------------

    def _read_fields(self):
        # Decodes into self._fields (year, month, day, hour, minute, second): no allocation.
        # One transaction: the chip latches all seven registers at START, so they agree.
        b = self._buf
        self._read(_REG_TIME, b)
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
        if (
            not 0 <= second <= 59
            or not 0 <= minute <= 59
            or not 0 <= hour <= 23
            or not 1 <= month <= 12
            or year < 0
        ):
            raise self._error(_EIO, "invalid time registers")
        year += 2100 if b[5] & _CENTURY else 2000
        if not 1 <= day <= _month_days(year, month):
            raise self._error(_EIO, "invalid time registers")
        f = self._fields
        f[0] = year
        f[1] = month
        f[2] = day
        f[3] = hour
        f[4] = minute
        f[5] = second

    def days_seconds(self):
        self._read_fields()
        f = self._fields
        return days_from_civil(f[0], f[1], f[2]), f[3] * 3600 + f[4] * 60 + f[5]

    def time(self):
        days, second = self.days_seconds()
        return days * 86400 + second

    def datetime(self):
        self._read_fields()
        y, mo, d, h, mi, s = self._fields
        return y, mo, d, h, mi, s, (days_from_civil(y, mo, d) + 3) % 7

    def _write_fields(self, days, second):
        y, mo, d = civil_from_days(days)
        b = self._buf
        b[0] = _bcd(second % 60)
        b[1] = _bcd(second // 60 % 60)
        b[2] = _bcd(second // 3600)  # bit 6 clear: 24-hour mode
        b[3] = (days + 3) % 7 + 1  # day register 1..7, Monday = 1
        b[4] = _bcd(d)
        b[5] = _bcd(mo)  # century bit clear: 2000-2099
        b[6] = _bcd(y - 2000)
        self._write(_REG_TIME, b)

    def set_time(self, unix_seconds):
        if not isinstance(unix_seconds, int):
            raise ValueError("DS3231: time must be an int of Unix seconds")
        # // and % rather than divmod(): on 32-bit ports divmod of a big int gives big-int
        # objects even for small results.
        days = unix_seconds // 86400
        second = unix_seconds % 86400
        if not _MIN_DAYS <= days <= _MAX_DAYS:
            raise ValueError("DS3231: time outside 2000-01-01..2099-12-31")
        self._write_fields(days, second)

    def set_datetime(self, dt):
        if len(dt) < 6:
            raise ValueError("DS3231: need (year, month, day, hour, minute, second)")
        y, mo, d, h, mi, s = dt[0], dt[1], dt[2], dt[3], dt[4], dt[5]
        if not 2000 <= y <= 2099 or not 1 <= mo <= 12 or not 1 <= d <= _month_days(y, mo):
            raise ValueError("DS3231: date outside 2000-01-01..2099-12-31")
        if not 0 <= h <= 23 or not 0 <= mi <= 59 or not 0 <= s <= 59:
            raise ValueError("DS3231: bad time of day")
        self._write_fields(days_from_civil(y, mo, d), h * 3600 + mi * 60 + s)

    # --- status, trim, temperature ------------------------------------------------------------

    def oscillator_stopped(self):
        return bool(self._read_byte(_REG_STATUS) & _OSF)

    def clear_oscillator_stop(self):
        # Writing 1 to the alarm flags leaves them as they are; only OSF is cleared.
        self._write_byte(_REG_STATUS, self._read_byte(_REG_STATUS) & ~_OSF & 0xFF)

    def aging(self):
        v = self._read_byte(_REG_AGING)
        return v - 256 if v & 0x80 else v

    def set_aging(self, offset):
        if not -128 <= offset <= 127:
            raise ValueError("DS3231: aging offset must be -128..127")
        self._write_byte(_REG_AGING, offset & 0xFF)
        # A conversion applies the new offset now instead of at the next 64 s cycle.
        if not self._read_byte(_REG_STATUS) & _BSY:
            self._write_byte(_REG_CONTROL, self._read_byte(_REG_CONTROL) | _CONV)

    def temperature(self):
        b = self._two
        self._read(_REG_TEMP, b)
        raw = (b[0] << 2) | (b[1] >> 6)  # 10-bit two's complement, quarter degrees
        if raw & 0x200:
            raw -= 0x400
        return raw / 4
