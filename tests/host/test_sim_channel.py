"""The sim's side channel (host_tools.sim.channel): model commands queued until acked, a
refusal passed to the waiter and not kept, timeouts, re-sending to the next boot, and the
key that keeps other processes out. Fake connections, a fake clock; one real localhost
socket for the handshake."""

from __future__ import annotations

import json
import selectors
import socket
from typing import Any

from host_tools.sim.channel import NOT_APPLIED, SideChannel


class FakeConn:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.closed = False

    def send_line(self, obj: dict) -> None:
        self.sent.append(obj)


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def make() -> tuple[SideChannel, FakeClock, list[dict], list[dict], FakeConn]:
    clock = FakeClock()
    messages: list[dict] = []
    statuses: list[dict] = []
    channel = SideChannel(selectors.DefaultSelector(), clock, messages.append, statuses.append)
    fw = FakeConn()
    channel.conn = fw  # type: ignore[assignment]
    return channel, clock, messages, statuses, fw


def test_a_command_is_sent_with_an_id_and_kept_until_acked() -> None:
    channel, _, _, _, fw = make()
    waiter = FakeConn()
    first = channel.command({"t": "rtc_set", "unix": 1_900_000_000}, waiter)  # type: ignore[arg-type]
    second = channel.command({"t": "battery", "fitted": False})
    assert fw.sent == [
        {"t": "rtc_set", "unix": 1_900_000_000, "id": first},
        {"t": "battery", "fitted": False, "id": second},
    ]
    assert set(channel.unacked) == {first, second}
    channel.ack({"t": "ack", "id": first})
    assert waiter.sent == [{"ok": True, "applied": True}]
    assert set(channel.unacked) == {second}


def test_a_refusal_reaches_the_waiter_and_is_not_kept() -> None:
    channel, _, _, _, _ = make()
    waiter = FakeConn()
    cmd = channel.command({"t": "rtc_set", "unix": 0}, waiter)  # type: ignore[arg-type]
    error = "ValueError: DS3231 model: time outside 2000..2199"
    channel.ack({"t": "ack", "id": cmd, "error": error})
    assert waiter.sent == [{"ok": False, "error": error}]
    assert channel.unacked == {}


def test_ack_counters_go_to_the_status() -> None:
    channel, _, _, statuses, _ = make()
    waiter = FakeConn()
    cmd = channel.command({"t": "status"}, waiter)  # type: ignore[arg-type]
    channel.ack({"t": "ack", "id": cmd, "rtc_unix": 5, "battery": True})
    assert statuses == [{"rtc_unix": 5, "battery": True}]
    assert waiter.sent == [{"ok": True, "applied": True, "rtc_unix": 5, "battery": True}]
    channel.ack({"t": "ack", "id": "junk"})  # an id we never sent: ignored
    channel.ack({"t": "ack", "id": 999})


def test_a_waiter_times_out_and_the_command_stays_queued() -> None:
    channel, clock, _, _, _ = make()
    waiter = FakeConn()
    cmd = channel.command({"t": "rtc_shift", "s": 5}, waiter, timeout=2.0)  # type: ignore[arg-type]
    status = channel.command({"t": "status"}, waiter, timeout=2.0)  # type: ignore[arg-type]
    clock.now += 1.9
    channel.expire()
    assert waiter.sent == []
    clock.now += 0.2
    channel.expire()
    assert waiter.sent == [{"ok": False, "error": NOT_APPLIED}] * 2
    assert set(channel.unacked) == {cmd}  # a status request means nothing later: dropped
    assert status not in channel.unacked
    channel.expire()
    assert len(waiter.sent) == 2  # answered once


def test_queued_commands_go_again_to_the_next_boot_but_not_presses() -> None:
    channel, _, _, _, _ = make()
    channel.conn = None  # the firmware is off
    channel.command({"t": "press", "button": 0, "ms": 100})
    shift = channel.command({"t": "rtc_shift", "s": 1})
    new = FakeConn()
    channel.conn = new  # type: ignore[assignment]
    channel.resend_pending()
    assert new.sent == [{"t": "rtc_shift", "s": 1, "id": shift}]


def _connect(channel: SideChannel) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", int(channel.env()["SIM_LINK_PORT"])))
    for key, _ in channel.sel.select(1.0):  # accept
        key.data()
    return sock


def _pump(channel: SideChannel) -> None:
    """Run the channel's part of the loop until nothing more arrives."""
    while events := channel.sel.select(0.1):
        for key, _ in events:
            key.data()


def _line(obj: Any) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def test_only_a_hello_with_the_key_is_heard() -> None:
    clock = FakeClock()
    messages: list[dict] = []
    channel = SideChannel(selectors.DefaultSelector(), clock, messages.append, lambda s: None)
    try:
        intruder = _connect(channel)
        intruder.sendall(_line({"t": "hello", "key": "wrong"}) + _line({"t": "frame"}))
        _pump(channel)
        assert messages == [] and not channel.up
        assert intruder.recv(10) == b""  # closed on us
        intruder.close()
        fw = _connect(channel)
        fw.sendall(_line({"t": "hello", "key": channel.key}) + b'{"t": "fr\n' + _line({"t": "x"}))
        _pump(channel)
        assert [m["t"] for m in messages] == ["hello", "x"]  # the torn line is skipped
        assert channel.up
        fw.close()
        _pump(channel)
        assert not channel.up
    finally:
        channel.shutdown()
