"""Which serial port is the token on: the one place that answers it for every command.

Order: the port named on the command line (`host_tools --port PATH`, which click also fills
from $HOST_TOOLS_PORT), else the single attached USB-serial adapter of a kind ESP32 boards use,
found by USB VID:PID. None or several found is an error that lists what was seen.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass

from host_tools.errors import NoDeviceError

log = logging.getLogger(__name__)

ENV_VAR = "HOST_TOOLS_PORT"

# USB VID:PID of the serial adapters found on ESP32 boards (REFERENCE.md).
ESP32_ADAPTERS: dict[tuple[int, int], str] = {
    (0x10C4, 0xEA60): "CP210x",
    (0x1A86, 0x7523): "CH340",
    (0x1A86, 0x55D4): "CH9102",
    (0x0403, 0x6001): "FTDI",
    (0x303A, 0x1001): "Espressif USB-Serial/JTAG",
    (0x303A, 0x4001): "MicroPython TinyUSB CDC",
}


@dataclass(frozen=True)
class SeenPort:
    device: str
    vid: int | None
    pid: int | None
    description: str

    def label(self) -> str:
        ids = f"{self.vid:04x}:{self.pid:04x}" if self.vid is not None else "no USB id"
        return f"{self.device} ({ids}, {self.description})"


def list_ports() -> list[SeenPort]:
    from serial.tools import list_ports as serial_list_ports  # type: ignore[import-untyped]

    return [
        SeenPort(p.device, p.vid, p.pid, p.description or "") for p in serial_list_ports.comports()
    ]


def pick_esp32_port(seen: Iterable[SeenPort]) -> str:
    seen = list(seen)
    matches = [p for p in seen if (p.vid, p.pid) in ESP32_ADAPTERS]
    if len(matches) == 1:
        log.info("auto-detected %s", matches[0].label())
        return matches[0].device
    listing = "; ".join(p.label() for p in seen) or "no serial ports at all"
    if not matches:
        raise NoDeviceError(
            f"no ESP32 USB-serial adapter found (seen: {listing}); name the port with "
            f"--port PATH or {ENV_VAR}"
        )
    raise NoDeviceError(
        f"several ESP32 USB-serial adapters found ({'; '.join(p.label() for p in matches)}); "
        f"choose one with --port PATH or {ENV_VAR}"
    )


def resolve_port(explicit: str | None) -> str:
    """The port to use: `explicit` (from --port or $HOST_TOOLS_PORT), else auto-detected."""
    if explicit:
        return explicit
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return from_env
    return pick_esp32_port(list_ports())
