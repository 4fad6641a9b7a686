"""The `host_tools` command line. Commands live in host_tools/commands/, one module per noun,
as module-level click commands with shared option decorators (commands/_token.py); each reads
its options, calls the library (the session, or a workflow such as host_tools.provisioning)
and prints. Library errors become one line on stderr and their exit status
(host_tools.errors) here, in one place.
"""

from __future__ import annotations

import sys

import click

from host_tools import __version__
from host_tools.account import shown
from host_tools.commands import (
    accounts,
    clock,
    config,
    deploy,
    importing,
    info,
    pin,
    provision,
    screen,
    security,
    sim,
    verify,
)
from host_tools.errors import ExitStatus, HostToolsError


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


sim.register(cli)  # the virtual token and its controls (their own module's layout)
for _command in (
    deploy.deploy,
    deploy.device_test,
    # the token over the protocol (host_tools.session)
    info.info,
    accounts.list_,
    accounts.code,
    accounts.delete,
    accounts.rename,
    accounts.wipe,
    provision.provision,
    importing.import_,
    importing.restore,
    clock.time_,
    verify.verify,
    screen.screen,
    config.config,
    pin.pin,
    security.password,
    security.lock,
    security.unlock,
):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure is one line on stderr and its status (host_tools.errors)."""
    try:
        cli.main(args=argv, prog_name="host_tools", standalone_mode=False)
    except HostToolsError as e:
        # One printable line even when the message quotes the token's text or holds a
        # device traceback (its lines joined with " | ").
        message = " | ".join(shown(line.strip()) for line in str(e).splitlines() if line.strip())
        click.echo(f"host_tools: {message}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("host_tools: aborted", err=True)
        return ExitStatus.INTERRUPTED
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.format_message(), err=True)  # a group named alone: its help
        return ExitStatus.INVALID_INPUT
    except click.UsageError as e:
        # A bad option or argument is bad input: one line naming the command, not the usage.
        where = e.ctx.command_path if e.ctx else "host_tools"
        click.echo(f"host_tools: {e.format_message()} (see `{where} --help`)", err=True)
        return ExitStatus.INVALID_INPUT
    except click.ClickException as e:
        click.echo(f"host_tools: {e.format_message()}", err=True)
        return ExitStatus.INVALID_INPUT
    except click.exceptions.Exit as e:
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("host_tools: interrupted", err=True)
        return ExitStatus.INTERRUPTED
    return ExitStatus.OK


if __name__ == "__main__":
    sys.exit(main())
