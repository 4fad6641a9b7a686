"""`host_tools verify`: runs host_tools.verification and prints its report."""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

import click

from host_tools import verification
from host_tools.commands._token import echo_json, json_option, session
from host_tools.errors import VerificationError


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
    and published Steam codes, plus COUNT random ones (secrets, algorithms, digits, periods,
    times; one in 20 a Steam code), computed on the token in batches and compared one by
    one. Exit status 1 on any mismatch."""
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    report = verification.run(
        session(ctx), count, seed, _progress(len(verification.rfc_vectors()) + count)
    )
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
            f"{report.total} vectors ({report.rfc} RFC 4226/6238 and Steam + {count} random, seed "
            f"{seed}): {report.passed} passed, {failed} failed in {report.seconds:.2f} s "
            f"({report.per_second:.0f} vectors/s)"
        )
    if failed:
        raise VerificationError(f"{failed} of {report.total} vectors do not match")
