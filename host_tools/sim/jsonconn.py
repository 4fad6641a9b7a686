"""A socket that carries one JSON object per line each way (side channel, control clients)."""

from __future__ import annotations

import json
import logging
import socket

log = logging.getLogger(__name__)


class JsonConn:
    def __init__(self, sock: socket.socket, kind: str) -> None:
        self.sock = sock
        self.kind = kind  # for log lines: "fw" or "ctl"
        self.buf = b""
        self.authed = False
        self.closed = False

    def send_line(self, obj: dict) -> None:
        if self.closed:
            return
        try:
            self.sock.setblocking(True)
            self.sock.sendall(json.dumps(obj).encode() + b"\n")
        except OSError:
            self.closed = True
        finally:
            if not self.closed:
                self.sock.setblocking(False)

    def receive(self) -> list[dict] | None:
        """Read what has arrived; return the complete messages, or None at end of stream."""
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return []
        except OSError:
            data = b""
        if not data:
            return None
        self.buf += data
        return self.messages()

    def messages(self) -> list[dict]:
        """The complete lines in the buffer, parsed; unreadable ones are skipped."""
        out: list[dict] = []
        while True:
            nl = self.buf.find(b"\n")
            if nl < 0:
                return out
            line, self.buf = self.buf[:nl], self.buf[nl + 1 :]
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
                if not isinstance(msg, dict):
                    raise ValueError("not an object")
            except ValueError:
                # A torn line (the firmware was interrupted mid-send): skip it.
                log.debug("unreadable line on the %s channel skipped", self.kind)
                continue
            out.append(msg)
