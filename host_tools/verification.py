"""The verification workflow: the token's OTP core against CPython's hmac, vector by vector.

    report = run(session, count=1000, seed=7)     # RFC 4226/6238 vectors, published Steam
                                                  # codes, 1000 random ones (1 in 20 Steam)

Mismatches are described without the secret (its length and the seed find it again).
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from host_tools import reference
from host_tools.errors import VerificationError
from host_tools.reference import Vector
from host_tools.session import HotpVector, Session

# Published Steam Guard codes (KeePassXC's tests/TestTotp.cpp, testSteamTotp: made with the
# Steam mobile app and a throw-away account): base32 secret, Unix time, code.
STEAM_PUBLISHED: tuple[tuple[str, int, str], ...] = (
    ("63BEDWCQZKTQWPESARIERL5DTTQFCJTK", 1511200518, "FR8RV"),
    ("63BEDWCQZKTQWPESARIERL5DTTQFCJTK", 1511200714, "9P3VP"),
)
STEAM_SHARE = 20  # one random vector in this many is a Steam one


def steam_vectors() -> list[Vector]:
    """The published Steam codes above as vectors (their value, from the published text)."""
    out = []
    for b32, t, text in STEAM_PUBLISHED:
        value = sum(
            reference.STEAM_ALPHABET.index(ch) * len(reference.STEAM_ALPHABET) ** i
            for i, ch in enumerate(text)
        )
        secret = base64.b32decode(b32)
        out.append(
            Vector(secret, "sha1", reference.STEAM_DIGITS, reference.STEAM_PERIOD, t, value)
        )
    return out


def rfc_vectors() -> list[Vector | HotpVector]:
    """RFC 4226 Appendix D (HOTP) and RFC 6238 Appendix B (TOTP), from the RFC tables, and
    the published Steam codes."""
    out: list[Vector | HotpVector] = [
        HotpVector(reference.RFC4226_SECRET, "sha1", 6, counter, code)
        for counter, code in enumerate(reference.RFC4226_HOTP)
    ]
    for algorithm, codes in reference.RFC6238_TOTP.items():
        seed = reference.RFC6238_SEEDS[algorithm]
        for t, code in zip(reference.RFC6238_TIMES, codes, strict=True):
            out.append(Vector(seed, algorithm, 8, 30, t, int(code)))
    out += steam_vectors()
    return out


@dataclass(frozen=True)
class Report:
    total: int
    rfc: int
    passed: int
    mismatches: list[dict[str, object]]
    seconds: float

    @property
    def per_second(self) -> float:
        return self.total / self.seconds if self.seconds > 0 else 0.0


def _describe(i: int, v: Vector | HotpVector, got: int) -> dict[str, object]:
    # Never the secret: its length is enough to find the vector again with the seed.
    d: dict[str, object] = {
        "index": i,
        "algorithm": v.algorithm,
        "digits": v.digits,
        "secret_bytes": len(v.secret),
        "expected": reference.format_code(v.code, v.digits),
        "got": reference.format_code(got, v.digits),
    }
    if isinstance(v, HotpVector):
        d["counter"] = v.counter
    else:
        d.update(period=v.period, unix_time=v.unix_time)
    return d


def run(
    s: Session, count: int, seed: int, progress: Callable[[int], None] | None = None
) -> Report:
    """The RFC vectors plus `count` random ones from `seed`, computed on the token in
    batches and compared one by one with the reference. `progress(done)` after each batch."""
    vectors: list[Vector | HotpVector] = rfc_vectors()
    rfc = len(vectors)
    rng = random.Random(seed)
    steam = count // STEAM_SHARE
    vectors += reference.random_vectors(count - steam, rng)
    vectors += reference.random_steam_vectors(steam, rng)
    start = time.perf_counter()
    got = s.vectors(vectors, progress=progress)
    seconds = time.perf_counter() - start
    if len(got) != len(vectors):
        raise VerificationError(f"token answered {len(got)} of {len(vectors)} vectors")
    mismatches = [
        _describe(i, v, g)
        for i, (v, g) in enumerate(zip(vectors, got, strict=True))
        if g != v.code
    ]
    return Report(len(vectors), rfc, len(vectors) - len(mismatches), mismatches, seconds)
