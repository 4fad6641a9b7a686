"""CPython reference for HOTP (RFC 4226), TOTP (RFC 6238) and Steam Guard codes, built on the
standard library's hmac/hashlib only, plus the RFC test vectors as data and a random vector
generator.

Steam Guard codes are TOTP (SHA1, 30 s) written with 5 characters of STEAM_ALPHABET instead of
decimal digits. As everywhere in this project (docs/protocol.md), digits 5 means that form: the
code as a number is the truncated 31-bit value modulo 26**5, and `format_code` spells it.

The firmware core (firmware/otp.py) is checked against this module by the host tests and by
`host_tools verify`; nothing here imports firmware code.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
from dataclasses import dataclass, field

from host_tools.errors import InvalidInputError

log = logging.getLogger(__name__)

ALGORITHMS: tuple[str, ...] = ("sha1", "sha256", "sha512")
DIGITS: tuple[int, ...] = (6, 7, 8)
MAX_COUNTER = 2**64 - 1
STEAM_DIGITS = 5  # digits 5: a Steam code (never a decimal one)
STEAM_PERIOD = 30
STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"
STEAM_MODULUS = len(STEAM_ALPHABET) ** STEAM_DIGITS  # 26**5: the five characters' worth

# RFC 4226 Appendix D: HOTP values (6 digits, SHA1) of this secret for counters 0-9.
RFC4226_SECRET = b"12345678901234567890"
RFC4226_HOTP: tuple[int, ...] = (
    755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
)  # fmt: skip

# RFC 6238 Appendix B: TOTP, 8 digits, 30 s period. The table was computed with a seed of the
# hash's output size for each mode (RFC erratum: the text says the 20-byte seed for all).
RFC6238_SEEDS: dict[str, bytes] = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890" * 6 + b"1234",
}
RFC6238_TIMES: tuple[int, ...] = (59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000)
RFC6238_TOTP: dict[str, tuple[str, ...]] = {
    "sha1": ("94287082", "07081804", "14050471", "89005924", "69279037", "65353130"),
    "sha256": ("46119246", "68084774", "67062674", "91819424", "90698825", "77737706"),
    "sha512": ("90693936", "25091201", "99943326", "93441116", "38618901", "47863826"),
}


def _check(algorithm: str, digits: int) -> None:
    if algorithm not in ALGORITHMS:
        raise InvalidInputError(f"algorithm must be one of {', '.join(ALGORITHMS)}")
    if digits not in DIGITS and digits != STEAM_DIGITS:
        raise InvalidInputError("digits must be 6, 7 or 8 (or 5: a Steam code)")


def modulus(digits: int) -> int:
    """What the truncated value is reduced by: 10**digits, or 26**5 for a Steam code."""
    return STEAM_MODULUS if digits == STEAM_DIGITS else 10**digits


def hotp(secret: bytes, counter: int, algorithm: str = "sha1", digits: int = 6) -> int:
    """HOTP value of `secret` at `counter` (0 .. 2**64-1), as an int (digits 5: the Steam
    code's value, see format_code)."""
    _check(algorithm, digits)
    if not 0 <= counter <= MAX_COUNTER:
        raise InvalidInputError("counter must be in 0 .. 2**64-1")
    mac = hmac.new(secret, counter.to_bytes(8, "big"), getattr(hashlib, algorithm)).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return value % modulus(digits)


def totp(
    secret: bytes, unix_time: int, algorithm: str = "sha1", digits: int = 6, period: int = 30
) -> int:
    """TOTP value for the period containing `unix_time` (Unix seconds, T0 = 0)."""
    if period < 1:
        raise InvalidInputError("period must be a positive number of seconds")
    if unix_time < 0:
        raise InvalidInputError("unix_time must be >= 0")
    return hotp(secret, int(unix_time) // period, algorithm, digits)


def steam_text(value: int) -> str:
    """A Steam code's five characters from its value, the least significant first."""
    chars = []
    for _ in range(STEAM_DIGITS):
        value, i = divmod(value, len(STEAM_ALPHABET))
        chars.append(STEAM_ALPHABET[i])
    return "".join(chars)


def format_code(code: int, digits: int) -> str:
    """A code as the token shows it: zero-padded to `digits`; digits 5 is a Steam code."""
    if digits == STEAM_DIGITS:
        return steam_text(code)
    return f"{code:0{digits}d}"


def steam(secret: bytes, unix_time: int) -> str:
    """The Steam Guard code at `unix_time`, as the Steam app shows it."""
    return format_code(totp(secret, unix_time, "sha1", STEAM_DIGITS, STEAM_PERIOD), STEAM_DIGITS)


@dataclass(frozen=True)
class Vector:
    """One TOTP test vector. The secret is kept out of repr so test output never shows it."""

    secret: bytes = field(repr=False)
    algorithm: str
    digits: int
    period: int
    unix_time: int
    code: int

    @property
    def counter(self) -> int:
        return self.unix_time // self.period

    @property
    def text(self) -> str:
        return format_code(self.code, self.digits)


PERIODS: tuple[int, ...] = (15, 30, 60)
# Times worth hitting on purpose: the epoch, 31/32-bit boundaries, RFC 6238's far time.
EDGE_TIMES: tuple[int, ...] = (0, 1, 2**30 - 1, 2**30, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
                               20000000000)  # fmt: skip


def _random_time(rng: random.Random) -> int:
    pick = rng.random()
    if pick < 0.05:
        return rng.choice(EDGE_TIMES)
    if pick < 0.4:
        return rng.randrange(1_500_000_000, 2_200_000_000)  # the years a token lives in
    if pick < 0.7:
        return rng.randrange(0, 2**32)
    return rng.randrange(2**32, 2**35)  # beyond 32 bits (up to the year 3058)


def random_vectors(count: int, rng: random.Random) -> list[Vector]:
    """`count` TOTP vectors with random secrets (1-100 bytes), algorithms, digits (6-8),
    periods (15/30/60 s) and times (0 to beyond 2**32), computed with hmac/hashlib."""
    vectors = []
    for _ in range(count):
        secret = rng.randbytes(rng.randint(1, 100))
        algorithm = rng.choice(ALGORITHMS)
        digits = rng.choice(DIGITS)
        period = rng.choice(PERIODS)
        unix_time = _random_time(rng)
        code = totp(secret, unix_time, algorithm, digits, period)
        vectors.append(Vector(secret, algorithm, digits, period, unix_time, code))
    log.debug("made %d random vectors", count)
    return vectors


def random_steam_vectors(count: int, rng: random.Random) -> list[Vector]:
    """`count` Steam vectors (SHA1, 30 s, digits 5) with random secrets and times."""
    vectors = []
    for _ in range(count):
        secret = rng.randbytes(rng.randint(1, 100))
        unix_time = _random_time(rng)
        code = totp(secret, unix_time, "sha1", STEAM_DIGITS, STEAM_PERIOD)
        vectors.append(Vector(secret, "sha1", STEAM_DIGITS, STEAM_PERIOD, unix_time, code))
    return vectors
