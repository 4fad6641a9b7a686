"""The firmware process: MicroPython's unix port running boards/sim/simboot.py on the
firmware's terminal. Start it (power-on or soft reset), kill it (power cut, reset button,
deep sleep), and tell how and when it ended.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import subprocess
import termios
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from host_tools.sim.ptys import FirmwareTty
from host_tools.sim.timers import Clock

_PR_SET_PDEATHSIG = 1


class Phase(Enum):
    """The board's state as the supervisor sees it (`status()["phase"]`)."""

    OFF = "off"
    BOOTING = "booting"
    RUNNING = "running"
    DEEP_SLEEP = "deep_sleep"


class Sleep(Enum):
    """The firmware's own report of light sleep (`status()["sleep"]`)."""

    AWAKE = "awake"
    LIGHT = "light"


class Stop(Enum):
    """Why the supervisor ended the process; none: it ended by itself (a soft reset)."""

    POWER_CUT = "powercut"
    RESET = "reset"
    DEEP_SLEEP = "deep_sleep"


@dataclass(frozen=True)
class HeapOptions:
    """The firmware's heap budget (`--heap`): `firmware` bytes of its own (0: no limit, the
    interpreter's default heap), beside the plumbing (measured at boot by simboot, which sets
    aside the rest of the interpreter's heap) and a reserve for the plumbing's short-lived
    messages. `plumbing_room` only has to be at least what the plumbing takes."""

    firmware: int
    reserve: int
    plumbing_room: int

    @property
    def interpreter_heap(self) -> int:
        return self.firmware + self.reserve + self.plumbing_room


@dataclass
class Exit:
    returncode: int
    stop: Stop | None  # None: the interpreter left by itself
    ran_s: float  # how long it ran


def _child_setup() -> None:
    # In the firmware process, after setsid(): make the pty its controlling terminal, so that
    # Ctrl-C (with ISIG) becomes SIGINT as MicroPython's unix port expects, and die with the
    # supervisor.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class FirmwareProcess:
    def __init__(
        self,
        micropython: str,
        repo: Path,
        state_dir: Path,
        flash_blocks: int,
        tty: FirmwareTty,
        clock: Clock,
        heap: HeapOptions | None = None,
    ) -> None:
        self.heap = heap
        self.micropython = micropython
        self.repo = repo
        self.state_dir = state_dir
        self.flash_blocks = flash_blocks
        self.tty = tty
        self.clock = clock
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.generation = 0  # counts starts, so a timer can tell its process from a later one
        self._stop: Stop | None = None
        # Where the firmware process finds the firmware while none is deployed on its flash
        # (SIM_FIRMWARE; empty: the repository's firmware/ sources).
        self.firmware_path = ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, run_main: bool, power_on: bool, env: dict[str, str]) -> None:
        """Start the interpreter; env adds the side channel's address and key."""
        self.tty.boot_settings()
        if power_on:  # a board's UART ring is empty after power-on: drop what was unread
            self.tty.flush_input()
        simboot = self.repo / "boards" / "sim" / "simboot.py"
        full_env = dict(
            os.environ,
            MICROPYPATH=".frozen",
            TZ="UTC",
            SIM_REPO=str(self.repo),
            SIM_STATE=str(self.state_dir),
            SIM_RUN_MAIN="1" if run_main else "0",
            SIM_FLASH_BLOCKS=str(self.flash_blocks),
            **env,
        )
        full_env["SIM_FIRMWARE"] = self.firmware_path
        args = [self.micropython]
        full_env["SIM_HEAP"] = "0"  # no budget (never the user's SIM_HEAP, a CLI option)
        if self.heap is not None and self.heap.firmware:
            heap = self.heap
            full_env["SIM_HEAP"] = str(heap.firmware)
            full_env["SIM_HEAP_RESERVE"] = str(heap.reserve)
            args += ["-X", f"heapsize={heap.interpreter_heap}"]
        slave = self.tty.slave
        self.proc = subprocess.Popen(
            [*args, "-i", str(simboot)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            cwd=self.state_dir,
            start_new_session=True,
            preexec_fn=_child_setup,
            close_fds=True,
        )
        self.tty.pid = self.proc.pid  # whether it catches SIGINT tells if Ctrl-C is on
        self.started = self.clock()
        self.generation += 1
        self._stop = None

    def stop(self, why: Stop) -> None:
        """End the process now, wherever it is (power cut, reset button, deep sleep)."""
        self._stop = why
        self.kill()

    def kill(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def ended(self) -> Exit | None:
        """If the process has ended: forget it and say how (once)."""
        proc = self.proc
        if proc is None or proc.poll() is None:
            return None
        self.proc = None
        why, self._stop = self._stop, None
        return Exit(proc.returncode, why, self.clock() - self.started)

    def runnable(self) -> bool:
        """Whether the process is on a CPU or waiting for one (state R in /proc)."""
        proc = self.proc
        if proc is None:
            return False
        try:
            stat = Path(f"/proc/{proc.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] == "R"
