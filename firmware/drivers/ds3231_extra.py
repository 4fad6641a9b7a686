# The DS3231 driver's methods an idle token never calls: setting the time, the calendar reads,
# the oscillator flag's reset, the aging trim and the temperature. Each is a function of the
# driver (`rtc`), reached as a method of drivers.ds3231.DS3231 (rtc.set_time(t) calls
# set_time(rtc, t) here), whose header documents them. Loaded only for such a call.

from micropython import const

from drivers.ds3231 import days_from_civil

_REG_TIME = const(0x00)
_REG_CONTROL = const(0x0E)
_REG_STATUS = const(0x0F)
_REG_AGING = const(0x10)
_REG_TEMP = const(0x11)
_OSF = const(0x80)
_BSY = const(0x04)
_CONV = const(0x20)
_MIN_DAYS = const(10957)  # 2000-01-01 in days since 1970
_MAX_DAYS = const(47481)  # 2099-12-31


def _civil_from_days(days):
    # (year, month, day) of a day number counted from 1970-01-01 (days >= -719468).
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


def _bcd(v):
    return ((v // 10) << 4) | (v % 10)


def _write(rtc, reg, buf):
    try:
        rtc.i2c.writeto_mem(rtc.addr, reg, buf)
    except OSError as e:
        raise OSError(e.errno, "DS3231 at 0x%02x: I2C write failed" % rtc.addr) from None


def _read_byte(rtc, reg):
    rtc.read(reg, rtc._one)
    return rtc._one[0]


def _write_byte(rtc, reg, value):
    rtc._one[0] = value
    _write(rtc, reg, rtc._one)


def time(rtc):
    days, second = rtc.days_seconds()
    return days * 86400 + second


def datetime(rtc):
    days = rtc.days_seconds()[0]
    y, mo, d, h, mi, s = rtc._fields
    return y, mo, d, h, mi, s, (days + 3) % 7


def _write_fields(rtc, days, second):
    y, mo, d = _civil_from_days(days)
    b = rtc._buf
    b[0] = _bcd(second % 60)
    b[1] = _bcd(second // 60 % 60)
    b[2] = _bcd(second // 3600)  # bit 6 clear: 24-hour mode
    b[3] = (days + 3) % 7 + 1  # day register 1..7, Monday = 1
    b[4] = _bcd(d)
    b[5] = _bcd(mo)  # century bit clear: 2000-2099
    b[6] = _bcd(y - 2000)
    _write(rtc, _REG_TIME, b)


def set_time(rtc, unix_seconds):
    if not isinstance(unix_seconds, int):
        raise ValueError("DS3231: time must be an int of Unix seconds")
    # // and % rather than divmod(): on 32-bit ports divmod of a big int gives big-int
    # objects even for small results.
    days = unix_seconds // 86400
    second = unix_seconds % 86400
    if not _MIN_DAYS <= days <= _MAX_DAYS:
        raise ValueError("DS3231: time outside 2000-01-01..2099-12-31")
    _write_fields(rtc, days, second)


def set_datetime(rtc, dt):
    if len(dt) < 6:
        raise ValueError("DS3231: need (year, month, day, hour, minute, second)")
    y, mo, d, h, mi, s = dt[0], dt[1], dt[2], dt[3], dt[4], dt[5]
    days = days_from_civil(y, mo, d) if 2000 <= y <= 2099 and 1 <= mo <= 12 else 0
    if not days or _civil_from_days(days) != (y, mo, d):  # a day the month does not have
        raise ValueError("DS3231: date outside 2000-01-01..2099-12-31")
    if not 0 <= h <= 23 or not 0 <= mi <= 59 or not 0 <= s <= 59:
        raise ValueError("DS3231: bad time of day")
    _write_fields(rtc, days, h * 3600 + mi * 60 + s)


def clear_oscillator_stop(rtc):
    # Writing 1 to the alarm flags leaves them as they are; only OSF is cleared.
    _write_byte(rtc, _REG_STATUS, _read_byte(rtc, _REG_STATUS) & ~_OSF & 0xFF)


def aging(rtc):
    v = _read_byte(rtc, _REG_AGING)
    return v - 256 if v & 0x80 else v


def set_aging(rtc, offset):
    if not -128 <= offset <= 127:
        raise ValueError("DS3231: aging offset must be -128..127")
    _write_byte(rtc, _REG_AGING, offset & 0xFF)
    # A conversion applies the new offset now instead of at the next 64 s cycle.
    if not _read_byte(rtc, _REG_STATUS) & _BSY:
        _write_byte(rtc, _REG_CONTROL, _read_byte(rtc, _REG_CONTROL) | _CONV)


def temperature(rtc):
    b = bytearray(2)
    rtc.read(_REG_TEMP, b)
    raw = (b[0] << 2) | (b[1] >> 6)  # 10-bit two's complement, quarter degrees
    if raw & 0x200:
        raw -= 0x400
    return raw / 4
