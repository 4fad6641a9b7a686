"""A Steam Guard account end to end on the virtual token: provisioned over the serial line,
its code read with `code --json` and off the panel (decoded from the SSD1306 model's GDDRAM
with the project's font), compared with the host reference, pyotp's Steam helper and the codes
KeePassXC publishes (tests/TestTotp.cpp, testSteamTotp: secret
63BEDWCQZKTQWPESARIERL5DTTQFCJTK gives FR8RV at 1511200518, made with the Steam mobile app)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from e2e_helpers import host_tools, wait_screen
from pyotp.contrib import Steam

from host_tools import reference

pytestmark = pytest.mark.e2e

STEAM_B32 = "63BEDWCQZKTQWPESARIERL5DTTQFCJTK"
SECRET = base64.b32decode(STEAM_B32)
PUBLISHED_T, PUBLISHED_CODE = 1511200518, "FR8RV"


def rtc_s(frame: dict) -> float:
    """The DS3231 model's time when this frame reached the panel."""
    return float(frame["state"]["rtc_ns"]) / 1e9


def reboot_at(sim, unix: float) -> None:  # type: ignore[no-untyped-def]
    """Set the RTC, then press reset: the token boots reading that time; returns once the new
    boot has drawn its first frame."""
    boots = sim.control.status()["boot_count"]
    sim.control.set_time(unix)
    sim.control.reset()
    sim.control.wait_ready(boot_count=boots + 1)
    deadline = time.monotonic() + 10
    while sim.control.status()["boot_first_frame_s"] is None:
        assert time.monotonic() < deadline, "no first frame after the reset"
        time.sleep(0.02)


def test_steam_account_codes_on_the_wire_and_the_panel(unpaced_sim, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = host_tools(
        unpaced_sim, capsys, "provision", "--steam", "--secret", "-", "--name", "Steam:gamer",
        stdin=STEAM_B32 + "\n",
    )  # fmt: skip
    assert status == 0, err
    assert "Steam Guard" in out and STEAM_B32 not in out + err

    # `code --json` at the token's own time: the reference and pyotp's Steam helper agree.
    status, out, err = host_tools(unpaced_sim, capsys, "code", "--json")
    assert status == 0, err
    result = json.loads(out)
    (entry,) = result["codes"]
    assert (entry["type"], entry["digits"], entry["period"]) == ("steam", 5, 30)
    assert entry["code"] == reference.steam(SECRET, result["token_time"])
    assert entry["code"] == Steam(STEAM_B32).at(result["token_time"])

    # The panel shows the same code, in the large font's letters.
    frame, screen = wait_screen(
        unpaced_sim, lambda s, f: s.code is not None, what="the Steam code on the panel"
    )
    assert screen.code == reference.steam(SECRET, int(rtc_s(frame))), screen.text
    assert screen.position == "1/1" and screen.has_text("Steam")

    # 5 s into the time step of the published code: the panel and the wire say FR8RV.
    reboot_at(unpaced_sim, PUBLISHED_T - PUBLISHED_T % 30 + 5.0)
    frame, screen = wait_screen(
        unpaced_sim, lambda s, f: s.code is not None, what="the published Steam code"
    )
    assert screen.code == PUBLISHED_CODE, screen.text
    status, out, err = host_tools(unpaced_sim, capsys, "code", "--json")
    assert status == 0, err
    assert json.loads(out)["codes"][0]["code"] == PUBLISHED_CODE

    # In the step's last seconds the next code shows too, in small type (preview_s is 5).
    step = PUBLISHED_T - PUBLISHED_T % 30
    reboot_at(unpaced_sim, step + 25.5)
    frame, screen = wait_screen(
        unpaced_sim, lambda s, f: s.preview is not None, what="the next Steam code"
    )
    assert screen.preview == reference.steam(SECRET, step + 30), screen.text
    assert screen.code == PUBLISHED_CODE  # a frame with the preview is still in the step
