"""`host_tools time` and `host_tools time sync`: the token's clock against the host's."""

from __future__ import annotations

import datetime as dt

import click

from host_tools import timesync
from host_tools.commands._token import echo_json, json_option, session


def _utc(ms: float) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} UTC"


@click.group("time", invoke_without_command=True)
@json_option
@click.pass_context
def time_(ctx: click.Context, as_json: bool) -> None:
    """Show the token's UTC time, the host's, and the offset between them."""
    if ctx.invoked_subcommand is not None:
        return
    sample = timesync.best(session(ctx).time_samples(5))
    if as_json:
        echo_json(
            {
                "valid": sample.valid,
                "token_ms": sample.token_ms if sample.valid else None,
                "host_ms": round(sample.host_ms),
                "offset_ms": round(sample.offset_ms, 1) if sample.valid else None,
                "uncertainty_ms": round(sample.rtt_ms / 2, 1),
            }
        )
        return
    click.echo(f"host:   {_utc(sample.host_ms)}")
    if not sample.valid:
        click.echo("token:  clock NOT SET (run `host_tools time sync`)")
        return
    click.echo(f"token:  {_utc(sample.token_ms)}")
    click.echo(
        f"offset: {sample.offset_ms:+.1f} ms (token minus host, +-{sample.rtt_ms / 2:.1f} ms)"
    )


@time_.command()
@json_option
@click.pass_context
def sync(ctx: click.Context, as_json: bool) -> None:
    """Set the token's clock to the host's UTC, compensating for the serial round trip."""
    result = timesync.sync(session(ctx))
    if as_json:
        echo_json(
            {
                "offset_before_ms": None
                if result.before_ms is None
                else round(result.before_ms, 1),
                "residual_ms": round(result.residual_ms, 1),
                "uncertainty_ms": round(result.uncertainty_ms, 1),
                "rounds": result.rounds,
            }
        )
        return
    before = "not set" if result.before_ms is None else f"{result.before_ms:+.1f} ms"
    click.echo(
        f"token clock set (was {before}); residual offset {result.residual_ms:+.1f} ms "
        f"(+-{result.uncertainty_ms:.1f} ms)"
    )
