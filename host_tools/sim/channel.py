"""The side channel to the firmware's hardware models (boards/sim/simlink.py).

JSON lines over a 127.0.0.1 TCP socket; the firmware finds the port and a key in its
environment and opens with {"t": "hello", "key": ...}. Model commands carry an id and are
answered by an ack; they stay queued here until then, and are sent again to the next boot,
so a command survives a reset or a power cut that came before the firmware applied it.
"""

from __future__ import annotations

import logging
import secrets
import selectors
import socket
from collections.abc import Callable
from dataclasses import dataclass

from host_tools.sim.jsonconn import JsonConn
from host_tools.sim.timers import Clock

log = logging.getLogger(__name__)

NOT_APPLIED = (
    "not applied yet: the firmware has not touched the hardware (at the REPL, or not "
    "running); the command stays queued"
)


@dataclass
class Pending:
    msg: dict
    waiter: JsonConn | None = None  # the control connection waiting for the ack
    deadline: float = 0.0


class SideChannel:
    def __init__(
        self,
        sel: selectors.BaseSelector,
        clock: Clock,
        on_message: Callable[[dict], None],
        on_status: Callable[[dict], None],
    ) -> None:
        self.sel = sel
        self.clock = clock
        self.on_message = on_message  # every message of the current firmware, hello first
        self.on_status = on_status  # the counters an ack carries
        self.key = secrets.token_hex(16)
        self.conn: JsonConn | None = None  # the current firmware's connection
        self.next_id = 1
        self.unacked: dict[int, Pending] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.setblocking(False)
        sel.register(self.sock, selectors.EVENT_READ, self._accept)

    def env(self) -> dict[str, str]:
        """What the firmware process needs to connect."""
        return {"SIM_LINK_PORT": str(self.sock.getsockname()[1]), "SIM_LINK_KEY": self.key}

    @property
    def up(self) -> bool:
        return self.conn is not None and not self.conn.closed

    # --- sending -------------------------------------------------------------------------------

    def send(self, msg: dict) -> None:
        """A message without an ack (welcome, interrupt)."""
        if self.conn is not None:
            self.conn.send_line(msg)

    def command(self, msg: dict, waiter: JsonConn | None = None, timeout: float = 5.0) -> int:
        """A model command: queued until acked; the waiter gets the ack or a timeout."""
        msg = dict(msg, id=self.next_id)
        self.next_id += 1
        self.unacked[msg["id"]] = Pending(msg, waiter, self.clock() + timeout)
        self.send(msg)
        return msg["id"]

    def resend_pending(self) -> None:
        """Queued commands again, to a new boot (not presses: the supervisor re-sends the
        part of a press still to run)."""
        for pending in self.unacked.values():
            if pending.msg["t"] != "press":
                self.send(pending.msg)

    def expire(self) -> None:
        """Answer waiters whose command was not acked in time; the command stays queued
        (a status request is dropped: it means nothing later)."""
        now = self.clock()
        for key, pending in list(self.unacked.items()):
            if pending.waiter is not None and pending.deadline <= now:
                pending.waiter.send_line({"ok": False, "error": NOT_APPLIED})
                pending.waiter = None
                if pending.msg["t"] == "status":
                    del self.unacked[key]

    def ack(self, msg: dict) -> None:
        """The firmware answered a command: done, or refused with an error."""
        msg_id = msg.get("id")
        pending = self.unacked.pop(msg_id, None) if isinstance(msg_id, int) else None
        status = {k: v for k, v in msg.items() if k not in ("t", "id", "error")}
        if status:
            self.on_status(status)
        if pending is None or pending.waiter is None:
            if msg.get("error"):
                log.warning("firmware refused %s: %s", pending and pending.msg, msg["error"])
            return
        if msg.get("error"):
            pending.waiter.send_line({"ok": False, "error": msg["error"]})
        else:
            pending.waiter.send_line({"ok": True, "applied": True, **status})

    # --- receiving -----------------------------------------------------------------------------

    def _accept(self) -> None:
        sock, _ = self.sock.accept()
        sock.setblocking(False)
        conn = JsonConn(sock, "fw")
        self.sel.register(sock, selectors.EVENT_READ, lambda: self._read(conn))

    def _read(self, conn: JsonConn) -> None:
        msgs = conn.receive()
        if msgs is None:
            self.close(conn)
            return
        for msg in msgs:
            if conn.closed:
                return
            if not conn.authed:
                if msg.get("t") != "hello" or msg.get("key") != self.key:
                    self.close(conn)
                    return
                conn.authed = True
                if self.conn is not None:
                    self.close(self.conn)
                self.conn = conn
            if conn is not self.conn:
                continue
            try:
                self.on_message(msg)
            except (KeyError, TypeError, ValueError) as e:
                log.warning("bad fw message %s: %r", msg.get("t"), e)

    def drain(self) -> None:
        """The firmware died: take what it sent before, then close its connection."""
        for _ in range(1000):
            if self.conn is None or self.conn.closed:
                break
            self._read(self.conn)
        if self.conn is not None:
            self.close(self.conn)

    def close(self, conn: JsonConn) -> None:
        if conn.closed and conn.sock.fileno() < 0:
            return
        conn.closed = True
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        if conn is self.conn:
            self.conn = None

    def shutdown(self) -> None:
        if self.conn is not None:
            self.close(self.conn)
        self.sock.close()
