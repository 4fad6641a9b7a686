"""The byte transport under host_tools.link.Link: the token's USB serial port.

    transport = SerialTransport.open(path)

Opening does not reset the board: DTR and RTS are released before the port opens (on ESP32
DevKits those lines drive EN and GPIO0 through the auto-reset transistors).
"""

from __future__ import annotations

import logging

import serial  # type: ignore[import-untyped]

from host_tools.errors import NoDeviceError

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
