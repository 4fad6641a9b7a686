"""Locked mode on the virtual token (docs/security.md, "Locked mode"): after `lock` the USB port
speaks only the protocol. mpremote gets no REPL; Ctrl-C sent without pause while the token
resets 20 times never shows a prompt, and the protocol still works; `unlock` with the password
opens the REPL until the next reset; deploy and device-test stop with a clear message.

The sim turns Ctrl-C on before boot.py and main.py as the port does, and follows the
firmware's own kbd_intr() calls (host_tools/sim/README.md), so the boot window is there."""

from __future__ import annotations

import threading
import time

import panel_decode as pd
import pytest
import serial
from e2e_helpers import host_tools

from host_tools.errors import ExitStatus
from host_tools.session import open_session

pytestmark = pytest.mark.e2e

PASSWORD = "locked token password"
RESETS = 20
FLOOD_AFTER_S = 3.0


def _mpremote_fails(sim, *args: str) -> str:
    """Run mpremote on the locked token: it must fail without ever seeing a REPL.

    Through a symlink to the port: mpremote reads a path under /dev/pts/ with no timeout at
    all (for QEMU's ptys), so on the sim's pty it would wait forever for a REPL that never
    comes; through any other path it polls, as on /dev/ttyUSB0, and gives up after its 10 s
    with "could not enter raw repl"."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    mpremote = Path(sys.executable).parent / "mpremote"
    with tempfile.TemporaryDirectory() as d:
        link = os.path.join(d, "ttyTOKEN")
        os.symlink(sim.port, link)
        proc = subprocess.run(
            [str(mpremote), "connect", link, *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, (args, out)
    assert "could not enter raw repl" in out, out
    assert ">>>" not in out and "raw REPL;" not in out, out
    return out


@pytest.fixture
def locked(unpaced_sim, capsys, monkeypatch):
    monkeypatch.setenv("HOST_TOOLS_NEW_PASSWORD", PASSWORD)
    status, out, err = host_tools(unpaced_sim, capsys, "password", "set")
    assert status == 0, out + err
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", PASSWORD)
    status, out, err = host_tools(unpaced_sim, capsys, "lock")
    assert status == 0, out + err
    with open_session(unpaced_sim.port) as s:
        assert s.info().locked
    return unpaced_sim


class _Flood:
    """Ctrl-C every 2 ms on the port, and everything the port says, from a thread."""

    def __init__(self, port: str) -> None:
        self.port = serial.Serial(port, 115200, timeout=0.01)
        self.seen = bytearray()
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.port.write(b"\x03")
            self.sent += 1
            self.seen += self.port.read(4096)
            time.sleep(0.002)

    def __enter__(self) -> _Flood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.port.close()


def test_ctrl_c_through_twenty_resets_never_reaches_a_prompt(locked):
    sim = locked
    boots = sim.control.status()["boot_count"]
    # Resets land at different points of the boot: at once, and later in main.py and the app.
    delays = [0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 0.01, 0.03, 0.15]
    t0 = time.monotonic()
    stopped = []

    def app_stopped() -> None:
        # Ctrl-C must not even reach the app: a KeyboardInterrupt stops it, and a stopped app
        # says so on the panel ("Token stopped") before main.py starts it again.
        if pd.decode(sim.control.panel()["gddram"]).has_text("Token stopped"):
            stopped.append(time.monotonic() - t0)

    with _Flood(sim.port) as flood:
        time.sleep(0.2)
        for i in range(RESETS):
            sim.control.reset()
            boots += 1
            sim.control.wait_ready(boot_count=boots, timeout=20)
            time.sleep(delays[i % len(delays)])
            app_stopped()
        end = time.monotonic() + FLOOD_AFTER_S
        while time.monotonic() < end:
            app_stopped()
            time.sleep(0.05)
    took = time.monotonic() - t0
    seen = bytes(flood.seen)
    assert flood.sent > took * 50, (flood.sent, took)  # on average one every 20 ms at least
    assert b">>>" not in seen, seen[-400:]
    assert b"raw REPL" not in seen, seen[-400:]
    assert took < 120, took  # about 15 s on an idle machine; the bound keeps make test bounded
    assert not stopped, f"the app was stopped by Ctrl-C at {stopped} s"
    # The protocol still works and the token is still locked.
    with open_session(sim.port) as s:
        info = s.info()
    assert info.locked and info.password_set


def test_mpremote_gets_no_repl(locked):
    sim = locked
    _mpremote_fails(sim, "resume", "exec", "print(1)")
    _mpremote_fails(sim, "resume", "fs", "ls")
    # The protocol still answers after mpremote's Ctrl-A/B/C/D.
    with open_session(sim.port) as s:
        assert s.info().locked


def test_unlock_opens_the_repl_until_the_next_reset(locked, capsys):
    # A test of its own (its own sim): each refused mpremote waits its full 10 s, and mpremote
    # holds the port exclusively, so the refusals cannot overlap within one test.
    sim = locked
    status, out, err = host_tools(sim, capsys, "unlock")
    assert status == 0, out + err
    proc = sim.mpremote("resume", "exec", "print(6 * 7)")
    assert "42" in proc.stdout
    sim.control.reset()
    sim.control.wait_ready(boot_count=sim.control.status()["boot_count"], timeout=20)
    with open_session(sim.port) as s:
        assert s.info().locked
    _mpremote_fails(sim, "resume", "exec", "print(1)")


def test_deploy_and_device_test_stop_on_a_locked_token(locked, capsys):
    sim = locked
    for args in (("deploy",), ("device-test", "test_backoff")):
        status, out, err = host_tools(sim, capsys, *args)
        assert status == ExitStatus.TOKEN_LOCKED, (args, out, err)
        assert err.strip() == "host_tools: the token is locked: run `host_tools unlock`", err


def test_unlock_for_good_leaves_locked_mode(locked, capsys):
    sim = locked
    status, out, err = host_tools(sim, capsys, "unlock", "--permanent")
    assert status == 0, out + err
    sim.control.reset()
    sim.control.wait_ready(boot_count=sim.control.status()["boot_count"], timeout=20)
    with open_session(sim.port) as s:
        assert not s.info().locked
    proc = sim.mpremote("resume", "exec", "print(6 * 7)")
    assert "42" in proc.stdout
