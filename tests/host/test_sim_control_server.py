"""The sim's control server (host_tools.sim.control_server): its table of handlers, driven
with a fake board and a fake connection (no socket, no firmware); and one round trip over a
real unix socket with the client, SimControl."""

from __future__ import annotations

import selectors
import threading
from pathlib import Path
from typing import Any

import pytest

from host_tools.sim import SimError
from host_tools.sim.control import SimControl
from host_tools.sim.control_server import MODEL_COMMANDS, ControlServer
from host_tools.sim.jsonconn import JsonConn


class FakeConn:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.closed = False

    def send_line(self, obj: dict) -> None:
        self.sent.append(obj)


class FakeBoard:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.version = 7
        self.running = True

    def press(self, button: int, ms: int) -> None:
        if button not in (0, 1):
            raise SimError("button must be 0 (next) or 1 (previous)")
        self.calls.append(("press", (button, ms)))

    def model_command(self, msg: dict, waiter: Any, timeout: float) -> None:
        self.calls.append(("model", (msg, waiter, timeout)))

    def cut_power(self) -> None:
        if not self.running:
            raise SimError("the firmware is not running")
        self.calls.append(("cut_power", None))

    def reset(self) -> None:
        self.calls.append(("reset", None))

    def panel_info(self) -> dict:
        return {"version": self.version, "gddram": "00"}

    def panel_version(self) -> int:
        return self.version

    def snapshot(self, path: str | None, scale: int) -> Path:
        self.calls.append(("snapshot", (path, scale)))
        return Path("/snap/panel.png")

    def status(self) -> dict:
        return {"phase": "running", "repl": "friendly"}

    def quit(self) -> None:
        self.calls.append(("quit", None))


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def make() -> tuple[ControlServer, FakeBoard, FakeClock, FakeConn]:
    board, clock = FakeBoard(), FakeClock()
    return ControlServer(board, clock), board, clock, FakeConn()


def ask(server: ControlServer, conn: FakeConn, **msg: Any) -> dict | None:
    before = len(conn.sent)
    server.handle(conn, msg)  # type: ignore[arg-type]
    return conn.sent[-1] if len(conn.sent) > before else None


def test_every_command_has_a_handler() -> None:
    server, *_ = make()
    expected = {"press", "cut_power", "reset", "panel", "wait_frame", "snapshot", "status", "quit"}
    assert set(server.handlers) == expected | set(MODEL_COMMANDS)


def test_unknown_and_missing_commands_are_refused() -> None:
    server, board, _, conn = make()
    assert ask(server, conn, cmd="frobnicate") == {
        "ok": False,
        "error": "unknown command 'frobnicate'",
    }
    assert ask(server, conn) == {"ok": False, "error": "unknown command None"}
    assert board.calls == []


def test_press_dispatches_and_bad_values_are_one_line_errors() -> None:
    server, board, _, conn = make()
    assert ask(server, conn, cmd="press", button=1, ms=250) == {"ok": True}
    assert board.calls == [("press", (1, 250))]
    reply = ask(server, conn, cmd="press", button=5)
    assert reply == {"ok": False, "error": "button must be 0 (next) or 1 (previous)"}
    reply = ask(server, conn, cmd="press", ms="long")
    assert reply is not None and reply["ok"] is False and "bad request" in reply["error"]
    assert len(board.calls) == 1


def test_model_commands_queue_or_wait_for_the_ack() -> None:
    server, board, _, conn = make()
    assert ask(server, conn, cmd="set_time", unix=1_900_000_000) == {
        "ok": True,
        "applied": False,
    }
    assert board.calls[-1] == ("model", ({"t": "rtc_set", "unix": 1_900_000_000}, None, 5.0))
    # With wait the reply comes later, from the ack: the connection is the waiter.
    assert ask(server, conn, cmd="shift_time", seconds=-3, wait=True, timeout=2) is None
    assert board.calls[-1] == ("model", ({"t": "rtc_shift", "s": -3}, conn, 2.0))
    assert ask(server, conn, cmd="fw_status") is None  # always waits
    assert board.calls[-1][1][0] == {"t": "status"}
    ask(server, conn, cmd="cut_after", writes="3")
    assert board.calls[-1][1][0] == {"t": "cut", "after": 3}
    ask(server, conn, cmd="pull_battery")
    assert board.calls[-1][1][0] == {"t": "battery", "fitted": False}
    reply = ask(server, conn, cmd="set_time")  # no unix
    assert reply is not None and reply["ok"] is False and "unix" in reply["error"]


def test_power_reset_quit_status_snapshot() -> None:
    server, board, _, conn = make()
    assert ask(server, conn, cmd="cut_power") == {"ok": True}
    assert ask(server, conn, cmd="reset") == {"ok": True}
    assert ask(server, conn, cmd="status") == {"ok": True, "phase": "running", "repl": "friendly"}
    assert ask(server, conn, cmd="snapshot", path="x.png", scale=2) == {
        "ok": True,
        "path": "/snap/panel.png",
    }
    assert ask(server, conn, cmd="quit") == {"ok": True}
    assert [c[0] for c in board.calls] == ["cut_power", "reset", "snapshot", "quit"]
    board.running = False
    assert ask(server, conn, cmd="cut_power") == {
        "ok": False,
        "error": "the firmware is not running",
    }


def test_wait_frame_answers_on_a_new_frame_or_times_out() -> None:
    server, board, clock, conn = make()
    assert ask(server, conn, cmd="wait_frame", after=3) == {
        "ok": True,
        "version": 7,
        "gddram": "00",
    }
    assert ask(server, conn, cmd="wait_frame", timeout=1.0) is None  # waits for a change
    server.frame_arrived()  # same version: still waiting
    assert len(conn.sent) == 1
    board.version = 8
    server.frame_arrived()
    assert conn.sent[-1] == {"ok": True, "version": 8, "gddram": "00"}
    other = FakeConn()
    ask(server, other, cmd="wait_frame", timeout=1.0)
    clock.now += 0.5
    server.expire()
    assert other.sent == []
    clock.now += 0.6
    server.expire()
    assert other.sent == [{"ok": False, "error": "no new frame before the timeout"}]


def test_round_trip_over_the_socket(tmp_path: Path) -> None:
    server, board, _, _ = make()
    sel = selectors.DefaultSelector()
    server.listen(tmp_path / "control.sock", sel)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            for key, _ in sel.select(0.02):
                key.data()

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        client = SimControl(tmp_path, timeout=5)
        assert client.status() == {"phase": "running", "repl": "friendly"}
        client.press(1, ms=300)
        with pytest.raises(SimError, match="unknown command 'nope'"):
            client.request("nope")
    finally:
        stop.set()
        thread.join()
        server.close()
    assert board.calls == [("press", (1, 300))]


def test_json_conn_skips_torn_lines() -> None:
    conn = JsonConn(None, "fw")  # type: ignore[arg-type]
    conn.buf = b'{"t": "frame"}\n{"t": "fr\n\n[1, 2]\n{"t": "ack", "id": 3}\n{"t":'
    assert conn.messages() == [{"t": "frame"}, {"t": "ack", "id": 3}]
    assert conn.buf == b'{"t":'
