"""`password set|change|clear`, `lock`, `unlock`: the token's management password and locked
mode (docs/security.md). Passwords come from $HOST_TOOLS_PASSWORD (the current one) and
$HOST_TOOLS_NEW_PASSWORD (a new one), else from a prompt without echo; never from the
command line, which other users can read in the process list."""

from __future__ import annotations

import os

import click

from host_tools import auth
from host_tools.commands._token import (
    NEW_PASSWORD_ENV,
    PASSWORD_ENV,
    current_password,
    interactive,
    session,
)
from host_tools.errors import AuthRequiredError, InvalidInputError
from host_tools.session import Session


def new_password() -> str:
    env = os.environ.get(NEW_PASSWORD_ENV)
    if env is None:
        if not interactive():
            raise InvalidInputError(
                f"no new password: set ${NEW_PASSWORD_ENV} or run in a terminal to type it"
            )
        env = str(
            click.prompt("New token password", hide_input=True, confirmation_prompt=True, err=True)
        )
    auth.check_new_password(env)
    return env


def _login(s: Session) -> None:
    password = current_password()
    if password is None:
        raise AuthRequiredError(
            f"the token has a management password: give it in ${PASSWORD_ENV} "
            "or type it at the prompt (run in a terminal)"
        )
    s.login(password)


@click.group()
def password() -> None:
    """Set, change or clear the token's management password."""


@password.command("set")
@click.pass_context
def password_set(ctx: click.Context) -> None:
    """Give a token without a password one ($HOST_TOOLS_NEW_PASSWORD or a prompt)."""
    s = session(ctx)
    if s.info().password_set:
        raise InvalidInputError("the token already has a password: use `password change`")
    new = new_password()
    click.echo("deriving the verifier (a moment)...", err=True)
    s.set_password(auth.new_verifier(new))
    click.echo("password set: listing, codes and changes now need it")


@password.command("change")
@click.pass_context
def password_change(ctx: click.Context) -> None:
    """Replace the password: the current one ($HOST_TOOLS_PASSWORD) logs in first."""
    s = session(ctx)
    if not s.info().password_set:
        raise InvalidInputError("the token has no password yet: use `password set`")
    _login(s)
    new = new_password()
    s.set_password(auth.new_verifier(new))
    click.echo("password changed")


@password.command("clear")
@click.pass_context
def password_clear(ctx: click.Context) -> None:
    """Remove the password (and the lock, which only the password could open)."""
    s = session(ctx)
    if not s.info().password_set:
        click.echo("the token has no password")
        return
    _login(s)
    s.clear_password()
    click.echo("password cleared; the token is unlocked")


@click.command()
@click.pass_context
def lock(ctx: click.Context) -> None:
    """Close the REPL for good: the USB port speaks only the protocol (needs a password)."""
    s = session(ctx)
    if not s.info().password_set:
        raise InvalidInputError(
            "set a password first (`host_tools password set`): only it can unlock the token"
        )
    _login(s)
    s.lock()
    click.echo("locked: Ctrl-C no longer reaches the REPL, across resets")


@click.command()
@click.option(
    "--permanent", is_flag=True, help="Leave locked mode for good, not just until the reset."
)
@click.pass_context
def unlock(ctx: click.Context, permanent: bool) -> None:
    """Open the REPL (mpremote, deploy) until the next reset, with the password."""
    s = session(ctx)
    if s.info().password_set:
        _login(s)
    s.unlock(permanent)
    if permanent:
        click.echo("unlocked for good: Ctrl-C reaches the REPL again")
    else:
        click.echo("unlocked until the next reset: Ctrl-C reaches the REPL")
