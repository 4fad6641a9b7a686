"""`host_tools import` and `host_tools restore`: read exports (host_tools.imports), then run
the import workflow (host_tools.importing) on the token, or only list with --dry-run."""

from __future__ import annotations

import os
from typing import Any

import click

from host_tools import importing, imports
from host_tools.account import AccountSpec, shown
from host_tools.commands._files import (
    BACKUP_PASSWORD_ENV,
    backup_option,
    file_password,
    open_backup,
    password_option,
)
from host_tools.commands._token import echo_json, json_option, session
from host_tools.errors import NotAnExportError, VerificationError
from host_tools.imports import ImportResult, Skipped

dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Only list what would be imported; touch no token."
)
no_time_sync_option = click.option(
    "--no-time-sync", is_flag=True, help="Never set the token's clock."
)


def spec_json(spec: AccountSpec) -> dict[str, Any]:
    """An account as --json shows it: parameters and labels, never the secret."""
    return {
        "type": spec.kind,
        "issuer": shown(spec.issuer),
        "name": shown(spec.name),
        "algorithm": spec.algorithm.upper(),
        "digits": spec.digits,
        "period": None if spec.kind == "hotp" else spec.period,
        "counter": spec.counter if spec.kind == "hotp" else None,
    }


def describe(spec: AccountSpec) -> str:
    what = "characters" if spec.kind == "steam" else "digits"  # a Steam code is letters
    kind = f"{spec.kind.upper()}, {spec.algorithm.upper()}, {spec.digits} {what}"
    kind += f", counter {spec.counter}" if spec.kind == "hotp" else f", {spec.period} s"
    return f"{shown(spec.label)} ({kind})"


def _echo_skipped(skipped: list[Skipped]) -> None:
    for s in skipped:
        click.echo(f"skipped {shown(s.entry)}: {shown(s.reason)}")


def _echo_json(accounts: list[AccountSpec], skipped: list[Skipped]) -> None:
    echo_json(
        {
            "accounts": [spec_json(a) for a in accounts],
            "skipped": [{"entry": shown(s.entry), "reason": shown(s.reason)} for s in skipped],
        }
    )


def run_import(
    ctx: click.Context,
    result: ImportResult,
    dry_run: bool,
    as_json: bool,
    backup_path: str | None,
    no_time_sync: bool,
) -> None:
    """Show (--dry-run) or import `result`, then the summary; exit 1 after a mismatch."""
    if dry_run:
        if as_json:
            _echo_json(result.accounts, result.skipped)
            return
        for spec in result.accounts:
            click.echo(f"would import {describe(spec)}")
        _echo_skipped(result.skipped)
        click.echo(
            f"{len(result.accounts)} to import, {len(result.skipped)} skipped (dry run: "
            "nothing written)"
        )
        return
    backup = open_backup(backup_path)  # a wrong backup password stops us before the token
    outcome = importing.import_accounts(
        session(ctx),
        result,
        backup=backup,
        time_sync=not no_time_sync,
        notify=lambda note: click.echo(note, err=True),
    )
    imported = [done.spec for done in outcome.imported]
    if as_json:
        _echo_json(imported, outcome.skipped)
    else:
        for spec in imported:
            click.echo(f"imported {describe(spec)}")
        _echo_skipped(outcome.skipped)
        where = f"; added to the backup {backup.path}" if backup and imported else ""
        click.echo(
            f"imported {len(imported)}, skipped {len(outcome.skipped)}; "
            f"{outcome.free} of {outcome.capacity} slots left{where}"
        )
    if outcome.mismatches:
        raise VerificationError(
            f"the token computed {outcome.mismatches} account(s) differently from the "
            "reference; they were removed from it"
        )


@click.command("import")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@dry_run_option
@json_option
@password_option
@backup_option
@no_time_sync_option
@click.pass_context
def import_(
    ctx: click.Context,
    files: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    password: str | None,
    backup: str | None,
    no_time_sync: bool,
) -> None:
    """Add the accounts of other authenticators' exports, each checked like `provision`.

    Each FILE is a Google Authenticator export (otpauth-migration:// lines), an Aegis, 2FAS or
    andOTP backup (plain or encrypted), a list of otpauth:// URIs, or an image holding QR
    codes of any of these. Every entry is imported or skipped with its reason."""
    result = imports.load_files(files, file_password(password))
    run_import(ctx, result, dry_run, as_json, backup, no_time_sync)


@click.command()
@click.argument("file", metavar="FILE")
@dry_run_option
@json_option
@password_option
@no_time_sync_option
@click.pass_context
def restore(
    ctx: click.Context,
    file: str,
    dry_run: bool,
    as_json: bool,
    password: str | None,
    no_time_sync: bool,
) -> None:
    """Put the accounts of a backup (`--backup FILE`, or any Aegis vault) on this token, each
    checked like `provision`. The password: --password, $HOST_TOOLS_BACKUP_PASSWORD, or asked."""
    given = password if password is not None else os.environ.get(BACKUP_PASSWORD_ENV) or None
    result = imports.load_file(file, file_password(given))
    if result.source != "aegis":
        raise NotAnExportError(f"{file} is not a backup (an Aegis vault)")
    run_import(ctx, result, dry_run, as_json, None, no_time_sync)
