"""The protocol on the virtual token's serial port: noise, overflow, retries, and the screen
that keeps running while the host talks (the sim models the ESP32's 260-byte input buffer
and 115200-baud line)."""

from __future__ import annotations

import random
import threading
import time

import pytest

from host_tools import reference, timesync
from host_tools.errors import DeviceTimeoutError
from host_tools.otpauth import AccountSpec
from host_tools.session import Session
from host_tools.transport import SerialTransport

pytestmark = pytest.mark.e2e


def session(sim) -> Session:  # type: ignore[no-untyped-def]
    return Session(SerialTransport.open(sim.port))


def test_handshake_and_info(sim) -> None:  # type: ignore[no-untyped-def]
    with session(sim) as s:
        assert s.hello_info is not None and s.hello_info.major == 1
        info = s.info()
        assert (info.capacity, info.count, info.display) == (64, 0, True)


def test_noise_on_the_line_is_ignored(sim) -> None:  # type: ignore[no-untyped-def]
    t = SerialTransport.open(sim.port)
    # Typing at the token, a frame-like line that is not a frame, and 2 KB of printable junk:
    # the server skips all of it and then answers the session normally.
    t.write(
        b"help()\r\n!bogus\r\n" + bytes(random.Random(1).randrange(32, 127) for _ in range(2000))
    )
    time.sleep(0.5)
    s = Session(t, timeout=1.0)
    assert s.info().count == 0 and s.link.retries == 0
    s.close()


def test_a_second_session_and_reconnects_work(sim) -> None:  # type: ignore[no-untyped-def]
    with session(sim) as s:
        s.add(AccountSpec("totp", "A", "one", b"1" * 20))
    with session(sim) as s:
        assert [a.label for a in s.accounts()] == ["A:one"]


def test_the_screen_keeps_running_during_a_long_exchange(sim) -> None:  # type: ignore[no-untyped-def]
    with session(sim) as s:
        s.add(AccountSpec("totp", "Busy", "screen", b"s" * 20))
        timesync.sync(s)
        versions: list[int] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                versions.append(sim.control.status()["panel_version"])
                time.sleep(0.2)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            start = time.monotonic()
            vectors = reference.random_vectors(400, random.Random(4))
            assert s.vectors(vectors) == [v.code for v in vectors]
            busy = time.monotonic() - start
        finally:
            done.set()
            watcher.join()
        # The countdown bar moves every second: the panel kept changing while VECTORS ran.
        assert busy > 2
        changes = sum(1 for a, b in zip(versions, versions[1:], strict=False) if b != a)
        assert changes >= int(busy) - 1, (busy, versions)


def test_a_stopped_firmware_times_out_cleanly(sim) -> None:  # type: ignore[no-untyped-def]
    t = SerialTransport.open(sim.port)
    t.write(b"\r\x03\x03")  # Ctrl-C: the app stops, the REPL answers instead
    time.sleep(1.0)
    with pytest.raises(DeviceTimeoutError, match="REPL"):
        Session(t, timeout=0.5, attempts=2)
    t.close()
