"""The sim's two pseudo-terminals: the user's serial port and the firmware's terminal.

    user (mpremote, host_tools)  /dev/pts/A <-> UserPort.master   [supervisor]
    FirmwareTty.master <-> /dev/pts/B = the firmware's stdin/stdout/stderr, controlling tty
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
import tty
from pathlib import Path

CTRL_C = 3


class UserPort:
    """The port the user opens, /dev/pts/A. Its slave stays open here too, so the master
    never sees a hang-up when a client closes the port."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        os.set_blocking(self.master, False)
        self.tx_dropped = 0  # firmware output nobody read, dropped as a USB-UART bridge does

    def read(self) -> bytes:
        """What the user sent (b"" if nothing)."""
        try:
            return os.read(self.master, 4096)
        except OSError:
            return b""

    def write(self, data: bytes) -> None:
        """Firmware output to the user."""
        for _ in range(2):
            try:
                n = os.write(self.master, data)
            except BlockingIOError:
                n = 0
            data = data[n:]
            if not data:
                return
            # Nobody reads the port: like a USB-UART bridge with no host, drop the oldest.
            termios.tcflush(self.slave, termios.TCIFLUSH)
        self.tx_dropped += len(data)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class FirmwareTty:
    """The firmware's terminal, /dev/pts/B: what the ESP32's UART is to the firmware."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.pid: int | None = None  # the firmware process, set by process.Firmware
        self.boot_settings()
        os.set_blocking(self.master, False)

    def boot_settings(self) -> None:
        """The terminal as at boot: raw, with ISIG (a Ctrl-C byte becomes SIGINT while code
        runs; MicroPython's REPL switches ISIG off while it reads a line) and NOFLSH (the
        bytes after a Ctrl-C stay queued, as in the ESP32's ring buffer).

        A process killed at the REPL, or after set_interrupt_char(False), leaves ISIG off;
        a board boots (soft reset included) with Ctrl-C enabled, so every start calls this."""
        tty.setraw(self.slave)
        attrs = termios.tcgetattr(self.slave)
        attrs[3] |= termios.ISIG | termios.NOFLSH
        attrs[6][termios.VINTR] = bytes([CTRL_C])
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)

    def flush_input(self) -> None:
        """Drop what the firmware has not read (a board's UART ring is empty at power-on)."""
        termios.tcflush(self.slave, termios.TCIFLUSH)

    def isig(self) -> bool:
        """Whether Ctrl-C is on: a Ctrl-C byte interrupts the firmware rather than being data.

        That is whether the firmware catches SIGINT: the unix port installs its handler
        exactly while Ctrl-C is enabled (while code runs, `micropython.kbd_intr(3)`), and
        restores SIGINT's default action when it is not (`kbd_intr(-1)`, which firmware may
        call directly, not through its board; the REPL between commands). The terminal's ISIG
        flag is made to agree, so that a 0x03 written to a firmware without the handler is
        data (it would otherwise kill the process where a board takes it as data) and one
        written to a firmware with it is a SIGINT."""
        caught = self.pid is None or _catches_sigint(self.pid)
        attrs = termios.tcgetattr(self.slave)
        if bool(attrs[3] & termios.ISIG) != caught:
            if caught:
                attrs[3] |= termios.ISIG
            else:
                attrs[3] &= ~termios.ISIG
            termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        return caught

    def unread(self) -> int:
        """Bytes written to the firmware that it has not read yet."""
        buf = fcntl.ioctl(self.slave, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", buf)[0])

    def write(self, data: bytes) -> int:
        """Pass bytes to the firmware; BlockingIOError when the pty is full."""
        return os.write(self.master, data)

    def read(self) -> bytes:
        """What the firmware printed (b"" if nothing)."""
        try:
            return os.read(self.master, 65536)
        except OSError:  # BlockingIOError, or EIO while no process holds the slave
            return b""

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def _catches_sigint(pid: int) -> bool:
    """Whether process pid has a SIGINT handler (bit 1 of SigCgt in /proc/PID/status); True
    if that cannot be read (the process is gone: nothing to protect)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & 2)
    except (OSError, ValueError, IndexError):
        pass
    return True
