"""`host_tools time` and `host_tools time sync`: the token's clock against the host's."""

from __future__ import annotations

import datetime as dt
import os
import time

import click

from host_tools import timesync
from host_tools.commands._token import PASSWORD_ENV, echo_json, json_option, session
from host_tools.errors import PresenceRequiredError
from host_tools.session import Session

PRESENCE_WAIT_S = 60


def _utc(ms: float) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} UTC"


def _wait_for_press(s: Session) -> None:
    """Until the token's clock is within a minute of the host's (the press applied the
    change), or PRESENCE_WAIT_S pass."""
    deadline = time.monotonic() + PRESENCE_WAIT_S
    while time.monotonic() < deadline:
        sample = timesync.best(s.time_samples(1))
        if sample.valid and abs(sample.offset_ms) < 60_000:
            return
        time.sleep(0.5)
    raise PresenceRequiredError(
        f"nobody pressed the token's button within {PRESENCE_WAIT_S} s: the clock is unchanged"
    )


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
    """Set the token's clock to the host's UTC, compensating for the serial round trip.

    A change of more than a few minutes needs the password ($HOST_TOOLS_PASSWORD) or a press
    on the token's button, which its panel asks for (docs/security.md, "Clock changes")."""
    s = session(ctx)
    try:
        result = timesync.sync(s)
    except PresenceRequiredError:
        password = os.environ.get(PASSWORD_ENV)
        if password is not None:
            s.login(password)  # a logged-in session may move the clock
        else:
            click.echo(
                "the token asks for a press on its button to accept this clock change "
                f"(see its panel): press it within {PRESENCE_WAIT_S} s",
                err=True,
            )
            _wait_for_press(s)
        result = timesync.sync(s)
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
