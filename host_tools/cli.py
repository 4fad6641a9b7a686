"""The `host_tools` command line. Commands live in host_tools/commands/, one module per noun.

Each command module defines `register(group)`, adding its click commands to the top-level
group. The CLI talks to the token only through the session library, and converts library
errors to a one-line message and an exit status here, in one place.
"""

from __future__ import annotations

import importlib
import sys

import click

from host_tools import __version__
from host_tools.errors import HostToolsError

COMMAND_MODULES = [
    "sim",
    "deploy",
    # the token over the protocol (host_tools.session)
    "info",
    "accounts",
    "provision",
    "clock",
    "verify",
    "screen",
    "config",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--port",
    envvar="HOST_TOOLS_PORT",
    metavar="PATH",
    help="Serial port of the token (default: $HOST_TOOLS_PORT, else auto-detect).",
)
@click.version_option(__version__, prog_name="host_tools")
@click.pass_context
def cli(ctx: click.Context, port: str | None) -> None:
    """Provision, check, deploy and simulate the MicroPython TOTP token."""
    ctx.obj = {"port": port}


for _name in COMMAND_MODULES:
    importlib.import_module(f"host_tools.commands.{_name}").register(cli)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="host_tools", standalone_mode=False)
    except HostToolsError as e:
        click.echo(f"host_tools: {e}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("host_tools: aborted", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("host_tools: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
