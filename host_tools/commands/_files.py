"""What the commands that read exports or write backups share: passwords and --backup.

Passwords never come from a file's name or the log: `--password P` (visible in the process
list, so meant for scripts and throwaway files), else a prompt without echo when a terminal
is attached, else a clear error. The backup's password comes from $HOST_TOOLS_BACKUP_PASSWORD
or the prompt (asked twice for a new backup, so a typo does not lock it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from host_tools.backup import Backup
from host_tools.errors import PasswordNeededError
from host_tools.imports import Password

BACKUP_PASSWORD_ENV = "HOST_TOOLS_BACKUP_PASSWORD"

password_option = click.option(
    "--password", metavar="P", help="Password of encrypted exports (else asked on a terminal)."
)
backup_option = click.option(
    "--backup",
    metavar="FILE",
    help="Also add each account written to the token to FILE, an encrypted Aegis vault "
    f"(created if missing; password from ${BACKUP_PASSWORD_ENV} or asked).",
)


def _terminal() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def file_password(given: str | None) -> Password:
    """The `password` function host_tools.imports asks when a file is encrypted."""

    def ask(what: str) -> str:
        if given is not None:
            return given
        if _terminal():
            return str(click.prompt(f"Password of {what}", hide_input=True, err=True))
        raise PasswordNeededError(
            f"{what} is encrypted: give --password, or run on a terminal to be asked"
        )

    return ask


def backup_password(path: Path) -> str:
    password = os.environ.get(BACKUP_PASSWORD_ENV)
    if password:
        return password
    if _terminal():
        return str(
            click.prompt(
                f"Password of the backup {path}",
                hide_input=True,
                confirmation_prompt=not path.exists(),
                err=True,
            )
        )
    raise PasswordNeededError(
        f"--backup {path} needs its password: set ${BACKUP_PASSWORD_ENV} or run on a terminal"
    )


def open_backup(path: str | None) -> Backup | None:
    """The unlocked --backup file (or a new one), before anything touches the token."""
    if path is None:
        return None
    return Backup.open(path, backup_password(Path(path)))
