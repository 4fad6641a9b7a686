"""The provisioning workflow: put one account on the token and prove its codes.

    result = provision(session, spec, replace=False, time_sync=True, notify=print)

1. Ensure the clock: a token whose clock is unset or off by more than a second gets it set
   (`time_sync=False` only warns), since a TOTP account on a wrong clock is useless.
2. ADD the account.
3. Prove it: the token computes codes of the new account at several chosen times (TOTP) or
   counters (HOTP) with CHECK, without using them up, and each is compared with
   host_tools.reference. An optional `confirm` step follows (the CLI asks the user to type
   the code the token shows).
4. On any failure after ADD (a mismatch, a failed confirmation, an interrupt), the account is
   deleted again and the error raised: the token never keeps an account it has not proven.

Any command that adds accounts (provision, and later import or restore) calls `provision`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from host_tools import reference, timesync
from host_tools.account import AccountSpec
from host_tools.errors import DuplicateError, HostToolsError, VerificationError
from host_tools.session import Session

log = logging.getLogger(__name__)

# Times every TOTP account is checked at, besides "now" and the next period: the RFC 6238
# table's times (from 59 s to beyond 2**32) and the 31/32-bit edges.
CHECK_TIMES = (59, 1111111109, 1234567890, 2**31 - 1, 2**31, 2**32, 20000000000)
HOTP_CHECKS = 4  # counters checked from the account's counter on
MAX_CLOCK_OFFSET_MS = 1000.0


@dataclass(frozen=True)
class Provisioned:
    spec: AccountSpec
    checked: int  # codes compared with the reference
    count: int  # accounts on the token now
    capacity: int


def expected(spec: AccountSpec, value: int) -> int:
    """The reference code of `spec` at time `value` (TOTP) or counter `value` (HOTP)."""
    if spec.kind == "hotp":
        return reference.hotp(spec.secret, value, spec.algorithm, spec.digits)
    return reference.totp(spec.secret, value, spec.algorithm, spec.digits, spec.period)


def check_values(spec: AccountSpec, now: int) -> list[int]:
    if spec.kind == "hotp":
        return [spec.counter + i for i in range(HOTP_CHECKS) if spec.counter + i < 2**64]
    return [now, now + spec.period, *CHECK_TIMES]


def text_matches(spec: AccountSpec, typed: str, now: int) -> bool:
    """`code_matches` for a code as text (a Steam code's five characters)."""
    return any(
        typed == reference.format_code(expected(spec, now + d * spec.period), spec.digits)
        for d in (-1, 0, 1)
    )


def code_matches(spec: AccountSpec, typed: int, now: int) -> bool:
    """Whether a code the user read off the token belongs to the account: one period either
    side of now (TOTP), or one of the next three counters (HOTP, after a press)."""
    if spec.kind == "hotp":
        return any(typed == expected(spec, spec.counter + i) for i in range(3))
    return any(typed == expected(spec, now + d * spec.period) for d in (-1, 0, 1))


def ensure_clock(s: Session, time_sync: bool = True) -> str | None:
    """Sync the token's clock if it is unset or off by more than a second; a note to show."""
    sample = timesync.best(s.time_samples(3))
    if sample.valid and abs(sample.offset_ms) <= MAX_CLOCK_OFFSET_MS:
        return None
    what = "not set" if not sample.valid else f"off by {sample.offset_ms / 1000:+.3f} s"
    if not time_sync:
        return f"warning: the token's clock is {what} (--no-time-sync): its codes will be wrong"
    result = timesync.sync(s)
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


def provision(
    s: Session,
    spec: AccountSpec,
    *,
    replace: bool = False,
    time_sync: bool = True,
    confirm: Callable[[AccountSpec], None] | None = None,
    notify: Callable[[str], None] = lambda note: None,
) -> Provisioned:
    """Steps 1-4 of the module docstring. `confirm` raises to refuse the account."""
    note = ensure_clock(s, time_sync)
    if note:
        notify(note)
    try:
        count, capacity = s.add(spec, replace=replace)
    except DuplicateError:
        raise DuplicateError(
            f"{spec.label} is already on the token (--force replaces it)"
        ) from None
    try:
        checked = prove(s, spec)
        if confirm is not None:
            confirm(spec)
    except BaseException:
        # Whatever stopped us (a mismatch, a wrong code typed, Ctrl-C): an unproven account
        # must not stay on the token.
        log.warning("removing %s after a failed check", spec.label)
        try:
            s.delete(spec)
        except HostToolsError as e:
            log.error("could not remove %s: %s", spec.label, e)
        raise
    return Provisioned(spec, checked, count, capacity)
