"""What the token commands share: opening a session, choosing accounts, printing JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from host_tools.errors import InvalidInputError, NotFoundError
from host_tools.session import Account, Session
from host_tools.transport import open_session


def session(ctx: click.Context) -> Session:
    """A session with the token on the port chosen by --port / $HOST_TOOLS_PORT / auto-detect.
    Closed when the command ends."""
    s = open_session(ctx.obj.get("port") if ctx.obj else None)
    ctx.call_on_close(s.close)
    return s


def matching(accounts: Sequence[Account], query: str) -> list[Account]:
    """Accounts a QUERY names, like the token's own lookup: an exact label, else the one label
    equal ignoring case, else every label containing the query ignoring case."""
    exact = [a for a in accounts if a.label == query]
    if exact:
        return exact
    low = query.lower()
    same = [a for a in accounts if a.label.lower() == low]
    if len(same) == 1:
        return same
    return [a for a in accounts if low in a.label.lower()]


def one_account(accounts: Sequence[Account], query: str) -> Account:
    found = matching(accounts, query)
    if not found:
        raise NotFoundError(f"no account matches {query!r}")
    if len(found) > 1:
        labels = ", ".join(a.label for a in found[:5]) + (", ..." if len(found) > 5 else "")
        raise InvalidInputError(f"{query!r} matches {len(found)} accounts ({labels}); be precise")
    return found[0]


def split_label(text: str, keep_issuer: str) -> tuple[str, str]:
    """NEW of `rename`: "Issuer:name" sets both; a plain name keeps the current issuer."""
    if ":" in text:
        issuer, _, name = text.partition(":")
        return issuer.strip(), name.strip()
    return keep_issuer, text.strip()


def account_json(a: Account) -> dict[str, Any]:
    d: dict[str, Any] = {
        "label": a.label,
        "issuer": a.issuer,
        "name": a.name,
        "type": a.kind,
        "algorithm": a.algorithm.upper(),
        "digits": a.digits,
    }
    if a.kind == "totp":
        d["period"] = a.period
    else:
        d["counter"] = a.counter
    return d


def echo_json(value: object) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
