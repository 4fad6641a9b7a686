"""`host_tools pin set | clear | status`: the token's optional device PIN.

A PIN comes from `$HOST_TOOLS_PIN` (the current one; the new one for a first `pin set`) and
`$HOST_TOOLS_NEW_PIN` (the new one when changing), else from a prompt without echo. It is
never an argument: the process list and the shell history would show it.
"""

from __future__ import annotations

import os
import sys

import click

from host_tools.commands._token import echo_json, json_option, session
from host_tools.errors import InvalidInputError
from host_tools.session import check_pin

PIN_ENV = "HOST_TOOLS_PIN"
NEW_PIN_ENV = "HOST_TOOLS_NEW_PIN"


def _read_pin(env: str, what: str, confirm: bool = False) -> str:
    """A PIN from `env`, else from a prompt without echo (asked twice when confirm)."""
    value = os.environ.get(env)
    if value is None:
        if sys.stdin is None or not sys.stdin.isatty():
            raise InvalidInputError(f"{what}: set ${env} or run on a terminal to be asked")
        value = str(click.prompt(what, hide_input=True, confirmation_prompt=confirm, err=True))
    check_pin(value)
    return value


@click.group("pin")
def pin() -> None:
    """The device PIN: with one set, the token shows no codes until it is entered with its
    buttons, and its secrets are encrypted with a key derived from it."""


@pin.command("set")
@click.pass_context
def set_(ctx: click.Context) -> None:
    """Set the PIN (4 to 8 digits), or change it.

    The token re-encrypts its vault under the new PIN. Ten wrong PINs in a row wipe the
    token. Set the PIN before provisioning: secrets stored before it was set were written
    unencrypted, and flash may keep old copies (docs/storage.md)."""
    s = session(ctx)
    info = s.info()
    if info.pin_set:
        current = _read_pin(PIN_ENV, "Current PIN")
        new = _read_pin(NEW_PIN_ENV, "New PIN (4 to 8 digits)", confirm=True)
    else:
        current = ""
        new = _read_pin(PIN_ENV, "New PIN (4 to 8 digits)", confirm=True)
    s.pin_set(new, current)
    click.echo("PIN changed" if current else "PIN set: the secrets on the token are encrypted")
    if not info.pin_set and info.count:
        # littlefs does not erase freed blocks: the unencrypted copies may outlive this.
        click.echo(
            f"note: the {info.count} accounts already on the token were stored unencrypted "
            "before; its flash may still hold those copies in free blocks "
            "(docs/storage.md, 'Encryption at rest')",
            err=True,
        )


@pin.command()
@click.pass_context
def clear(ctx: click.Context) -> None:
    """Remove the PIN: codes show without it and the secrets are stored unencrypted."""
    s = session(ctx)
    if not s.info().pin_set:
        raise InvalidInputError("no PIN is set on the token")
    s.pin_clear(_read_pin(PIN_ENV, "Current PIN"))
    click.echo("PIN cleared")


@pin.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Whether a PIN is set and entered, wrong tries counted, delay before the next try."""
    st = session(ctx).pin_status()
    if as_json:
        echo_json(
            {
                "set": st.set,
                "entered": st.entered,
                "failures": st.failures,
                "tries_left": st.tries_left,
                "wait_s": st.wait_s,
            }
        )
        return
    if not st.set:
        click.echo("PIN: not set")
        return
    click.echo(f"PIN: set, {'entered' if st.entered else 'NOT entered (codes hidden)'}")
    click.echo(f"wrong PINs in a row: {st.failures} ({st.tries_left} tries left before a wipe)")
    if st.wait_s:
        click.echo(f"next try checked in {st.wait_s} s")
