"""What the token commands share: the session, shared options, JSON and label output."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from host_tools.account import Account, shown
from host_tools.session import Session, open_session

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
force_option = click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")


def session(ctx: click.Context) -> Session:
    """A session with the token on the port chosen by --port / $HOST_TOOLS_PORT / auto-detect.
    Closed when the command ends."""
    s = open_session(ctx.obj.get("port") if ctx.obj else None)
    ctx.call_on_close(s.close)
    s.password = current_password  # asked only if the token wants it (docs/security.md)
    return s


PASSWORD_ENV = "HOST_TOOLS_PASSWORD"
NEW_PASSWORD_ENV = "HOST_TOOLS_NEW_PASSWORD"


def interactive() -> bool:
    return sys.stdin.isatty()


def current_password() -> str | None:
    """The token's password: $HOST_TOOLS_PASSWORD, else a prompt (None without a terminal)."""
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env
    if not interactive():
        return None
    return str(click.prompt("Token password", hide_input=True, err=True))


def account_json(a: Account) -> dict[str, Any]:
    d: dict[str, Any] = {
        "label": a.shown_label,
        "issuer": shown(a.issuer),
        "name": shown(a.name),
        "type": a.kind,
        "algorithm": a.algorithm.upper(),
        "digits": a.digits,
    }
    if a.kind == "hotp":
        d["counter"] = a.counter
    else:  # totp and steam
        d["period"] = a.period
    return d


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # JSON spells these as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def echo_json(value: object) -> None:
    """`value` as JSON: readable non-ASCII text, but every character a terminal would not
    print as itself (controls, bidirectional overrides) as a JSON escape, so the output is
    the same data and cannot rewrite the screen. Labels are escaped by `shown` before."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if not text.replace("\n", "").isprintable():
        text = "".join(
            ch if ch.isprintable() or ch == "\n" else _json_escape(ch) for ch in text
        )
    click.echo(text)
