"""Factory reset (docs/security.md): from a token with accounts, a device PIN, a password and
the lock,
`host_tools wipe --factory` (no password) and the power-on gesture (every button held for
10 s) each leave an empty, unlocked token without a password; the gesture released early
erases nothing."""

from __future__ import annotations

import time

import pytest
from e2e_helpers import host_tools, wait_screen

from host_tools.session import open_session

pytestmark = pytest.mark.e2e

PASSWORD = "factory reset password"
PIN = "4711"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def protected(unpaced_sim, capsys, monkeypatch):
    """Two accounts, a device PIN, a password, locked; no PIN or password in the environment
    afterwards."""
    sim = unpaced_sim
    for name in ("alice", "bob"):
        status, out, err = host_tools(
            sim, capsys, "provision", "--secret", SECRET, "--name", name, "--issuer", "ACME"
        )
        assert status == 0, out + err
    monkeypatch.setenv("HOST_TOOLS_PIN", PIN)
    status, out, err = host_tools(sim, capsys, "pin", "set")
    assert status == 0, out + err
    monkeypatch.delenv("HOST_TOOLS_PIN")
    monkeypatch.setenv("HOST_TOOLS_NEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", PASSWORD)
    for args in (("password", "set"), ("lock",)):
        status, out, err = host_tools(sim, capsys, *args)
        assert status == 0, out + err
    monkeypatch.delenv("HOST_TOOLS_PASSWORD")
    monkeypatch.delenv("HOST_TOOLS_NEW_PASSWORD")
    with open_session(sim.port) as s:
        info = s.info()
    assert info.count == 2 and info.pin_set and info.password_set and info.locked
    return sim


def _empty_and_open(sim) -> None:
    with open_session(sim.port) as s:
        info = s.info()
        assert (info.count, info.pin_set, info.password_set, info.locked) == (
            0,
            False,
            False,
            False,
        ), info
        assert s.accounts() == []  # no password asked
    proc = sim.mpremote("resume", "exec", "print(6 * 7)")
    assert "42" in proc.stdout


def test_wipe_factory_needs_no_password(protected, capsys):
    sim = protected
    status, out, err = host_tools(sim, capsys, "wipe", "--factory", "--force", stdin="")
    assert status == 0, out + err
    assert "factory reset" in out
    _empty_and_open(sim)
    # It stays so after a reset.
    boots = sim.control.status()["boot_count"]
    sim.control.reset()
    sim.control.wait_ready(boot_count=boots + 1, timeout=20)
    with open_session(sim.port) as s:
        info = s.info()
    assert (info.count, info.pin_set, info.password_set, info.locked) == (0, False, False, False)


def _reset_holding_buttons(sim, ms: int) -> None:
    boots = sim.control.status()["boot_count"]
    sim.control.reset()
    sim.control.press(0, ms)  # applied as the new boot first touches the hardware
    sim.control.press(1, ms)
    sim.control.wait_ready(boot_count=boots + 1, timeout=30)


def test_the_power_on_gesture_erases_everything(protected):
    sim = protected
    _reset_holding_buttons(sim, 11_500)
    wait_screen(sim, lambda s, f: s.has_text("Keep holding"), what="the countdown")
    wait_screen(sim, lambda s, f: s.has_text("Done"), timeout=20, what="the reset done")
    time.sleep(2.5)  # the token starts normally after saying so
    _empty_and_open(sim)


def test_the_gesture_released_early_erases_nothing(protected):
    sim = protected
    _reset_holding_buttons(sim, 3_000)
    wait_screen(sim, lambda s, f: s.has_text("Keep holding"), what="the countdown")
    wait_screen(sim, lambda s, f: s.has_text("Cancelled"), timeout=10, what="cancelled")
    time.sleep(1.5)
    with open_session(sim.port) as s:
        info = s.info()
    assert info.count == 2 and info.pin_set and info.password_set and info.locked
