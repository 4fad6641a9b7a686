"""`host_tools provision`: enrol one account, then prove the token computes its codes.

After ADD, the token computes codes of the new account at several chosen times (TOTP) or
counters (HOTP) with the CHECK command, without using them up, and the host compares each with
host_tools.reference; on any mismatch the account is deleted again and the command fails.
"""

from __future__ import annotations

import logging
import time

import click

from host_tools import reference
from host_tools.commands._token import session
from host_tools.errors import (
    DuplicateError,
    HostToolsError,
    InvalidInputError,
    VerificationError,
)
from host_tools.otpauth import AccountSpec, decode_qr, parse_uri, spec_from_fields
from host_tools.session import Session

log = logging.getLogger(__name__)

# Times every TOTP account is checked at, besides "now" and the next period: the RFC 6238
# table's times (from 59 s to beyond 2**32) and the 31/32-bit edges.
CHECK_TIMES = (59, 1111111109, 1234567890, 2**31 - 1, 2**31, 2**32, 20000000000)
HOTP_CHECKS = 4  # counters checked from the account's counter on
MAX_CLOCK_OFFSET_MS = 1000.0


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
) -> AccountSpec:
    """The account from exactly one of URI, --secret (with --name) or --qr."""
    given = sum(x is not None for x in (uri, secret, qr))
    if given != 1:
        raise InvalidInputError("give exactly one of URI, --secret B32 --name N, or --qr IMAGE")
    if qr is not None:
        texts = [t for t in decode_qr(qr) if t.lower().startswith("otpauth://")]
        if len(texts) != 1:
            raise InvalidInputError(f"{qr}: expected one otpauth:// QR code, found {len(texts)}")
        return parse_uri(texts[0])
    if uri is not None:
        return parse_uri(uri)
    if not name:
        raise InvalidInputError("--secret needs --name")
    assert secret is not None
    return spec_from_fields(
        secret,
        name,
        issuer,
        algorithm,
        digits,
        period,
        kind="hotp" if hotp else "totp",
        counter=counter,
    )


def expected(spec: AccountSpec, value: int) -> int:
    if spec.kind == "hotp":
        return reference.hotp(spec.secret, value, spec.algorithm, spec.digits)
    return reference.totp(spec.secret, value, spec.algorithm, spec.digits, spec.period)


def check_values(spec: AccountSpec, now: int) -> list[int]:
    if spec.kind == "hotp":
        return [spec.counter + i for i in range(HOTP_CHECKS) if spec.counter + i < 2**64]
    return [now, now + spec.period, *CHECK_TIMES]


def ensure_clock(s: Session, no_sync: bool) -> str | None:
    """Sync the token's clock if it is unset or off by more than a second; a note to print."""
    sample = min(s.time_samples(3), key=lambda x: x.rtt_ms)
    if sample.valid and abs(sample.offset_ms) <= MAX_CLOCK_OFFSET_MS:
        return None
    what = "not set" if not sample.valid else f"off by {sample.offset_ms / 1000:+.3f} s"
    if no_sync:
        return f"warning: the token's clock is {what} (--no-time-sync): its codes will be wrong"
    result = s.sync_time()
    return f"the token's clock was {what}; set it (residual {result.residual_ms:+.1f} ms)"


def prove(s: Session, spec: AccountSpec) -> int:
    """Compare the token's codes for the new account with the reference; returns how many."""
    values = check_values(spec, int(time.time()))
    got = s.check(spec, values)
    bad = [v for v, g in zip(values, got, strict=True) if g != expected(spec, v)]
    if bad:
        raise VerificationError(
            f"the token computed {len(bad)} of {len(values)} codes differently from the "
            f"reference ({'counter' if spec.kind == 'hotp' else 'time'} {bad[0]}, ...)"
        )
    return len(values)


def confirm_code(s: Session, spec: AccountSpec) -> None:
    hint = "after a long press, " if spec.kind == "hotp" else ""
    for _ in range(3):
        typed = click.prompt(
            f"Type the code the token shows for {spec.label} ({hint}{spec.digits} digits)",
            err=True,
        ).replace(" ", "")
        if not typed.isdigit():
            click.echo("digits only, please", err=True)
            continue
        if spec.kind == "hotp":
            ok = any(int(typed) == expected(spec, spec.counter + i) for i in range(3))
        else:
            now = int(time.time())
            ok = any(int(typed) == expected(spec, now + d * spec.period) for d in (-1, 0, 1))
        if ok:
            return
        click.echo("that is not the expected code", err=True)
    raise VerificationError("the code typed does not match the account's")


def register(group: click.Group) -> None:
    @group.command()
    @click.argument("uri", required=False)
    @click.option("--secret", metavar="B32", help="Base32 secret (instead of a URI).")
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
    @click.option("--counter", default=0, show_default=True, type=click.IntRange(0, 2**64 - 1))
    @click.option("--qr", metavar="IMAGE", help="Read the otpauth:// URI from a QR image.")
    @click.option("--force", is_flag=True, help="Replace an existing account of that label.")
    @click.option("--no-time-sync", is_flag=True, help="Never set the token's clock.")
    @click.option("--confirm", is_flag=True, help="Then type the code the token shows.")
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
        counter: int,
        qr: str | None,
        force: bool,
        no_time_sync: bool,
        confirm: bool,
    ) -> None:
        """Add an account (an otpauth:// URI, a base32 --secret, or a --qr image) and check
        that the token computes its codes exactly as the reference does."""
        spec = build_spec(uri, secret, name, issuer, algorithm, digits, period, hotp, counter, qr)
        s = session(ctx)
        note = ensure_clock(s, no_time_sync)
        if note:
            click.echo(note, err=True)
        try:
            count, capacity = s.add(spec, replace=force)
        except DuplicateError:
            raise DuplicateError(
                f"{spec.label} is already on the token (--force replaces it)"
            ) from None
        try:
            checked = prove(s, spec)
            if confirm:
                confirm_code(s, spec)
        except (HostToolsError, click.exceptions.Abort):
            log.warning("removing %s after a failed check", spec.label)
            try:
                s.delete(spec)
            except HostToolsError as e:
                log.error("could not remove %s: %s", spec.label, e)
            raise
        kind = f"{spec.kind.upper()}, {spec.algorithm.upper()}, {spec.digits} digits"
        kind += f", {spec.period} s" if spec.kind == "totp" else f", counter {spec.counter}"
        click.echo(
            f"provisioned {spec.label} ({kind}); {checked} codes match the reference; "
            f"{count} of {capacity} slots used"
        )
