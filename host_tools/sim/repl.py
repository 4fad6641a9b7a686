"""Which REPL the firmware is in, read from its output; and the boot into the raw REPL.

A board soft-resets into the REPL it was in: from the raw REPL (what plain `mpremote exec`,
`run` and `fs` use) it boots without main.py and shows "raw REPL; CTRL-B to exit\\r\\n>".
The unix port always starts in the friendly REPL, so after such a reset the tracker types
Ctrl-A for the user and hides the friendly banner.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY_BANNER = b'Type "help()" for more information.'
BANNER_START = b"MicroPython "
FRIENDLY_PROMPT = b">>> "
CTRL_A = b"\x01"


class ReplMode(Enum):
    FRIENDLY = "friendly"
    RAW = "raw"


class ReplTracker:
    def __init__(self, type_to_firmware: Callable[[bytes], object]) -> None:
        self.type_to_firmware = type_to_firmware
        self.mode = ReplMode.FRIENDLY  # the REPL the firmware was last seen in
        self._tail = b""  # the end of the output, for markers split across reads
        self._raw_boot = False  # this boot goes into the raw REPL
        self._raw_ready = False
        self._sent_a = False
        self._held = b""  # boot output hidden until the raw REPL's prompt

    def boot(self, run_main: bool) -> None:
        """A new process starts: with main.py (friendly REPL) or into the raw REPL."""
        self._raw_boot = not run_main
        self._raw_ready = False
        self._sent_a = False
        self._held = b""
        if run_main:
            self.mode = ReplMode.FRIENDLY

    @property
    def ready(self) -> bool:
        """The boot has reached the REPL it should (always, for a boot with main.py)."""
        return not self._raw_boot or self._raw_ready

    def give_up(self) -> bytes:
        """The boot took too long: stop hiding output; return what was hidden."""
        held, self._held = self._held, b""
        self._raw_boot = False
        return held

    def output(self, data: bytes) -> bytes:
        """Firmware output; returns what the user should see."""
        if self._raw_boot and not self._raw_ready:
            return self._filter_raw_boot(data)
        self._track(data)
        return data

    def _track(self, data: bytes) -> None:
        seen = self._tail + data
        raw = seen.rfind(RAW_PROMPT)
        friendly = seen.rfind(FRIENDLY_BANNER)
        if raw > friendly:
            self.mode = ReplMode.RAW
        elif friendly > raw:
            self.mode = ReplMode.FRIENDLY
        keep = max(len(RAW_PROMPT), len(FRIENDLY_BANNER)) - 1
        self._tail = seen[-keep:]

    def _filter_raw_boot(self, data: bytes) -> bytes:
        buf = self._held + data
        if not self._sent_a:
            # Up to the friendly prompt: pass what comes before the banner, hide the banner.
            start = buf.find(BANNER_START)
            before, buf = (buf, b"") if start < 0 else (buf[:start], buf[start:])
            if buf.endswith(FRIENDLY_PROMPT):
                self.type_to_firmware(CTRL_A)
                self._sent_a = True
            self._held = buf
            return before
        i = buf.find(RAW_PROMPT)
        if i < 0:
            self._held = buf
            return b""
        self._held = b""
        self._raw_ready = True
        out = buf[i:]
        self._track(out)
        return out
