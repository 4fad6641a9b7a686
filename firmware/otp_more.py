# The OTP core's rarely used half (see otp.py's docstring, "Memory"): what an ESP32 token with
# the usual periods never runs. Each function is reached through otp.py as before:
# otp.b32decode, otp.days_from_civil, otp.steam_text, otp.truncate, Key.format; the slow path
# (ports without viper), totp_at() for periods that do not divide a day, and the messages for
# bad Key arguments are used by otp.Key itself.

import hashlib

from micropython import const

_SMALL = const(0x3FFFFFFF)  # the largest small int on a 32-bit port (2**30 - 1)
_SHA1 = const(1)
_SHA512 = const(3)
_STEAM_DIGITS = const(5)
_STEAM_MOD = const(11881376)  # 26**5: five Steam characters
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32 alphabet: index = value


def b32decode(text):
    """Decode an RFC 4648 base32 secret the way users paste it: any case, spaces, hyphens,
    missing "=" padding. Raises ValueError saying what is wrong, never echoing the text."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode()
    if not isinstance(text, str):
        raise ValueError("base32 secret must be text")
    out = bytearray()
    acc = 0  # pending bits, fewer than 8 after each step: always a small int
    bits = 0
    n = 0  # base32 characters seen
    pad = 0  # "=" characters seen
    find = _B32.find
    for pos, ch in enumerate(text.upper()):  # upper() keeps every position
        v = find(ch)
        if v < 0:
            if ch in " \t\r\n-":
                continue
            if ch == "=":
                pad += 1
                continue
            raise ValueError("invalid base32 character at position %d" % pos)
        if pad:
            raise ValueError("base32 padding '=' before the end, at position %d" % pos)
        acc = (acc << 5) | v
        bits += 5
        n += 1
        if bits >= 8:
            bits -= 8
            out.append(acc >> bits)
            acc &= (1 << bits) - 1
    if n == 0:
        raise ValueError("base32 secret is empty")
    if n % 8 in (1, 3, 6):
        raise ValueError("impossible base32 length: %d characters" % n)
    if pad and (n + pad) % 8:
        raise ValueError("wrong amount of base32 padding")
    return bytes(out)


def days_from_civil(year, month, day):
    """Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm), small ints
    only: a clock reading Y-M-D h:m:s from an RTC gets (days, h * 3600 + m * 60 + s)."""
    if not (1970 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError("date out of range")
    if month <= 2:
        year -= 1
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def steam_text(value):
    """The five characters of a Steam code's value (0 .. 26**5 - 1), least significant first."""
    alphabet = "23456789BCDFGHJKMNPQRTVWXY"  # Steam Guard's characters, index = value
    out = ""
    for _ in range(_STEAM_DIGITS):
        out += alphabet[value % 26]
        value //= 26
    return out


def format_code(key, code):
    # Key.format(code): zero-padded to key.digits; a Steam key's characters.
    if not isinstance(code, int) or not 0 <= code < key._mod:
        raise ValueError("code out of range for %d digits" % key.digits)
    if key._mod == _STEAM_MOD:
        return steam_text(code)
    s = str(code)
    return "0" * (key.digits - len(s)) + s


def float_step(unix_time, period):
    """Key.totp() given anything but an int: the step of a float Unix time, or ValueError."""
    if not isinstance(unix_time, float) or not unix_time >= 0:  # NaN fails too
        raise ValueError("unix_time must be a number >= 0")
    # 2**24 + 1 rounds to 2**24 in a single-precision float: then floats are exact to the
    # second only below 2**24, else (double precision) below 2**53. Infinity is beyond too.
    limit = 16777216.0 if float(16777217) == 16777216.0 else 9007199254740992.0
    if unix_time >= limit:
        raise ValueError(
            "unix_time as a float must be below %d on this port (a float cannot hold every "
            "second beyond): pass an int" % int(limit)
        )
    return int(unix_time) // period


def key_error(secret, kind, digits, period, steam):
    # Raises the ValueError saying which of otp.Key's arguments is wrong (the first one, in
    # the order of the signature); never the secret itself.
    if not isinstance(secret, (bytes, bytearray)):
        raise ValueError("secret must be bytes")
    if not secret:
        raise ValueError("secret is empty")
    if not kind:
        raise ValueError("algorithm must be sha1, sha256 or sha512")
    if steam:
        if not isinstance(digits, int) or isinstance(digits, bool) or digits != _STEAM_DIGITS:
            raise ValueError("digits of a Steam code must be 5")
    elif not isinstance(digits, int) or isinstance(digits, bool) or digits not in (6, 7, 8):
        raise ValueError("digits must be 6, 7 or 8")
    raise ValueError("period must be a positive whole number of seconds")


def any_period(hotp, period):
    """totp_at() without a viper core or for a period that does not divide a day: counter()
    computes the step (and raises for bad arguments)."""
    from otp import counter

    def totp_at(days, second_of_day):
        if days > _SMALL:  # the same domain as the viper path
            raise ValueError("days must be 0 .. 2**30 - 1 and second_of_day 0 .. 86399")
        return hotp(counter(days, second_of_day, period))

    return totp_at


def slow_run(kind, secret, mod):
    """The slow path (no viper): a function with the cores' run() arguments (see
    hmac_fast.py) computing the HMAC through hashlib (SHA1, SHA256) or sha512.py, from the
    key's inner and outer pads (SHA512: their midstates) made here."""
    block = 128 if kind == _SHA512 else 64
    if len(secret) > block:  # RFC 2104: hash long keys first
        secret = _digest(kind, secret)
    ipad = bytearray(block)
    opad = bytearray(block)
    for i in range(block):
        b = secret[i] if i < len(secret) else 0
        ipad[i] = b ^ 0x36
        opad[i] = b ^ 0x5C
    if kind == _SHA512:
        import sha512

        inner = sha512.midstate(ipad)
        outer = sha512.midstate(opad)
    else:
        inner = bytes(ipad)
        outer = bytes(opad)
        new = hashlib.sha1 if kind == _SHA1 else hashlib.sha256

    def run(_st, lo, hi, _q):
        msg = ((hi << 32) + lo).to_bytes(8, "big")
        if kind == _SHA512:
            import sha512

            mac = sha512.finish(outer, sha512.finish(inner, msg))
        else:
            h = new(inner)
            h.update(msg)
            digest = h.digest()
            h = new(outer)
            h.update(digest)
            mac = h.digest()
        return truncate(mac, mod)

    return run


def truncate(mac, mod):
    """RFC 4226 dynamic truncation of an HMAC value, reduced mod `mod`."""
    o = mac[-1] & 15
    return (int.from_bytes(mac[o : o + 4], "big") & 0x7FFFFFFF) % mod


def _digest(kind, data):
    if kind == _SHA512:
        import sha512

        return sha512.digest(data)
    h = hashlib.sha1(data) if kind == _SHA1 else hashlib.sha256(data)
    return h.digest()
