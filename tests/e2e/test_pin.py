"""The device PIN on the virtual token, end to end: `host_tools pin set`, codes hidden after a
reset until the PIN is typed with (simulated) button presses, no secret anywhere in the flash
image in any encoding, the count of wrong PINs kept across a reset, and the screen timeout
asking for the PIN again.

The PIN is typed as a person would with two buttons (the sim board has two): NEXT shows the
next value, PREVIOUS accepts it. Every press waits for the panel to show its effect, so
presses never merge. The tenth wrong PIN's wipe is proven on the firmware (test_pin_app.py,
test_pin.py), where the clock of the delays can be moved: here nine wrong PINs would take
the delays' real 511 seconds.
"""

from __future__ import annotations

import base64
import binascii
import json
import time

import pyotp
import pytest
from e2e_helpers import host_tools, wait_screen

from host_tools.sim.control import BUTTON_NEXT, BUTTON_PREVIOUS

pytestmark = pytest.mark.e2e

PIN = "1201"  # few presses: 1 + 2 + 0 + 1 steps
# Distinct secrets of the three sizes the algorithms use.
SECRETS = (
    bytes.fromhex("3132333435363738393031323334353637383930"),
    bytes(range(100, 132)),
    bytes((i * 37 + 11) & 0xFF for i in range(64)),
)
ALGORITHMS = ("sha1", "sha256", "sha512")


def _b32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def _forms(secret: bytes) -> list[bytes]:
    b32 = base64.b32encode(secret)
    hexed = binascii.hexlify(secret)
    return [secret, b32.rstrip(b"="), b32.rstrip(b"=").lower(), hexed, hexed.upper()]


def _setup(sim, capsys, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Clock set, PIN set first (so no secret is ever written unencrypted), then three
    accounts provisioned over the real path."""
    assert host_tools(sim, capsys, "time", "sync")[0] == 0
    monkeypatch.setenv("HOST_TOOLS_PIN", PIN)
    status, out, err = host_tools(sim, capsys, "pin", "set")
    assert status == 0, err
    for i, secret in enumerate(SECRETS):
        status, _, err = host_tools(
            sim, capsys, "provision", "--secret", "-", "--name", f"acct{i}",
            "--algorithm", ALGORITHMS[i], stdin=_b32(secret) + "\n",
        )  # fmt: skip
        assert status == 0, err


def _reset(sim) -> None:  # type: ignore[no-untyped-def]
    boots = sim.control.status()["boot_count"]
    sim.control.reset()
    sim.control.wait_ready(boot_count=boots + 1)


def _press(sim, button: int, expect: str) -> None:  # type: ignore[no-untyped-def]
    """Press, then wait for the picker's line to read `expect` (digits so far as '*' and
    the value being chosen)."""
    sim.control.press(button, 100)
    wait_screen(
        sim, lambda s, f: any(t.strip() == expect for _, t in s.lines),
        what=f"{expect!r} after a press",
    )  # fmt: skip


def _type_pin(sim, pin: str) -> None:  # type: ignore[no-untyped-def]
    """The PIN with the two buttons, each press seen on the panel; then OK."""
    done = ""
    for ch in pin:
        value = 0
        for _ in range(int(ch)):
            value += 1
            _press(sim, BUTTON_NEXT, "*" * len(done) + str(value))
        done += ch
        nxt = "OK" if len(done) >= 4 else "0"
        _press(sim, BUTTON_PREVIOUS, "*" * len(done) + nxt)
    sim.control.press(BUTTON_PREVIOUS, 100)  # accept OK: the PIN is checked


def test_codes_stay_hidden_until_the_pin_is_typed_and_flash_holds_no_secret(  # type: ignore[no-untyped-def]
    unpaced_sim, capsys, monkeypatch
) -> None:
    sim = unpaced_sim
    _setup(sim, capsys, monkeypatch)
    _reset(sim)
    frame, screen = wait_screen(sim, lambda s, f: s.has_text("Enter PIN"), what="the PIN pad")
    assert screen.code is None and screen.has_text("Tries left: 10")
    # Over USB: no codes and no picture of the panel until the PIN is entered on the token.
    for args in (("code",), ("screen",)):
        status, _, err = host_tools(sim, capsys, *args)
        assert status == 25, (args, err)
    _type_pin(sim, PIN)
    frame, screen = wait_screen(sim, lambda s, f: s.code is not None, what="a code")
    now = frame["state"]["rtc_ns"] / 1e9
    want = pyotp.TOTP(_b32(SECRETS[0]), digest="sha1").at(now)
    assert screen.code in (want, pyotp.TOTP(_b32(SECRETS[0])).at(now - 1))
    status, out, err = host_tools(sim, capsys, "code", "--json")
    assert status == 0, err
    assert len(json.loads(out)["codes"]) == 3

    # The whole flash image: no secret in any encoding, in any file or free block.
    sim.stop()
    image = (sim.state_dir / "flash.img").read_bytes()
    assert b"acct2" in image  # the right image: labels are stored as they are
    for secret in SECRETS:
        for form in _forms(secret):
            assert form not in image, form


def test_wrong_pins_are_counted_across_a_reset(  # type: ignore[no-untyped-def]
    unpaced_sim, capsys, monkeypatch
) -> None:
    sim = unpaced_sim
    assert host_tools(sim, capsys, "time", "sync")[0] == 0
    monkeypatch.setenv("HOST_TOOLS_PIN", PIN)
    assert host_tools(sim, capsys, "pin", "set")[0] == 0
    _reset(sim)
    wait_screen(sim, lambda s, f: s.has_text("Enter PIN"), what="the PIN pad")
    _type_pin(sim, "0000")
    wait_screen(
        sim, lambda s, f: s.has_text("Wrong PIN") and s.has_text("Wrong PINs: 1"),
        what="the wrong PIN counted",
    )  # fmt: skip
    _reset(sim)
    frame, screen = wait_screen(
        sim, lambda s, f: s.has_text("Wrong PINs: 1") and s.has_text("Tries left: 9"),
        what="the count after a reset",
    )  # fmt: skip
    status, out, _ = host_tools(sim, capsys, "pin", "status", "--json")
    st = json.loads(out)
    assert st["failures"] == 1 and st["entered"] is False
    time.sleep(st["wait_s"])  # the delay restarted at boot: wait it out, then the right PIN
    _type_pin(sim, PIN)
    wait_screen(sim, lambda s, f: s.has_text("No accounts"), what="the unlocked token")
    status, out, _ = host_tools(sim, capsys, "pin", "status", "--json")
    assert json.loads(out)["failures"] == 0 and json.loads(out)["entered"] is True
    # The screen timeout locks again: the press that wakes the panel shows the PIN pad.
    assert host_tools(sim, capsys, "config", "set", "screen_timeout_s", "5")[0] == 0
    time.sleep(6)
    status, out, _ = host_tools(sim, capsys, "pin", "status", "--json")
    assert json.loads(out)["entered"] is False
    sim.control.press(BUTTON_NEXT, 100)
    wait_screen(sim, lambda s, f: s.has_text("Enter PIN"), what="the PIN pad after a timeout")
