"""`host_tools deploy` and `host_tools device-test`: firmware onto a device, tests on it."""

from __future__ import annotations

import click

from host_tools import deploy as deploy_lib
from host_tools import devicetest
from host_tools.errors import (
    DeviceTestFailure,
    DeviceTimeoutError,
    ProtocolError,
    TokenLockedError,
    TokenOutOfMemoryError,
)
from host_tools.ports import resolve_port
from host_tools.session import open_session


def refuse_if_locked(port: str) -> None:
    """Stop before touching the REPL of a locked token: it would only time out. A device that
    does not answer the protocol (no firmware yet, or already at the REPL) goes ahead, and so
    does one whose heap has no room for the answer (firmware run from source compiles each
    module it imports: a deploy brings the compiled files)."""
    try:
        with open_session(port, timeout=0.5, attempts=2) as s:
            locked = s.info().locked
    except (DeviceTimeoutError, ProtocolError, TokenOutOfMemoryError):
        return
    if locked:
        raise TokenLockedError("the token is locked: run `host_tools unlock`")


@click.command()
@click.option("--port", "local_port", metavar="PATH", help="Same as the global --port.")
@click.option(
    "--board",
    metavar="NAME",
    help="Board file boards/NAME.py to install as board.py (default: the one deployed "
    "last time; the simulator needs none).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.pass_context
def deploy(ctx: click.Context, local_port: str | None, board: str | None, dry_run: bool) -> None:
    """Compile the firmware for the device and copy what changed (never the vault)."""
    port = resolve_port(local_port or ctx.obj.get("port"))
    refuse_if_locked(port)
    result = deploy_lib.deploy(port, board, dry_run=dry_run, progress=click.echo)
    plan = result.plan
    if dry_run:
        click.echo("dry run: nothing changed; the plan:")
        for line in plan.describe():
            click.echo(f"  {line}")
        return
    click.echo(
        f"deployed board {plan.board} to {port}: {len(plan.copy)} copied "
        f"({result.copied_bytes} bytes), {len(plan.unchanged)} unchanged, "
        f"{len(plan.remove)} removed in {result.seconds:.1f} s; the token restarted"
    )


@click.command(name="device-test")
@click.option("--port", "local_port", metavar="PATH", help="Same as the global --port.")
@click.argument("modules", nargs=-1, metavar="[MODULE]...")
@click.pass_context
def device_test(ctx: click.Context, local_port: str | None, modules: tuple[str, ...]) -> None:
    """Run tests/firmware/test_*.py (or the MODULEs named) on the device via mpremote."""
    port = resolve_port(local_port or ctx.obj.get("port"))
    refuse_if_locked(port)
    totals = devicetest.run_device_tests(port, modules, echo=click.echo)
    if not totals.ok:
        raise DeviceTestFailure(f"firmware tests failed on {port}: " + totals.summary())
