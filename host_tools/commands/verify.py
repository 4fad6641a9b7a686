"""`host_tools verify`: the token's OTP core against CPython's hmac, vector by vector."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import click

from host_tools import reference
from host_tools.commands._token import echo_json, json_option, session
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


def _progress(total: int) -> Callable[[int], None] | None:
    """A progress line on stderr, when it is a terminal (redrawn at most twice a second)."""
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or done == total:
            last[0] = now
            click.echo(f"\r{done}/{total} vectors", nl=done == total, err=True)

    return show


def run(s: Session, count: int, seed: int) -> Report:
    vectors: list[Vector | HotpVector] = rfc_vectors()
    rfc = len(vectors)
    vectors += reference.random_vectors(count, random.Random(seed))
    start = time.perf_counter()
    got = s.vectors(vectors, progress=_progress(len(vectors)))
    seconds = time.perf_counter() - start
    if len(got) != len(vectors):
        raise VerificationError(f"token answered {len(got)} of {len(vectors)} vectors")
    mismatches = [
        _describe(i, v, g)
        for i, (v, g) in enumerate(zip(vectors, got, strict=True))
        if g != v.code
    ]
    return Report(len(vectors), rfc, len(vectors) - len(mismatches), mismatches, seconds)


@click.command()
@click.option(
    "--count", default=1000, show_default=True, type=click.IntRange(0, 10_000_000),
    help="Random vectors on top of the RFC ones.",
)  # fmt: skip
@click.option("--seed", type=int, default=None, help="Seed of the random vectors.")
@json_option
@click.pass_context
def verify(ctx: click.Context, count: int, seed: int | None, as_json: bool) -> None:
    """Check the token's HOTP/TOTP core against CPython's hmac: the RFC 4226/6238 vectors
    plus COUNT random ones (secrets, algorithms, digits, periods, times), computed on the
    token in batches and compared one by one. Exit status 1 on any mismatch."""
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    report = run(session(ctx), count, seed)
    failed = len(report.mismatches)
    if as_json:
        echo_json(
            {
                "vectors": report.total,
                "rfc_vectors": report.rfc,
                "random_vectors": count,
                "seed": seed,
                "passed": report.passed,
                "failed": failed,
                "seconds": round(report.seconds, 3),
                "vectors_per_second": round(report.per_second, 1),
                "mismatches": report.mismatches,
            }
        )
    else:
        for m in report.mismatches[:50]:
            where = (
                f"counter {m['counter']}"
                if "counter" in m
                else (f"period {m['period']} s, t={m['unix_time']}")
            )
            click.echo(
                f"MISMATCH #{m['index']}: {str(m['algorithm']).upper()} {m['digits']} "
                f"digits, {where}, {m['secret_bytes']}-byte secret: expected "
                f"{m['expected']}, token {m['got']}"
            )
        if failed > 50:
            click.echo(f"... and {failed - 50} more mismatches")
        click.echo(
            f"{report.total} vectors ({report.rfc} RFC 4226/6238 + {count} random, seed "
            f"{seed}): {report.passed} passed, {failed} failed in {report.seconds:.2f} s "
            f"({report.per_second:.0f} vectors/s)"
        )
    if failed:
        raise VerificationError(f"{failed} of {report.total} vectors do not match")
