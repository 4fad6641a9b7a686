"""The live view of `host_tools sim` (without --headless): the OLED in half blocks, and keys.

Keys: space or n  press NEXT (button 0) briefly     N  long press NEXT (1.5 s)
      p           press PREVIOUS (button 1) briefly P  long press PREVIOUS
      s           save a PNG snapshot               r  reset (power-on boot)
      q           quit (Ctrl-C too)
A terminal sends no key-up events, so a key is a press of fixed length.
"""

from __future__ import annotations

import os
import shutil
import sys
import termios
import time
import tty
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from host_tools.sim.supervisor import Supervisor

SHORT_MS = 120
LONG_MS = 1500
_FPS_INTERVAL = 0.04
_STATUS_INTERVAL = 0.5

KEYS = {
    " ": (0, SHORT_MS),
    "n": (0, SHORT_MS),
    "N": (0, LONG_MS),
    "p": (1, SHORT_MS),
    "P": (1, LONG_MS),
}


class TerminalView:
    def __init__(self) -> None:
        self.dirty = True
        self.fd = sys.stdin.fileno()
        self._saved: list | None = None
        self._last = 0.0
        self._message = ""

    def start(self, sup: Supervisor) -> None:
        import selectors

        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)
        sup.sel.register(self.fd, selectors.EVENT_READ, lambda: self._on_key(sup))
        sys.stdout.write("\x1b[?25l\x1b[2J")
        sys.stdout.flush()

    def stop(self) -> None:
        if self._saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        sys.stdout.write("\x1b[?25h\n")
        sys.stdout.flush()

    def _on_key(self, sup: Supervisor) -> None:
        for key in os.read(self.fd, 64).decode(errors="replace"):
            if key in KEYS:
                button, ms = KEYS[key]
                sup.press(button, ms)
                self._message = f"pressed {'NEXT' if button == 0 else 'PREVIOUS'} {ms} ms"
            elif key == "s":
                try:
                    self._message = f"saved {sup.snapshot(None, 4)}"
                except Exception as e:  # noqa: BLE001 - shown to the user, the sim goes on
                    self._message = str(e)
            elif key == "r":
                sup.reset()
                self._message = "reset"
            elif key == "q":
                sup.quitting = True
        self.dirty = True

    def tick(self, sup: Supervisor) -> None:
        now = time.monotonic()
        if now - self._last < (_FPS_INTERVAL if self.dirty else _STATUS_INTERVAL):
            return
        self._last = now
        self.dirty = False
        cols = shutil.get_terminal_size((132, 40)).columns
        frame = sup.frame
        width = min(frame.width, max(cols - 2, 8))
        out = ["\x1b[H"]
        out.append("\u250c" + "\u2500" * width + "\u2510\x1b[K\r\n")
        lines = frame.half_blocks() if frame.glass else [" " * frame.width] * (frame.height // 2)
        for line in lines:
            out.append("\u2502" + line[:width] + "\u2502\x1b[K\r\n")
        out.append("\u2514" + "\u2500" * width + "\u2518\x1b[K\r\n")
        st = sup.status()
        out.append(
            f"port {st['port']}  boot {st['boot_count']}  {st['phase']}  "
            f"{st['repl']} REPL  sleep: {st['sleep']}\x1b[K\r\n"
        )
        out.append("keys: space/n next, N long next, p prev, P long prev, s snapshot, "
                   "r reset, q quit\x1b[K\r\n")
        out.append(self._message[: cols - 1] + "\x1b[K")
        sys.stdout.write("".join(out))
        sys.stdout.flush()
