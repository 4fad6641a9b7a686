"""`host_tools info`: firmware, protocol, slots used and free, heap left, clock state."""

from __future__ import annotations

import click

from host_tools.account import shown
from host_tools.commands._token import echo_json, json_option, session


@click.command()
@json_option
@click.pass_context
def info(ctx: click.Context, as_json: bool) -> None:
    """Show the token's firmware, account slots, heap left and clock state."""
    s = session(ctx)
    i = s.info()
    hello = s.hello_info
    protocol = f"{hello.major}.{hello.minor}" if hello else "?"
    if as_json:
        echo_json(
            {
                "firmware": i.firmware,
                "protocol": protocol,
                "accounts": i.count,
                "capacity": i.capacity,
                "free": i.free,
                "full": i.full,
                "clock_valid": i.clock_valid,
                "display": i.display,
                "vault_corrupt": i.vault_corrupt,
                "vault_recovered": i.vault_recovered,
                "heap_free": i.heap_free,
                "heap_largest_free": i.heap_largest_free,
                "out_of_memory": i.memory_note or None,
                "pin": i.pin_set,
                "password": i.password_set,
                "locked": i.locked,
            }
        )
        return
    click.echo(f"firmware:  {shown(i.firmware)} (protocol {protocol})")
    if i.vault_corrupt:
        click.echo("accounts:  VAULT DAMAGED: `host_tools wipe` starts an empty one")
    elif i.full:
        click.echo(f"accounts:  {i.count} of {i.capacity}: the vault is FULL")
    else:
        click.echo(f"accounts:  {i.count} of {i.capacity} used, {i.free} free")
    if i.vault_recovered:
        click.echo("           (loaded from the previous good copy of the vault)")
    if i.pin_set:
        click.echo("PIN:       set (secrets encrypted; `host_tools pin status`)")
    clock = "set" if i.clock_valid else "NOT SET (run `host_tools time sync`)"
    click.echo(f"clock:     {clock}")
    if i.display:
        click.echo("display:   yes")
    elif i.memory_note == "boot: display":
        click.echo("display:   NOT SET UP: the token ran out of memory at boot")
    else:
        click.echo("display:   none")
    if i.heap_free is None:
        click.echo("heap:      not reported (firmware older than protocol 1.1)")
    else:
        click.echo(
            f"heap:      {i.heap_free:,} bytes free, largest free block {i.heap_largest_free:,}"
        )
    if i.memory_note:
        click.echo(f"memory:    RAN OUT OF MEMORY ({shown(i.memory_note)}) since the last boot")
    # docs/security.md
    click.echo(f"password:  {'set' if i.password_set else 'none'}")
    click.echo(f"REPL:      {'closed (locked)' if i.locked else 'open on the USB port'}")
