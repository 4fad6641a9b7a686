"""A token never shows a code that is not current: when the app stops (here a Ctrl-C byte on
the serial line, as line noise or a terminal program sends it), the panel is blanked at once
and says why, and it stays that way while the REPL has the port."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import panel_decode as pd
import pyotp
import pytest
import serial
from e2e_helpers import wait_screen

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_ctrl_c_blanks_the_code_and_shows_why(sim):
    proc = subprocess.run(
        [str(BIN / "host_tools"), "--port", sim.port, "provision", "--secret", SECRET,
         "--name", "alice", "--issuer", "ACME"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr + sim.output()
    frame, screen = wait_screen(sim, lambda s, f: s.code is not None, what="a code")
    assert screen.code == pyotp.TOTP(SECRET).at(int(frame["state"]["rtc_ns"] / 1e9))

    with serial.Serial(sim.port, 115200, timeout=0.2) as port:
        port.write(b"\x03")
        port.flush()
        t0 = time.monotonic()
        frame, screen = wait_screen(
            sim, lambda s, f: s.has_text("Token stopped"), what="the stop screen", timeout=5.0
        )
        took = time.monotonic() - t0
        assert screen.code is None and not screen.digit_rows, screen.text
        assert screen.has_text("USB REPL")
        assert frame["state"]["display_on"]
        # Well within one code period, and nothing comes back over it (the app is stopped).
        assert took < 2.0, took
        time.sleep(1.5)
        later = pd.decode(sim.control.panel()["gddram"])
        assert later.code is None and later.has_text("Token stopped"), later.text
        # The port now belongs to the REPL, as on a board.
        port.write(b"\r")
        seen = b""
        deadline = time.monotonic() + 5
        while b">>> " not in seen and time.monotonic() < deadline:
            seen += port.read(256)
        assert b">>> " in seen, seen[-200:]
