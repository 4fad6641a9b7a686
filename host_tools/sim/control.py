"""SimControl: the Python client of a running sim's control socket (STATE/control.sock).

The protocol is one JSON object per line each way: a request {"cmd": NAME, ...} and one reply
{"ok": true, ...} or {"ok": false, "error": MESSAGE}. Commands that act on the hardware
models inside the firmware process (set_time, shift_time, pull_battery, insert_battery,
cut_power with a write count) are queued and applied when the firmware next touches the
hardware (an I2C transaction, a button poll, a flash write, a light sleep). With wait=True
(the default) the call returns once applied and raises SimError if that did not happen
within `timeout` seconds (e.g. the firmware sits at the REPL); the command stays queued.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from host_tools.sim import SimError

BUTTON_NEXT = 0
BUTTON_PREVIOUS = 1


class SimControl:
    def __init__(self, state_dir: str | Path, timeout: float = 10.0) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / "control.sock"
        self.timeout = timeout

    # --- transport --------------------------------------------------------------------------

    def request(self, cmd: str, **args: Any) -> dict:
        """Send one request and return the reply; raise SimError on an error reply.

        A `timeout` argument is the sim's own wait (for an ack or a frame); the client waits
        that long plus its own margin."""
        limit = self.timeout + float(args.get("timeout", 0))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(limit + 1.0)
        try:
            try:
                sock.connect(str(self.path))
            except OSError as e:
                raise SimError(f"no sim running with state directory {self.state_dir}") from e
            sock.sendall(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                try:
                    chunk = sock.recv(1 << 20)
                except TimeoutError as e:
                    raise SimError(f"sim: no reply to {cmd} within {limit:.0f} s") from e
                if not chunk:
                    raise SimError(f"sim: connection closed during {cmd}")
                buf += chunk
        finally:
            sock.close()
        reply = json.loads(buf)
        if not reply.pop("ok", False):
            raise SimError(f"sim: {cmd}: {reply.get('error', 'failed')}")
        return reply

    # --- buttons, clock, battery, power ----------------------------------------------------------

    def press(self, button: int = BUTTON_NEXT, ms: int = 100) -> None:
        """Hold a button down for ms milliseconds (a long press is e.g. 1000 ms)."""
        self.request("press", button=button, ms=ms)

    def set_time(self, unix: float, wait: bool = True, timeout: float = 5.0) -> None:
        """Set the DS3231 model's time (UTC Unix seconds, fractions set the phase)."""
        self.request("set_time", unix=unix, wait=wait, timeout=timeout)

    def shift_time(self, seconds: float, wait: bool = True, timeout: float = 5.0) -> None:
        self.request("shift_time", seconds=seconds, wait=wait, timeout=timeout)

    def pull_battery(self, wait: bool = True, timeout: float = 5.0) -> None:
        """Remove the RTC's coin cell: registers reset, oscillator-stop flag set."""
        self.request("pull_battery", wait=wait, timeout=timeout)

    def insert_battery(self, wait: bool = True, timeout: float = 5.0) -> None:
        self.request("insert_battery", wait=wait, timeout=timeout)

    def cut_power(
        self, after_writes: int | None = None, wait: bool = True, timeout: float = 5.0
    ) -> None:
        """Cut the power now, or after `after_writes` more flash block writes (the next one
        is torn). The sim powers up again by itself (main.py runs, as at power-on)."""
        if after_writes is None:
            self.request("cut_power")
        else:
            self.request("cut_after", writes=after_writes, wait=wait, timeout=timeout)

    def reset(self) -> None:
        """Press the board's reset (EN) button: power-on boot, state kept."""
        self.request("reset")

    def quit(self) -> None:
        self.request("quit")

    # --- panel and status -------------------------------------------------------------------

    def panel(self) -> dict:
        """The last frame: version, width, height, gddram and glass (bytes), state, received."""
        return self._panel(self.request("panel"))

    def gddram(self) -> bytes:
        """The SSD1306 model's GDDRAM as last reported (page-major MONO_VLSB, 1024 bytes)."""
        return self.panel()["gddram"]

    def wait_frame(self, after: int | None = None, timeout: float = 5.0) -> dict:
        """Wait for a frame whose version differs from `after` (default: the current one)."""
        args: dict[str, Any] = {"timeout": timeout}
        if after is not None:
            args["after"] = after
        return self._panel(self.request("wait_frame", **args))

    def wait_panel(self, predicate: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        """Wait until predicate(panel()) holds (checked on the current and each new frame)."""
        deadline = time.monotonic() + timeout
        panel = self.panel()
        while not predicate(panel):
            left = deadline - time.monotonic()
            if left <= 0:
                raise SimError(f"sim: panel condition not met within {timeout:.0f} s")
            try:
                panel = self.wait_frame(after=panel["version"], timeout=min(left, 5.0))
            except SimError:
                panel = self.panel()
        return panel

    def snapshot(self, path: str | Path | None = None, scale: int = 4) -> Path:
        """Write a PNG of the panel (relative paths go under STATE/snapshots); return it."""
        args: dict[str, Any] = {"scale": scale}
        if path is not None:
            args["path"] = str(Path(path).absolute()) if Path(path).is_absolute() else str(path)
        return Path(self.request("snapshot", **args)["path"])

    def status(self) -> dict:
        """Supervisor state: running, phase, repl, boot_count, port, rx_dropped, timings..."""
        return self.request("status")

    def firmware_status(self, timeout: float = 5.0) -> dict:
        """Counters from inside the firmware process: I2C bytes, RTC time, battery, flash."""
        return self.request("fw_status", timeout=timeout)  # the sim waits for the firmware

    def wait_ready(self, timeout: float = 30.0, boot_count: int = 1) -> dict:
        """Wait until the firmware booted at least boot_count times and is running."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                status = self.status()
                if status["boot_count"] >= boot_count and status["phase"] == "running":
                    return status
            except SimError as e:
                last = e
            time.sleep(0.05)
        raise SimError(f"sim not ready within {timeout:.0f} s ({last})")

    @staticmethod
    def _panel(reply: dict) -> dict:
        reply["gddram"] = bytes.fromhex(reply["gddram"])
        reply["glass"] = bytes.fromhex(reply["glass"])
        return reply
