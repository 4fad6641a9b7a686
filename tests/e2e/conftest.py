"""Fixtures for end-to-end tests against the virtual token (`host_tools sim --headless`).

`sim` (function scope) starts a sim in a fresh state directory and yields a `Sim` with
.port (the serial pseudo-terminal, use it like /dev/ttyUSB0), .state_dir, .control
(host_tools.sim.control.SimControl) and helpers (.mpremote(...), .restart(), .stop()).
`sim_module` is the same shared by the tests of one module (cheaper, for tests that do not
change the token's state in ways the next test would notice). `unpaced_sim` and
`unpaced_sim_module` are the same with an unpaced serial line (`--baud 0`, see UNPACED).
`sim_factory(*args)` starts more sims with extra `host_tools sim` arguments (e.g.
"--rx-buffer", "0"); each is stopped at teardown.

Each sim gets its own short temporary directory (a unix socket path must stay under 108
bytes), an ephemeral TCP port for its side channel and its own pty, so tests run in parallel
under pytest-xdist. Teardown quits the sim through the control socket, then terminates and
kills it if needed; the firmware process dies with its supervisor (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from host_tools.sim import SimError
from host_tools.sim.control import SimControl

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 30.0


def _die_with_parent() -> None:
    # If the test process dies without its teardown (killed by a timeout), the sim gets
    # SIGTERM and quits; the firmware process dies with the sim in turn.
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Sim:
    def __init__(self, state_dir: Path, args: tuple[str, ...] = ()) -> None:
        self.state_dir = state_dir
        self.args = args
        self.control = SimControl(state_dir)
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = ""
        self.log_path = state_dir.parent / "sim-output.log"

    def start(self) -> Sim:
        cmd = [str(BIN / "host_tools"), "sim", "--headless", "--state", str(self.state_dir)]
        if "--heap" not in self.args:
            # The sim's default is a board's heap (--heap esp32), whose peak sampling and
            # frequent collections cost these tests about a third more CPU: the tests of
            # behaviour run without a limit, the tests of memory say --heap themselves.
            cmd += ["--heap", "0"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [*cmd, *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        info_path = self.state_dir / "sim.json"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SimError(f"sim exited at start:\n{self.output()}")
            try:
                info = json.loads(info_path.read_text())
            except (OSError, ValueError):
                info = {}
            if info.get("ready"):
                self.port = info["port"]
                self.control.wait_ready(timeout=max(deadline - time.monotonic(), 1.0))
                return self
            time.sleep(0.02)
        self.stop()
        raise SimError(f"sim not ready in {START_TIMEOUT_S:.0f} s:\n{self.output()}")

    def __iter__(self) -> Iterator[object]:
        # `port, control = sim`, the form the first interface note promised.
        return iter((self.port, self.control))

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        if proc.poll() is None:
            try:
                self.control.request("quit")
            except SimError:
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def restart(self) -> Sim:
        self.stop()
        return self.start()

    def mpremote(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `mpremote connect PORT ARGS...`; fail the test with its output on an error."""
        proc = subprocess.run(
            [str(BIN / "mpremote"), "connect", self.port, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"mpremote {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout}\n{proc.stderr}\n--- sim ---\n{self.output()}"
            )
        return proc


def _make_dir() -> Path:
    base = Path(tempfile.mkdtemp(prefix="sim-", dir=os.environ.get("SIM_TMP", "/tmp")))
    return base


def _running_sim(*args: str) -> Iterator[Sim]:
    """A started headless sim in a fresh temporary state directory, stopped and removed after."""
    base = _make_dir()
    handle = Sim(base / "state", args)
    try:
        yield handle.start()
    finally:
        handle.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def sim() -> Iterator[Sim]:
    yield from _running_sim()


@pytest.fixture(scope="module")
def sim_module() -> Iterator[Sim]:
    yield from _running_sim()


# An unpaced sim (`host_tools sim --baud 0`): serial input reaches the firmware as soon as the
# host writes it, instead of at 115,200 baud. For tests of correctness at volume (thousands of
# vectors, a deploy, the firmware test modules run through mpremote), where pacing only
# stretches the run. The 260-byte input ring stays, and bytes now arrive as fast as the host
# writes them, so a host that outran flow control would overflow it sooner than on a paced
# line. Pacing itself has its own tests (test_sim.py); tests about timing keep the default.
UNPACED = ("--baud", "0")


@pytest.fixture
def unpaced_sim() -> Iterator[Sim]:
    yield from _running_sim(*UNPACED)


@pytest.fixture(scope="module")
def unpaced_sim_module() -> Iterator[Sim]:
    yield from _running_sim(*UNPACED)


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., Sim]]:
    made: list[tuple[Path, Sim]] = []

    def make(*args: str) -> Sim:
        base = _make_dir()
        handle = Sim(base / "state", args)
        made.append((base, handle))
        return handle.start()

    try:
        yield make
    finally:
        for base, handle in made:
            handle.stop()
            shutil.rmtree(base, ignore_errors=True)
