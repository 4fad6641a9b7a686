"""The control socket, STATE/control.sock: one JSON request per line, one reply each.

Each command is a handler in one table (`ControlServer.handlers`); the client is
host_tools.sim.control.SimControl. A handler returns the reply, or None when the reply comes
later (a wait for the firmware's ack or for a new frame).
"""

from __future__ import annotations

import logging
import selectors
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from host_tools.sim import SimError
from host_tools.sim.jsonconn import JsonConn
from host_tools.sim.timers import Clock

log = logging.getLogger(__name__)

Handler = Callable[[JsonConn, dict], "dict | None"]

# Commands applied by the hardware models inside the firmware: the message each one sends.
MODEL_COMMANDS: dict[str, Callable[[dict], dict]] = {
    "set_time": lambda m: {"t": "rtc_set", "unix": m["unix"]},
    "shift_time": lambda m: {"t": "rtc_shift", "s": m["seconds"]},
    "pull_battery": lambda m: {"t": "battery", "fitted": False},
    "insert_battery": lambda m: {"t": "battery", "fitted": True},
    "cut_after": lambda m: {"t": "cut", "after": int(m["writes"])},
    "fw_status": lambda m: {"t": "status"},
}


class Board(Protocol):
    """What the control server drives (the supervisor)."""

    def press(self, button: int, ms: int) -> None: ...

    def model_command(self, msg: dict, waiter: JsonConn | None, timeout: float) -> None: ...

    def cut_power(self) -> None: ...

    def reset(self) -> None: ...

    def panel_info(self) -> dict: ...

    def panel_version(self) -> int: ...

    def snapshot(self, path: str | None, scale: int) -> Path: ...

    def status(self) -> dict: ...

    def quit(self) -> None: ...


class ControlServer:
    def __init__(self, board: Board, clock: Clock) -> None:
        self.board = board
        self.clock = clock
        self.frame_waiters: list[tuple[JsonConn, int, float]] = []
        self.handlers: dict[str, Handler] = {
            "press": self._press,
            **{name: self._model for name in MODEL_COMMANDS},
            "cut_power": self._cut_power,
            "reset": self._reset,
            "panel": self._panel,
            "wait_frame": self._wait_frame,
            "snapshot": self._snapshot,
            "status": self._status,
            "quit": self._quit,
        }
        self.sock: socket.socket | None = None
        self.sel: selectors.BaseSelector | None = None

    # --- the socket ----------------------------------------------------------------------------

    def listen(self, path: Path, sel: selectors.BaseSelector) -> None:
        path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.sel = sel
        sel.register(self.sock, selectors.EVENT_READ, self._accept)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()

    def _accept(self) -> None:
        assert self.sock is not None and self.sel is not None
        sock, _ = self.sock.accept()
        sock.setblocking(False)
        conn = JsonConn(sock, "ctl")
        self.sel.register(sock, selectors.EVENT_READ, lambda: self._read(conn))

    def _read(self, conn: JsonConn) -> None:
        msgs = conn.receive()
        if msgs is None:
            conn.closed = True
            if self.sel is not None:
                try:
                    self.sel.unregister(conn.sock)
                except (KeyError, ValueError):
                    pass
            conn.sock.close()
            return
        for msg in msgs:
            if not conn.closed:
                self.handle(conn, msg)

    # --- requests ------------------------------------------------------------------------------

    def handle(self, conn: JsonConn, msg: dict) -> None:
        """Dispatch one request; send its reply now unless the handler answers later."""
        try:
            handler = self.handlers.get(msg.get("cmd"))  # type: ignore[arg-type]
            if handler is None:
                raise SimError(f"unknown command {msg.get('cmd')!r}")
            reply = handler(conn, msg)
        except SimError as e:
            reply = {"ok": False, "error": str(e)}
        except (KeyError, TypeError, ValueError) as e:
            reply = {"ok": False, "error": f"bad request: {e!r}"}
        if reply is not None:
            conn.send_line(reply)

    def frame_arrived(self) -> None:
        """A new frame: answer those waiting for one."""
        version = self.board.panel_version()
        for waiter in list(self.frame_waiters):
            conn, after, _ = waiter
            if version != after:
                self.frame_waiters.remove(waiter)
                conn.send_line({"ok": True, **self.board.panel_info()})

    def expire(self) -> None:
        now = self.clock()
        for waiter in list(self.frame_waiters):
            if waiter[2] <= now:
                self.frame_waiters.remove(waiter)
                waiter[0].send_line({"ok": False, "error": "no new frame before the timeout"})

    # --- handlers ------------------------------------------------------------------------------

    def _press(self, conn: JsonConn, msg: dict) -> dict | None:
        self.board.press(int(msg.get("button", 0)), int(msg.get("ms", 100)))
        return {"ok": True}

    def _model(self, conn: JsonConn, msg: dict) -> dict | None:
        cmd = msg["cmd"]
        fw_msg = MODEL_COMMANDS[cmd](msg)
        wait = cmd == "fw_status" or bool(msg.get("wait", False))
        self.board.model_command(fw_msg, conn if wait else None, float(msg.get("timeout", 5.0)))
        return None if wait else {"ok": True, "applied": False}

    def _cut_power(self, conn: JsonConn, msg: dict) -> dict | None:
        self.board.cut_power()
        return {"ok": True}

    def _reset(self, conn: JsonConn, msg: dict) -> dict | None:
        self.board.reset()
        return {"ok": True}

    def _panel(self, conn: JsonConn, msg: dict) -> dict | None:
        return {"ok": True, **self.board.panel_info()}

    def _wait_frame(self, conn: JsonConn, msg: dict) -> dict | None:
        version = self.board.panel_version()
        after = int(msg.get("after", version))
        if version != after:
            return {"ok": True, **self.board.panel_info()}
        timeout = float(msg.get("timeout", 5.0))
        self.frame_waiters.append((conn, after, self.clock() + timeout))
        return None

    def _snapshot(self, conn: JsonConn, msg: dict) -> dict | None:
        path = self.board.snapshot(msg.get("path"), int(msg.get("scale", 4)))
        return {"ok": True, "path": str(path)}

    def _status(self, conn: JsonConn, msg: dict) -> dict | None:
        return {"ok": True, **self.board.status()}

    def _quit(self, conn: JsonConn, msg: dict) -> dict | None:
        self.board.quit()
        return {"ok": True}
