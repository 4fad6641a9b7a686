"""`host_tools list | code | delete | rename | wipe`: the accounts on the token."""

from __future__ import annotations

import click

from host_tools.account import Account, label_of, matching, one_account, quoted, split_label
from host_tools.commands._token import account_json, echo_json, force_option, json_option, session
from host_tools.errors import NotFoundError


def _describe(a: Account) -> str:
    params = f"{a.algorithm.upper()}, {a.digits} digits"
    if a.kind == "steam":
        return f"Steam Guard, {a.algorithm.upper()}, {a.digits} characters, {a.period} s"
    if a.kind == "totp":
        return f"TOTP, {params}, {a.period} s"
    return f"HOTP, {params}, counter {a.counter}"


@click.command("list")
@json_option
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List the accounts (labels and parameters; secrets never leave the token)."""
    accounts = session(ctx).accounts()
    if as_json:
        echo_json([account_json(a) for a in accounts])
        return
    if not accounts:
        click.echo("no accounts (add one with `host_tools provision`)", err=True)
    width = max((len(a.shown_label) for a in accounts), default=0)
    for a in accounts:
        click.echo(f"{a.shown_label:<{width}}  {_describe(a)}")


@click.command()
@click.argument("query", required=False)
@json_option
@click.pass_context
def code(ctx: click.Context, query: str | None, as_json: bool) -> None:
    """Show current codes computed by the token (all, or those matching QUERY).

    HOTP codes are computed only when QUERY names exactly one HOTP account (that uses up
    one counter value, as a press on the token would)."""
    s = session(ctx)
    now, codes = s.codes()
    if query is not None:
        chosen = {a.index for a in matching([c.account for c in codes], query)}
        codes = [c for c in codes if c.account.index in chosen]
        if not codes:
            raise NotFoundError(f"no account matches {quoted(query)}")
    rows: list[tuple[str, str, str, dict[str, object]]] = []
    for c in codes:
        a = c.account
        entry = account_json(a)
        if a.kind == "hotp" and query is not None and len(codes) == 1:
            calc = s.calculate(a)
            entry.update(code=calc.text, counter=calc.step)
            rows.append((a.shown_label, calc.text, f"counter {calc.step}", entry))
        elif a.kind == "hotp":
            entry["code"] = None
            rows.append((a.shown_label, "[HOTP]", "name it alone to compute", entry))
        elif c.text is None:
            entry["code"] = None
            rows.append((a.shown_label, "[clock not set]", "", entry))
        else:
            entry.update(code=c.text, seconds_left=c.seconds_left)
            rows.append((a.shown_label, c.text, f"{c.seconds_left:>2d} s left", entry))
    if as_json:
        echo_json({"token_time": now, "codes": [r[3] for r in rows]})
        return
    width = max((len(r[0]) for r in rows), default=0)
    for label, text, note, _ in rows:
        click.echo(f"{label:<{width}}  {text:<8}  {note}".rstrip())
    if now is None and rows:
        click.echo("the token's clock is not set: run `host_tools time sync`", err=True)


@click.command()
@click.argument("query")
@force_option
@click.pass_context
def delete(ctx: click.Context, query: str, force: bool) -> None:
    """Delete the account QUERY names."""
    s = session(ctx)
    account = one_account(s.accounts(), query)
    if not force:
        click.confirm(f"Delete {account.shown_label}?", abort=True, err=True)
    s.delete(account)
    click.echo(f"deleted {account.shown_label}")


@click.command()
@click.argument("query")
@click.argument("new")
@click.pass_context
def rename(ctx: click.Context, query: str, new: str) -> None:
    """Rename the account QUERY names to NEW ("Issuer:name", or a name keeping the issuer)."""
    s = session(ctx)
    account = one_account(s.accounts(), query)
    issuer, name = split_label(new, account.issuer)
    s.rename(account, issuer, name)
    click.echo(f"renamed {account.shown_label} to {label_of(issuer, name)}")


@click.command()
@force_option
@click.option(
    "--factory",
    is_flag=True,
    help="Factory reset: also the password, the lock and the PIN; needs no password.",
)
@click.pass_context
def wipe(ctx: click.Context, force: bool, factory: bool) -> None:
    """Delete every account on the token (--factory: everything, no password needed)."""
    s = session(ctx)
    if factory:
        if not force:
            click.confirm(
                "Factory reset: erase every account, the password, the lock and the PIN?",
                abort=True,
                err=True,
            )
        s.factory_reset()
        click.echo("factory reset: the token is empty and unlocked")
        return
    count = s.info().count
    if not force:
        click.confirm(f"Delete all {count} accounts on the token?", abort=True, err=True)
    s.wipe()
    click.echo(f"wiped: {count} accounts deleted")
