"""Byte transports under host_tools.session.Session: the token's USB serial port.

    transport = SerialTransport.open(ports.resolve_port(ctx_port))

`open_session(port)` resolves the port (--port, else $HOST_TOOLS_PORT, else the one attached
ESP32 USB-serial adapter, see host_tools.ports), opens it and runs the protocol handshake.
Opening does not reset the board: DTR and RTS are released before the port opens (on ESP32
DevKits those lines drive EN and GPIO0 through the auto-reset transistors).
"""

from __future__ import annotations

import logging
from typing import Any

import serial  # type: ignore[import-untyped]

from host_tools import ports
from host_tools.errors import NoDeviceError
from host_tools.session import Session

log = logging.getLogger(__name__)

BAUDRATE = 115200


class SerialTransport:
    def __init__(self, port: serial.Serial) -> None:
        self.port = port

    @classmethod
    def open(cls, path: str, baudrate: int = BAUDRATE) -> SerialTransport:
        s = serial.Serial()
        s.port = path
        s.baudrate = baudrate
        s.timeout = 0
        s.write_timeout = 5
        s.dtr = False
        s.rts = False
        s.exclusive = True  # two programs on one port would mix their frames
        try:
            s.open()
        except (serial.SerialException, OSError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            if "lock" in str(e).lower():
                reason = "the port is in use by another program"
            raise NoDeviceError(f"cannot open {path}: {reason}") from None
        log.debug("opened %s at %d baud", path, baudrate)
        return cls(s)

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as e:
            raise NoDeviceError(f"writing to {self.port.port} failed: {e}") from None

    def read(self, timeout: float) -> bytes:
        try:
            self.port.timeout = max(timeout, 0.0)
            first = self.port.read(1)
            if not first:
                return b""
            waiting = self.port.in_waiting
            return first + (self.port.read(waiting) if waiting else b"")
        except (serial.SerialException, OSError) as e:
            raise NoDeviceError(f"reading from {self.port.port} failed: {e}") from None

    def close(self) -> None:
        self.port.close()


def open_session(port: str | None, **kwargs: Any) -> Session:
    """Resolve the port, open it and shake hands: the one way commands reach the token."""
    path = ports.resolve_port(port)
    transport = SerialTransport.open(path)
    try:
        return Session(transport, **kwargs)
    except BaseException:
        transport.close()
        raise
