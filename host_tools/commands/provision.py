"""`host_tools provision`: read one account from the command line, a QR image or standard
input, and run the provisioning workflow (host_tools.provisioning) on it."""

from __future__ import annotations

import sys
import time

import click

from host_tools import provisioning
from host_tools.account import AccountSpec
from host_tools.commands._files import backup_option, open_backup
from host_tools.commands._token import session
from host_tools.errors import InvalidInputError, VerificationError
from host_tools.otpauth import decode_qr, parse_uri, spec_from_fields

STDIN = "-"


def _read_secret(what: str) -> str:
    """A secret (or a URI holding one) from standard input: a prompt without echo when a
    terminal is attached, else the first line of the pipe. Never in the process list."""
    if sys.stdin is not None and sys.stdin.isatty():
        return str(click.prompt(what, hide_input=True, err=True))
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line.strip():
        raise InvalidInputError(f"no {what.lower()} on standard input")
    return line.strip()


def build_spec(
    uri: str | None,
    secret: str | None,
    name: str | None,
    issuer: str,
    algorithm: str,
    digits: int,
    period: int,
    hotp: bool,
    counter: int,
    qr: str | None,
    steam: bool = False,
) -> AccountSpec:
    """The account from exactly one of URI, --secret (with --name) or --qr; "-" for URI or
    --secret reads it from standard input. `steam`: the --secret account is Steam Guard."""
    given = sum(x is not None for x in (uri, secret, qr))
    if given != 1:
        raise InvalidInputError("give exactly one of URI, --secret B32 --name N, or --qr IMAGE")
    if qr is not None:
        texts = [t for t in decode_qr(qr) if t.lower().startswith("otpauth://")]
        if len(texts) != 1:
            raise InvalidInputError(f"{qr}: expected one otpauth:// QR code, found {len(texts)}")
        return parse_uri(texts[0])
    if uri is not None:
        return parse_uri(_read_secret("otpauth:// URI") if uri == STDIN else uri)
    if not name:
        raise InvalidInputError("--secret needs --name")
    assert secret is not None
    if secret == STDIN:
        secret = _read_secret("Base32 secret")
    return spec_from_fields(
        secret,
        name,
        issuer,
        algorithm,
        digits,
        period,
        kind="steam" if steam else "hotp" if hotp else "totp",
        counter=counter,
    )


def confirm_code(spec: AccountSpec) -> None:
    """Ask for the code the token shows (three tries); VerificationError if none matches."""
    hint = "after a long press, " if spec.kind == "hotp" else ""
    what = "characters" if spec.kind == "steam" else "digits"
    for _ in range(3):
        typed = click.prompt(
            f"Type the code the token shows for {spec.label} ({hint}{spec.digits} {what})",
            err=True,
        ).replace(" ", "")
        if spec.kind == "steam":
            if provisioning.text_matches(spec, typed.upper(), int(time.time())):
                return
            click.echo("that is not the expected code", err=True)
            continue
        if not typed.isdigit():
            click.echo("digits only, please", err=True)
            continue
        if provisioning.code_matches(spec, int(typed), int(time.time())):
            return
        click.echo("that is not the expected code", err=True)
    raise VerificationError("the code typed does not match the account's")


def _steam_options(ctx: click.Context) -> None:
    """--steam has Steam's own parameters: refuse options that would contradict them."""
    for option in ("uri", "qr", "algorithm", "digits", "period", "hotp", "counter"):
        if ctx.get_parameter_source(option) not in (None, click.core.ParameterSource.DEFAULT):
            shown = "a URI" if option == "uri" else f"--{option}"
            raise InvalidInputError(f"--steam goes with --secret, not with {shown}")


@click.command()
@click.argument("uri", required=False)
@click.option("--secret", metavar="B32", help="Base32 secret (instead of a URI); - reads stdin.")
@click.option("--name", metavar="N", help="Account name (with --secret).")
@click.option("--issuer", metavar="I", default="", help="Issuer (with --secret).")
@click.option(
    "--algorithm",
    default="SHA1",
    show_default=True,
    type=click.Choice(["SHA1", "SHA256", "SHA512"], case_sensitive=False),
)
@click.option("--digits", default=6, show_default=True, type=click.IntRange(6, 8))
@click.option("--period", default=30, show_default=True, type=click.IntRange(1, 3600))
@click.option("--hotp", is_flag=True, help="A counter-based (HOTP) account.")
@click.option(
    "--steam",
    is_flag=True,
    help="A Steam Guard account (SHA1, 30 s, 5 characters; with --secret).",
)
@click.option("--counter", default=0, show_default=True, type=click.IntRange(0, 2**64 - 1))
@click.option("--qr", metavar="IMAGE", help="Read the otpauth:// URI from a QR image.")
@click.option("--force", is_flag=True, help="Replace an existing account of that label.")
@click.option("--no-time-sync", is_flag=True, help="Never set the token's clock.")
@click.option("--confirm", is_flag=True, help="Then type the code the token shows.")
@backup_option
@click.pass_context
def provision(
    ctx: click.Context,
    uri: str | None,
    secret: str | None,
    name: str | None,
    issuer: str,
    algorithm: str,
    digits: int,
    period: int,
    hotp: bool,
    steam: bool,
    counter: int,
    qr: str | None,
    force: bool,
    no_time_sync: bool,
    confirm: bool,
    backup: str | None,
) -> None:
    """Add an account and check that the token computes its codes exactly as the reference
    does. The account comes from an otpauth:// URI, a base32 --secret with --name, or a --qr
    image. `provision -` and `--secret -` read the URI or secret from standard input (a
    prompt without echo on a terminal), which keeps it out of the process list."""
    if steam:
        _steam_options(ctx)
    spec = build_spec(
        uri, secret, name, issuer, algorithm, digits, period, hotp, counter, qr, steam
    )
    vault = open_backup(backup)  # a wrong backup password stops us before the token

    def proven(spec: AccountSpec) -> None:
        # After the reference check; raising here removes the account from the token again.
        if confirm:
            confirm_code(spec)
        if vault is not None:
            vault.record(spec)

    done = provisioning.provision(
        session(ctx),
        spec,
        replace=force,
        time_sync=not no_time_sync,
        confirm=proven if confirm or vault is not None else None,
        notify=lambda note: click.echo(note, err=True),
    )
    kind = f"{spec.kind.upper()}, {spec.algorithm.upper()}, {spec.digits} digits"
    if spec.kind == "steam":
        kind = f"Steam Guard, {spec.algorithm.upper()}, {spec.digits} characters"
    kind += f", {spec.period} s" if spec.kind != "hotp" else f", counter {spec.counter}"
    click.echo(
        f"provisioned {spec.label} ({kind}); {done.checked} codes match the reference; "
        f"{done.count} of {done.capacity} slots used"
        + (f"; added to the backup {vault.path}" if vault is not None else "")
    )
