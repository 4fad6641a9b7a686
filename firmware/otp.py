"""The OTP core: base32 secrets, HOTP (RFC 4226) and TOTP (RFC 6238) with SHA1/SHA256/SHA512.

Public API (other firmware and outside checks rely on it):
  b32decode(text) -> bytes       lenient: lower case, spaces, hyphens, missing "=" padding
  Key(secret, algorithm="sha1", digits=6, period=30, steam=False)
      .hotp(counter) -> int      counter 0 .. 2**64-1
      .totp(unix_time) -> int    Unix seconds, 0 .. far beyond 2**32: an int, or a float
                                 below 2**24 (single-precision floats, as on an ESP32) or
                                 2**53 (double): beyond that a float cannot hold every second
      .totp_at(days, second_of_day) -> int   the same from ints, days 0 .. 2**30 - 1 (see
                                 below)
      .format(code) -> str       zero-padded to .digits (a Steam key: steam_text)
      .algorithm, .digits, .period
  counter(days, second_of_day, period) -> int   the TOTP time step, small-int arithmetic only
  elapsed(days, second_of_day, period) -> int   seconds since that step began (countdown bar)
  days_from_civil(year, month, day) -> int      days since 1970-01-01 (UTC date from an RTC)
  steam_text(value) -> str                      a Steam code's five characters
Bad arguments raise ValueError with a message that never contains the secret (totp_at() given
a float raises the viper core's TypeError "can't convert float to int").

Steam Guard. A Steam key (steam=True, digits 5) computes the same truncated 31-bit value as
HOTP but reduces it modulo 26**5 instead of 10**digits: that number holds all five characters
(each one base-26 digit of it, the least significant first: alphabet[v % 26], then v //= 26,
with Steam's alphabet 23456789BCDFGHJKMNPQRTVWXY), so codes stay small ints, travel and
compare as numbers, and cost nothing more than a decimal code. Only the display (ui.py) and
steam_text spell them out.

Speed and memory. A key keeps its HMAC inner/outer midstates (hmac_sha1.py, hmac_sha256.py,
hmac_sha512.py: viper, set up by hmac_fast.py): a code is two compressions over a
preallocated buffer and allocates nothing. hotp and totp_at are closures made with the key,
which look nothing up per code; totp_at hands (days, second_of_day) to the viper core, which
checks them and computes the step. So key.hotp(c), key.totp(t) and
key.totp_at(days, sod) work under micropython.heap_lock() while the counter (or t) is a small
int (below 2**30 on a 32-bit port: until the year 3000 at 30 s periods for counters).
Only a port without the viper emitter takes the slow path: hashlib for SHA1/SHA256 and the
pure-Python sha512.py, which allocate per code.

Float time. A single-precision float (ESP32) holds every whole second only below 2**24: today's
Unix time (about 1.8e9) in such a float is already rounded to a multiple of 128 s, and its
step can be another period's. key.totp() refuses a float at or beyond that limit (2**53 with
double precision) instead of returning a wrong code: pass an int, or use totp_at().

The 32-bit clock path. On an ESP32 small ints are 31-bit signed, so today's Unix time (about
1.8e9) is a heap-allocated big int and key.totp(unix) allocates. A clock that keeps time as
(days since 1970, second of day), both small ints, gets the time step without ever forming
the Unix time: with q, r = divmod(86400, period) and days = dp * period + dm,
  step = floor((days * 86400 + sod) / period)
       = days * q + dp * r + (dm * r + sod) // period
Every term is at most the step itself (a small int until the year 3000 at 30 s) except
dm * r + sod < period**2 + 86400, a small int for any period up to 32767 s. For the usual
periods (15, 30, 60: divisors of 86400) r is 0 and this is days * q + sod // period.
"""

import hashlib

from micropython import const

_DAY = const(86400)
_SHA1 = const(1)
_SHA256 = const(2)
_SHA512 = const(3)
_SMALL = const(0x3FFFFFFF)  # the largest small int on a 32-bit port (2**30 - 1)
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32 alphabet: index = value
_STEAM_DIGITS = const(5)
_STEAM_MOD = const(11881376)  # 26**5: five Steam characters

_NO_VIPER = False  # set on a port built without the viper emitter (tests set it too)


def _core(kind):
    # The viper core module for an algorithm, imported on first use; None without viper.
    if _NO_VIPER:
        return None
    try:
        if kind == _SHA1:
            import hmac_sha1 as core
        elif kind == _SHA256:
            import hmac_sha256 as core
        else:
            import hmac_sha512 as core
    except SyntaxError:  # no viper emitter: the slow path (hashlib, sha512.py)
        return None
    return core


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


def counter(days, second_of_day, period):
    """The TOTP time step of Unix time days * 86400 + second_of_day, using only small ints
    (see the module docstring)."""
    if days < 0 or not 0 <= second_of_day < _DAY or period < 1:
        raise ValueError("days must be >= 0, second_of_day in 0..86399 and period >= 1")
    r = _DAY % period
    if r == 0:  # the usual periods (15, 30, 60 s) divide a day
        return days * (_DAY // period) + second_of_day // period
    dp = days // period
    return days * (_DAY // period) + dp * r + ((days - dp * period) * r + second_of_day) // period


def elapsed(days, second_of_day, period):
    """Seconds since the TOTP time step containing days * 86400 + second_of_day began."""
    if days < 0 or not 0 <= second_of_day < _DAY or period < 1:
        raise ValueError("days must be >= 0, second_of_day in 0..86399 and period >= 1")
    return ((days % period) * (_DAY % period) + second_of_day) % period


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


class Key:
    """One OTP secret with its parameters. Holds derived HMAC state, never the raw secret,
    and shows neither in its repr."""

    def __init__(self, secret, algorithm="sha1", digits=6, period=30, steam=False):
        if not isinstance(secret, (bytes, bytearray)):
            raise ValueError("secret must be bytes")
        if not secret:
            raise ValueError("secret is empty")
        name = algorithm.lower() if isinstance(algorithm, str) else None
        kind = {"sha1": _SHA1, "sha256": _SHA256, "sha512": _SHA512}.get(name)
        if kind is None:
            raise ValueError("algorithm must be sha1, sha256 or sha512")
        if steam:
            if not isinstance(digits, int) or isinstance(digits, bool) or digits != _STEAM_DIGITS:
                raise ValueError("digits of a Steam code must be 5")
        elif not isinstance(digits, int) or isinstance(digits, bool) or digits not in (6, 7, 8):
            raise ValueError("digits must be 6, 7 or 8")
        if isinstance(period, float) and period == int(period):
            period = int(period)
        if not isinstance(period, int) or isinstance(period, bool) or period < 1:
            raise ValueError("period must be a positive whole number of seconds")
        self.algorithm = name
        self.digits = digits
        self.period = period
        # A Steam key is known by its modulus (no attribute more: the hot path's attribute
        # lookups stay as they were).
        self._mod = _STEAM_MOD if steam else 10**digits
        self._kind = kind
        core = _core(kind)
        if core is not None:
            import hmac_fast

            self._st = hmac_fast.new(core, secret, self._mod)
            self._bind(core.run)
            return
        self._st = None
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

            self._inner = sha512.midstate(ipad)
            self._outer = sha512.midstate(opad)
        else:
            self._inner = bytes(ipad)
            self._outer = bytes(opad)
        self._bind(self._slow_run)

    def _bind(self, run):
        # The per-code entry points, as closures over what they need (_entry_points_maker):
        # instance attributes, so key.hotp(c) and key.totp_at(d, s) reach them without a
        # lookup in the class.
        period = self.period
        q = 0 if self._st is None or _DAY % period else _DAY // period
        self.hotp, self.totp_at = _entry_points(run, self._st, q)
        if not q:  # no viper core, or a period that does not divide a day
            self.totp_at = _any_period(self.hotp, period)

    def __repr__(self):
        return "<Key %s %d digits %d s>" % (self.algorithm, self.digits, self.period)

    def totp(self, unix_time):
        """TOTP code for the period containing unix_time (Unix seconds: an int, or a float
        small enough to hold whole seconds; see the module docstring)."""
        # Two single-type isinstance() calls: a tuple of types would be built on every call.
        if isinstance(unix_time, int):
            if unix_time < 0:
                raise ValueError("unix_time must be a number >= 0")
            return self.hotp(unix_time // self.period)
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
        return self.hotp(int(unix_time) // self.period)

    def format(self, code):
        """The code as text, zero-padded to the key's digits (a Steam key: its characters)."""
        if not isinstance(code, int) or not 0 <= code < self._mod:
            raise ValueError("code out of range for %d digits" % self.digits)
        if self._mod == _STEAM_MOD:
            return steam_text(code)
        s = str(code)
        return "0" * (self.digits - len(s)) + s

    def _slow_run(self, _st, lo, hi, _q):
        # The slow path with the cores' run() arguments (see hmac_fast.py).
        return self._slow((hi << 32) + lo)

    def _slow(self, counter):
        # HMAC through hashlib (SHA1, SHA256) or sha512.py, for ports without viper.
        msg = counter.to_bytes(8, "big")
        if self._kind == _SHA512:
            import sha512

            mac = sha512.finish(self._outer, sha512.finish(self._inner, msg))
        else:
            new = hashlib.sha1 if self._kind == _SHA1 else hashlib.sha256
            h = new(self._inner)
            h.update(msg)
            inner = h.digest()
            h = new(self._outer)
            h.update(inner)
            mac = h.digest()
        return truncate(mac, self._mod)


def _entry_points_maker():
    # Makes each key's hotp() and totp_at(), bound once at key construction. The per-code path
    # does no global or attribute lookup: each is a dictionary probe through the VM's lookup
    # cache, which is indexed by bytecode address, so what they cost moved with memory layout
    # (RV32: a code varied from 14,900 to 16,400 instructions between builds). The builtins
    # are cells of this outer call, shared by every key; run, st and q are each key's own.
    # A closure call puts its cells and arguments in a 5-slot array on the C stack, or on the
    # heap when there are more: hotp() has 4 cells and 1 argument, totp_at() 3 and 2.
    isint = isinstance
    integer = int

    def make(run, st, q):
        def hotp(counter):
            """HOTP code for 0 <= counter < 2**64, as an int (see format())."""
            if not isint(counter, integer):
                raise ValueError("counter must be an integer in 0 .. 2**64-1")
            hi = counter >> 32
            if hi:  # only then: 0 << 32 is a big int on a 32-bit port
                if hi >> 32:  # negative (hi is -1 or less) or 2**64 or more
                    raise ValueError("counter must be an integer in 0 .. 2**64-1")
                counter -= hi << 32
            return run(st, counter, hi, 0)

        def totp_at(days, second_of_day):
            """TOTP code at days * 86400 + second_of_day without forming that big number: no
            heap allocation on any port (see the module docstring). Both must be ints."""
            # run() with q = 86400 // period checks both and computes the step itself:
            # comparisons and arithmetic cost a few instructions there, hundreds each here.
            if days <= _SMALL:  # a small int on every port, so run() gets it whole
                return run(st, days, second_of_day, q)
            raise ValueError("days must be 0 .. 2**30 - 1 and second_of_day 0 .. 86399")

        return hotp, totp_at

    return make


_entry_points = _entry_points_maker()


def _any_period(hotp, period):
    # totp_at() without a viper core or for a period that does not divide a day: counter()
    # computes the step (and raises for bad arguments).
    def totp_at(days, second_of_day):
        if days > _SMALL:  # the same domain as the viper path
            raise ValueError("days must be 0 .. 2**30 - 1 and second_of_day 0 .. 86399")
        return hotp(counter(days, second_of_day, period))

    return totp_at


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


def steam_text(value):
    """The five characters of a Steam code's value (0 .. 26**5 - 1), least significant first."""
    # Steam Guard's characters, index = value (a local: every module global makes the hot
    # path's lookups of builtins dearer, measured on RV32)
    alphabet = "23456789BCDFGHJKMNPQRTVWXY"
    out = ""
    for _ in range(_STEAM_DIGITS):
        out += alphabet[value % 26]
        value //= 26
    return out
