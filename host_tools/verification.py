"""The verification workflow: the token's OTP core against CPython's hmac, vector by vector.

    report = run(session, count=1000, seed=7)     # RFC 4226/6238 vectors + 1000 random ones

Mismatches are described without the secret (its length and the seed find it again).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from host_tools import reference
from host_tools.errors import VerificationError
from host_tools.reference import Vector
from host_tools.session import HotpVector, Session


def rfc_vectors() -> list[Vector | HotpVector]:
    """RFC 4226 Appendix D (HOTP) and RFC 6238 Appendix B (TOTP), from the RFC tables."""
    out: list[Vector | HotpVector] = [
        HotpVector(reference.RFC4226_SECRET, "sha1", 6, counter, code)
        for counter, code in enumerate(reference.RFC4226_HOTP)
    ]
    for algorithm, codes in reference.RFC6238_TOTP.items():
        seed = reference.RFC6238_SEEDS[algorithm]
        for t, code in zip(reference.RFC6238_TIMES, codes, strict=True):
            out.append(Vector(seed, algorithm, 8, 30, t, int(code)))
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
        "expected": f"{v.code:0{v.digits}d}",
        "got": f"{got:0{v.digits}d}",
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
    vectors += reference.random_vectors(count, random.Random(seed))
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
