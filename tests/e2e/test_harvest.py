"""No harvesting of future codes over USB (docs/security.md, "Clock changes"): setting the
token's clock 30 days ahead to read future codes fails; small corrections, the first set of a
token whose clock was never set or stopped, and a change confirmed by a press or the password
keep working, and after a confirmed jump no code leaves over USB for ten minutes."""

from __future__ import annotations

import threading
import time

import panel_decode as pd
import pyotp
import pytest
from e2e_helpers import host_tools, wait_screen

from host_tools import timesync
from host_tools.errors import ExitStatus, PresenceRequiredError
from host_tools.session import open_session

pytestmark = pytest.mark.e2e

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
DAY_MS = 86_400_000
PASSWORD = "harvest guard password"


@pytest.fixture
def token(unpaced_sim, capsys, monkeypatch):
    monkeypatch.delenv("HOST_TOOLS_PASSWORD", raising=False)
    status, out, err = host_tools(
        unpaced_sim, capsys, "provision", "--secret", SECRET, "--name", "alice", "--issuer", "ACME"
    )
    assert status == 0, out + err
    return unpaced_sim


def _offset_s(s) -> float:
    sample = timesync.best(s.time_samples(3))
    assert sample.valid
    return sample.offset_ms / 1000


def _codes_are_current(s) -> None:
    now, codes = s.codes()
    assert now is not None and abs(now - time.time()) < 5
    assert codes[0].code == int(pyotp.TOTP(SECRET).at(now))


def test_setting_the_clock_30_days_ahead_to_read_codes_fails(token):
    with open_session(token.port) as s:
        with pytest.raises(PresenceRequiredError, match="press"):
            s.set_time_ms(round(timesync.host_now_ms()) + 30 * DAY_MS)
        # Not taken: the clock and the codes are still today's.
        assert abs(_offset_s(s)) < 5
        _codes_are_current(s)
        # Creeping there in small steps does not work either: the unconfirmed changes add up.
        s.set_time_ms(round(timesync.host_now_ms()) + 200_000)
        with pytest.raises(PresenceRequiredError):
            s.set_time_ms(round(timesync.host_now_ms()) + 400_000)
        assert 195 < _offset_s(s) < 205
    # The panel asks for the press that nobody gives.
    wait_screen(token, lambda sc, f: sc.has_text("Clock change?"), what="the presence prompt")


def test_small_corrections_and_a_first_set_need_no_press(token, capsys):
    token.control.shift_time(120)  # the RTC drifted two minutes
    with open_session(token.port) as s:
        deadline = time.monotonic() + 10
        while abs(_offset_s(s) - 120) > 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # the firmware re-reads its RTC every 5 s
    status, out, err = host_tools(token, capsys, "time", "sync")
    assert status == 0, out + err
    # A clock that stopped (coin cell out) is set freely, however far off.
    token.control.pull_battery()
    token.control.insert_battery()
    with open_session(token.port) as s:
        deadline = time.monotonic() + 10
        while s.time_sample().valid and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not s.time_sample().valid
    status, out, err = host_tools(token, capsys, "time", "sync")
    assert status == 0, out + err
    with open_session(token.port) as s:
        assert abs(_offset_s(s)) < 1
        _codes_are_current(s)


def test_a_press_accepts_the_change_and_then_codes_are_held(token, capsys):
    with open_session(token.port) as s:
        target = round(timesync.host_now_ms()) + 30 * DAY_MS
        with pytest.raises(PresenceRequiredError):
            s.set_time_ms(target)
        wait_screen(token, lambda sc, f: sc.has_text("Clock change?"), what="the prompt")
        token.control.press(0, 100)
        deadline = time.monotonic() + 10
        while abs(_offset_s(s) - 30 * 86400) > 5 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert abs(_offset_s(s) - 30 * 86400) < 5
        # The future codes do not leave over USB.
        with pytest.raises(PresenceRequiredError, match="held"):
            s.codes()
        with pytest.raises(PresenceRequiredError, match="held"):
            s.calculate(s.accounts()[0])
        with pytest.raises(PresenceRequiredError, match="held"):
            s.screen()
    status, out, err = host_tools(token, capsys, "code", "alice")
    assert status == ExitStatus.PRESENCE_REQUIRED and "held" in err, out + err


def test_the_password_allows_a_large_change_but_codes_are_held(token, capsys, monkeypatch):
    monkeypatch.setenv("HOST_TOOLS_NEW_PASSWORD", PASSWORD)
    status, out, err = host_tools(token, capsys, "password", "set")
    assert status == 0, out + err
    with open_session(token.port) as s:
        s.login(PASSWORD)
        s.set_time_ms(round(timesync.host_now_ms()) + 2 * DAY_MS)
        assert abs(_offset_s(s) - 2 * 86400) < 5
        with pytest.raises(PresenceRequiredError, match="held"):
            s.codes()
    # `time sync` with the password sets it back without a press.
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", PASSWORD)
    status, out, err = host_tools(token, capsys, "time", "sync")
    assert status == 0, out + err
    with open_session(token.port) as s:
        assert abs(_offset_s(s)) < 1


def test_time_sync_of_a_clock_an_hour_off_waits_for_the_press(token, capsys):
    token.control.shift_time(3600)
    with open_session(token.port) as s:
        deadline = time.monotonic() + 10
        while abs(_offset_s(s) - 3600) > 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # the firmware re-reads its RTC every 5 s
        assert abs(_offset_s(s) - 3600) <= 2
    done = threading.Event()

    def press_when_asked() -> None:
        while not done.wait(0.1):
            if pd.decode(token.control.panel()["gddram"]).has_text("Clock change?"):
                token.control.press(0, 100)
                return

    presser = threading.Thread(target=press_when_asked, daemon=True)
    presser.start()
    try:
        status, out, err = host_tools(token, capsys, "time", "sync")
    finally:
        done.set()
        presser.join(5)
    assert status == 0, out + err
    assert "press on its button" in err
    with open_session(token.port) as s:
        assert abs(_offset_s(s)) < 1
        # A confirmed jump of an hour: codes are held over USB for a while.
        with pytest.raises(PresenceRequiredError, match="held"):
            s.codes()
