"""`host_tools config get|set`: the token's user settings."""

from __future__ import annotations

import click

from host_tools.account import shown
from host_tools.commands._token import echo_json, json_option, session


@click.group()
def config() -> None:
    """Read or change the token's settings (screen timeout, contrast, rotation, ...)."""


@config.command("get")
@click.argument("name", required=False)
@json_option
@click.pass_context
def get(ctx: click.Context, name: str | None, as_json: bool) -> None:
    """Show one setting, or all."""
    values = session(ctx).config_get(name or "")
    if as_json:
        echo_json(values)
        return
    width = max((len(k) for k in values), default=0)
    for key, value in values.items():
        click.echo(f"{shown(key):<{width}}  {shown(value)}")


@config.command("set")
@click.argument("name")
@click.argument("value")
@click.pass_context
def set_(ctx: click.Context, name: str, value: str) -> None:
    """Change a setting (the token validates it and applies it at once)."""
    stored = session(ctx).config_set(name, value)
    click.echo(f"{shown(name)} = {shown(stored)}")
