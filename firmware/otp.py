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
preallocated buffer and allocates nothing. hotp, totp and totp_at are closures made with the
key, which look nothing up per code; totp_at hands (days, second_of_day) to the viper core, which
checks them and computes the step. So key.hotp(c), key.totp(t) and
key.totp_at(days, sod) work under micropython.heap_lock() while the counter (or t) is a small
int (below 2**30 on a 32-bit port: until the year 3000 at 30 s periods for counters).
Only a port without the viper emitter takes the slow path: hashlib for SHA1/SHA256 and the
pure-Python sha512.py, which allocate per code.

Memory. This module holds what an idle token runs: computing codes. Building a key (on
showing an account) is hmac_fast.init_key, which the app drops once the shown key is built.
The rest (b32decode, days_from_civil, steam_text, truncate, Key.format, the slow path, float
times, the code for periods that do not divide a day, and the messages saying which argument
is wrong) is otp_more.py, loaded on first use: an ESP32 token with the usual periods never
loads it. Its functions are reached here as ever (otp.b32decode, key.format).

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

from micropython import const

_DAY = const(86400)
_SMALL = const(0x3FFFFFFF)  # the largest small int on a 32-bit port (2**30 - 1)

_NO_VIPER = False  # set on a port built without the viper emitter (tests set it too)


def __getattr__(name):
    # otp.b32decode, otp.days_from_civil, otp.steam_text, otp.truncate: in otp_more.py.
    import otp_more

    return getattr(otp_more, name)


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


class Key:
    """One OTP secret with its parameters. Holds derived HMAC state, never the raw secret,
    and shows neither in its repr."""

    def __init__(self, secret, algorithm="sha1", digits=6, period=30, steam=False):
        # The setup runs once per key (when an account is shown): its code is in hmac_fast.py,
        # which the app drops once the shown key is built.
        import hmac_fast

        hmac_fast.init_key(self, secret, algorithm, digits, period, steam)

    def __repr__(self):
        return "<Key %s %d digits %d s>" % (self.algorithm, self.digits, self.period)

    def format(self, code):
        """The code as text, zero-padded to the key's digits (a Steam key: its characters)."""
        import otp_more

        return otp_more.format_code(self, code)


def _entry_points_maker():
    # Makes each key's hotp(), totp() and totp_at(), bound once at key construction. The
    # per-code path does no global or attribute lookup: each is a dictionary probe through the
    # VM's lookup cache, which is indexed by bytecode address, so what they cost moved with
    # memory layout (RV32: a code varied from 14,900 to 16,400 instructions between builds).
    # The builtins are cells of this outer call, shared by every key; run, st, q and period
    # are each key's own.
    # A closure call puts its cells and arguments in a 5-slot array on the C stack, or on the
    # heap when there are more: hotp() and totp() have 4 cells and 1 argument, totp_at() 3
    # and 2. totp() takes a float to otp_more.py (not on a token's path: its clock gives ints).
    isint = isinstance
    integer = int

    def make(run, st, q, period):
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

        def totp(unix_time):
            """TOTP code for the period containing unix_time (Unix seconds: an int, or a float
            small enough to hold whole seconds; see the module docstring)."""
            if isint(unix_time, integer):
                if unix_time < 0:
                    raise ValueError("unix_time must be a number >= 0")
                return hotp(unix_time // period)
            import otp_more

            return hotp(otp_more.float_step(unix_time, period))

        def totp_at(days, second_of_day):
            """TOTP code at days * 86400 + second_of_day without forming that big number: no
            heap allocation on any port (see the module docstring). Both must be ints."""
            # run() with q = 86400 // period checks both and computes the step itself:
            # comparisons and arithmetic cost a few instructions there, hundreds each here.
            if days <= _SMALL:  # a small int on every port, so run() gets it whole
                return run(st, days, second_of_day, q)
            raise ValueError("days must be 0 .. 2**30 - 1 and second_of_day 0 .. 86399")

        return hotp, totp, totp_at

    return make


_entry_points = _entry_points_maker()
del _entry_points_maker  # run once: its own code is freed (make() lives on in _entry_points)
