"""The provisioning workflow on its own (no CLI), against the real firmware server under
`micropython`: the clock is ensured first, the codes proven, and an account that fails any
step after ADD (even by an interrupt) is removed again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mptoken import MicroPythonToken

from host_tools import provisioning
from host_tools.account import AccountSpec
from host_tools.errors import DuplicateError, VerificationError
from host_tools.session import Session

SPEC = AccountSpec("totp", "ACME", "alice", b"12345678901234567890")


@pytest.fixture
def unset_token(tmp_path: Path) -> Iterator[MicroPythonToken]:
    t = MicroPythonToken(tmp_path, clock_offset_ms=None)
    yield t
    assert "Traceback" not in t.stop()


def test_an_unset_clock_is_set_then_the_codes_proven(unset_token: MicroPythonToken) -> None:
    s = Session(unset_token.transport)
    notes: list[str] = []
    done = provisioning.provision(s, SPEC, notify=notes.append)
    assert (done.checked, done.count, done.capacity) == (9, 1, 64)
    assert len(notes) == 1 and "was not set; set it" in notes[0]
    assert s.info().clock_valid and [a.label for a in s.accounts()] == ["ACME:alice"]


def test_without_time_sync_the_clock_is_only_warned_about(unset_token: MicroPythonToken) -> None:
    s = Session(unset_token.transport)
    notes: list[str] = []
    provisioning.provision(s, SPEC, time_sync=False, notify=notes.append)
    assert "warning" in notes[0] and not s.info().clock_valid


@pytest.mark.parametrize("failure", [VerificationError("no"), KeyboardInterrupt()])
def test_a_failed_confirmation_removes_the_account(
    unset_token: MicroPythonToken, failure: BaseException
) -> None:
    s = Session(unset_token.transport)

    def confirm(spec: AccountSpec) -> None:
        assert [a.label for a in s.accounts()] == [spec.label]  # it was added
        raise failure

    with pytest.raises(type(failure)):
        provisioning.provision(s, SPEC, confirm=confirm)
    assert s.accounts() == []


def test_a_duplicate_says_how_to_replace_it(unset_token: MicroPythonToken) -> None:
    s = Session(unset_token.transport)
    provisioning.provision(s, SPEC)
    with pytest.raises(DuplicateError, match="--force"):
        provisioning.provision(s, SPEC)
    assert provisioning.provision(s, SPEC, replace=True).count == 1


def test_code_matches_a_period_either_side_and_the_next_counters() -> None:
    now = 1_700_000_000
    for delta in (-30, 0, 30):
        assert provisioning.code_matches(SPEC, provisioning.expected(SPEC, now + delta), now)
    assert not provisioning.code_matches(SPEC, provisioning.expected(SPEC, now + 90), now)
    hotp = AccountSpec("hotp", "ACME", "h", SPEC.secret, counter=5)
    assert provisioning.code_matches(hotp, provisioning.expected(hotp, 7), now)
    assert not provisioning.code_matches(hotp, provisioning.expected(hotp, 4), now)
