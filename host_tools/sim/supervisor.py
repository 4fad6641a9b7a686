"""The supervisor of the virtual token: wires the parts and runs the loop.

See host_tools/sim/README.md for the design. One thread, one selector loop:

    user (mpremote, host_tools)                                firmware process
    /dev/pts/A  <->  UserPort  <->  SerialLine  <->  FirmwareTty  <->  /dev/pts/B = stdin/out
                         ^ ReplTracker (output)                   (micropython -i simboot.py)
                                         +-- SideChannel: 127.0.0.1 TCP <-- simlink.py
                                         +-- ControlServer: STATE/control.sock <-- SimControl

The parts: ptys (the two terminals), serial_line (pacing, ring, Ctrl-C, stalls), process
(spawn, kill, exit), repl (REPL mode, raw-REPL boot), channel (side channel and queued model
commands), control_server (the control socket's handlers), timers. The supervisor owns the
board's life cycle (phases, restarts, sleep), the panel's last frame, and the status.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import selectors
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host_tools.sim import SimError
from host_tools.sim.channel import SideChannel
from host_tools.sim.control_server import ControlServer
from host_tools.sim.jsonconn import JsonConn
from host_tools.sim.panel import Frame, PanelMirror
from host_tools.sim.process import Exit, FirmwareProcess, HeapOptions, Phase, Sleep, Stop
from host_tools.sim.ptys import FirmwareTty, UserPort
from host_tools.sim.repl import ReplMode, ReplTracker
from host_tools.sim.serial_line import SerialLine
from host_tools.sim.timers import Clock, Timers

log = logging.getLogger(__name__)

SOFT_REBOOT = b"MPY: soft reboot\r\n"
BOOT_TIMEOUT_S = 15.0
FAST_EXIT_S = 1.0  # a process that dies this fast after a start is restarted only after a pause
LOOP_TICK_S = 0.05


@dataclass
class SimOptions:
    state_dir: Path
    repo: Path
    micropython: str
    link: Path | None = None
    headless: bool = False
    rx_buffer: int = 260  # unread input bytes kept, as the ESP32's UART ring; 0: unlimited
    flash_blocks: int = 512  # 4 KiB blocks: 2 MiB, an ESP32 4 MB module's usual VFS size
    off_ms: int = 200  # how long the power stays off after a cut or a reset
    baud: int = 115200  # the serial line's rate, input is paced at it; 0: unpaced
    heap: HeapOptions | None = None  # the firmware's heap budget; None: the interpreter's
    # The firmware's own waits, shortened for tests (the sim board hands them to the firmware
    # as board.serial_quiet_ms / board.server_idle_ms); None: the firmware's (30 s, 12 s).
    serial_quiet_ms: int | None = None
    server_idle_ms: int | None = None
    # Run the repository's firmware/ as source; by default it is compiled as deploy compiles
    # it for a board (host_tools/sim/firmware_image.py), so the heap it uses is a board's.
    source: bool = False


class Supervisor:
    # Made in setup() (they open ptys and sockets).
    user: UserPort
    fw_tty: FirmwareTty
    line: SerialLine
    process: FirmwareProcess
    channel: SideChannel
    control: ControlServer
    port: str
    control_path: Path

    def __init__(self, options: SimOptions, clock: Clock = time.monotonic) -> None:
        self.opt = options
        self.state_dir = options.state_dir.resolve()
        self.clock = clock
        self.sel = selectors.DefaultSelector()
        self.timers = Timers(clock)
        self.repl = ReplTracker(self._type_to_firmware)
        self.phase = Phase.OFF
        self.sleep = Sleep.AWAKE
        self.hello_seen = False
        self.deployed: bool | None = None
        self.ran_main: bool | None = None  # whether the last boot ran main.py
        self.heap_at_boot: dict | None = None  # simboot's measurement at the last boot
        self.boot_count = 0
        self.sleep_gen = 0
        self.start_time = clock()
        self.panel = PanelMirror()
        self.presses: dict[int, float] = {}  # button -> clock time the press ends
        self.fw_status: dict = {}
        self.quitting = False
        self.view: Any = None  # the terminal view, when not headless
        self._lock_fd = -1
        self._fw_handlers: dict[str, Callable[[dict], None]] = {
            "hello": self._on_hello,
            "frame": self._on_frame,
            "ack": lambda msg: self.channel.ack(msg),
            "interrupted": lambda msg: self.line.interrupt_taken(),
            "sleep": self._on_sleep,
            "deep_sleep": self._on_deep_sleep,
            "powercut": self._on_powercut,
        }

    # --- setup and teardown --------------------------------------------------------------------

    def setup(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        self.user = UserPort()
        self.port = self.user.path
        self.fw_tty = FirmwareTty()
        self.sel.register(self.user.master, selectors.EVENT_READ, self._on_user_input)
        self.sel.register(self.fw_tty.master, selectors.EVENT_READ, self._on_firmware_output)
        self.line = SerialLine(
            self.fw_tty, self, self.timers, baud=self.opt.baud, rx_buffer=self.opt.rx_buffer
        )
        self.process = FirmwareProcess(
            self.opt.micropython,
            self.opt.repo,
            self.state_dir,
            self.opt.flash_blocks,
            self.fw_tty,
            self.clock,
            self.opt.heap,
        )
        if not self.opt.source:
            from host_tools.sim import firmware_image

            self.process.firmware_path = firmware_image.install(
                self.opt.micropython, self.state_dir
            )
        self.channel = SideChannel(
            self.sel, self.clock, self._on_fw_message, self.fw_status.update
        )
        self.control_path = self.state_dir / "control.sock"
        if len(str(self.control_path)) > 100:
            raise SimError(f"state directory path too long for a unix socket: {self.state_dir}")
        self.control = ControlServer(self, self.clock)
        self.control.listen(self.control_path, self.sel)

        if self.opt.link is not None:
            link = self.opt.link
            if link.is_symlink():
                link.unlink()
            elif link.exists():
                raise SimError(f"--link {link} exists and is not a symlink")
            link.symlink_to(self.port)
        self._write_info(ready=False)
        log.info("serial port %s", self.port)

    def _lock(self) -> None:
        self._lock_fd = os.open(self.state_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self._lock_fd)
            raise SimError(f"another sim is running with state directory {self.state_dir}") from e

    def _write_info(self, ready: bool) -> None:
        info = {
            "port": self.port,
            "pid": os.getpid(),
            "control": str(self.control_path),
            "ready": ready,
        }
        tmp = self.state_dir / "sim.json.tmp"
        tmp.write_text(json.dumps(info))
        tmp.replace(self.state_dir / "sim.json")

    def teardown(self) -> None:
        self.process.kill()
        for path in (self.control_path, self.state_dir / "sim.json"):
            path.unlink(missing_ok=True)
        if self.opt.link is not None and self.opt.link.is_symlink():
            self.opt.link.unlink()
        self.channel.shutdown()
        self.control.close()
        self.user.close()
        self.fw_tty.close()
        try:
            os.close(self._lock_fd)
        except OSError:
            pass

    # --- the board's life cycle ----------------------------------------------------------------

    def _board_env(self) -> dict[str, str]:
        # Always set, so that the user's environment never shortens the firmware's waits.
        waits = {
            "SIM_SERIAL_QUIET_MS": self.opt.serial_quiet_ms,
            "SIM_SERVER_IDLE_MS": self.opt.server_idle_ms,
        }
        return {name: "" if ms is None else str(ms) for name, ms in waits.items()}

    def spawn(self, run_main: bool, power_on: bool = False) -> None:
        """Start the firmware: at power-on (main.py, empty UART ring) or a soft reset."""
        self.process.start(run_main, power_on, {**self.channel.env(), **self._board_env()})
        self.panel.boot()
        self.phase = Phase.BOOTING
        self.hello_seen = False
        self.sleep = Sleep.AWAKE
        self.repl.boot(run_main)
        self.timers.add(BOOT_TIMEOUT_S, self._boot_timeout(self.process.generation))
        log.info(
            "firmware started (pid %d, %s)", self.process.pid, "main.py" if run_main else "raw"
        )

    def power_on(self) -> None:
        self.spawn(run_main=True, power_on=True)

    def _boot_timeout(self, generation: int) -> Callable[[], None]:
        def check() -> None:
            if self.process.generation == generation and self.phase == Phase.BOOTING:
                log.warning("firmware boot did not finish in %.0f s", BOOT_TIMEOUT_S)
                held = self.repl.give_up()
                if held:
                    self.user.write(held)
                self._set_running()

        return check

    def _check_exit(self) -> None:
        if self.process.proc is None or self.process.alive:
            return
        self._drain_firmware_output()
        self.line.firmware_gone()
        self.channel.drain()  # what it sent before it died (a power cut, a deep sleep)
        ended = self.process.ended()
        assert ended is not None
        log.info(
            "firmware exited (status %s, %s)",
            ended.returncode,
            ended.stop.value if ended.stop else "soft reset",
        )
        self.phase = Phase.OFF
        if not self.quitting:
            self._after_exit(ended)

    def _after_exit(self, ended: Exit) -> None:
        if ended.stop is Stop.DEEP_SLEEP:
            self.phase = Phase.DEEP_SLEEP
            return
        if ended.stop is Stop.POWER_CUT:
            self.panel.power_cut()
            if self.view is not None:
                self.view.dirty = True
        if ended.stop in (Stop.POWER_CUT, Stop.RESET):
            self.timers.add(self.opt.off_ms / 1000, self.power_on)
            return
        # The interpreter left by itself: Ctrl-D at an empty REPL line, SystemExit,
        # machine.soft_reset(). A board soft-resets: raw REPL stays raw without main.py,
        # the friendly REPL runs main.py again.
        self.user.write(SOFT_REBOOT)
        run_main = self.repl.mode is not ReplMode.RAW
        failed = ended.ran_s < FAST_EXIT_S and ended.returncode not in (0, None)
        self.timers.add(FAST_EXIT_S if failed else 0, lambda: self.spawn(run_main=run_main))

    def _maybe_running(self) -> None:
        if self.phase == Phase.BOOTING and self.hello_seen and self.repl.ready:
            self._set_running()

    def _set_running(self) -> None:
        self.phase = Phase.RUNNING
        self.line.firmware_reading()

    # --- what the serial line asks (serial_line.Receiver) --------------------------------------

    def reading(self) -> bool:
        return self.phase == Phase.RUNNING

    def asleep(self) -> bool:
        return self.sleep == Sleep.LIGHT or self.phase == Phase.DEEP_SLEEP

    def can_interrupt(self) -> bool:
        return self.channel.up and self.phase == Phase.RUNNING

    def interrupt(self) -> None:
        self.channel.send({"t": "interrupt"})

    def runnable(self) -> bool:
        return self.process.runnable()

    # --- serial bytes --------------------------------------------------------------------------

    def _on_user_input(self) -> None:
        data = self.user.read()
        if data:
            self.line.from_user(data)

    def _type_to_firmware(self, data: bytes) -> None:
        self.fw_tty.write(data)

    def _drain_firmware_output(self) -> None:
        while data := self.fw_tty.read():
            self._handle_output(data)

    def _on_firmware_output(self) -> None:
        data = self.fw_tty.read()
        if data:
            self._handle_output(data)

    def _handle_output(self, data: bytes) -> None:
        data = self.repl.output(data)
        if data:
            self.user.write(data)
        self._maybe_running()

    # --- side channel messages -----------------------------------------------------------------

    def _on_fw_message(self, msg: dict) -> None:
        handler = self._fw_handlers.get(msg.get("t"))  # type: ignore[arg-type]
        if handler is not None:
            handler(msg)

    def _on_hello(self, msg: dict) -> None:
        self.boot_count += 1
        self.deployed = bool(msg.get("deployed"))
        self.ran_main = bool(msg.get("run_main"))
        self.heap_at_boot = msg.get("heap")
        self.channel.send(self.panel.welcome())
        log.info("firmware booted (boot %d)", self.boot_count)
        self.channel.resend_pending()
        now = self.clock()
        for button, end in list(self.presses.items()):
            if end > now:
                left_ms = int((end - now) * 1000)
                self.channel.command({"t": "press", "button": button, "ms": left_ms})
        self.hello_seen = True
        self._maybe_running()
        if self.boot_count == 1:
            self._write_info(ready=True)
            if self.view is None:
                print(f"sim: serial port {self.port}", flush=True)

    def _on_sleep(self, msg: dict) -> None:
        self.sleep = Sleep(msg.get("state", "awake"))

    def _on_deep_sleep(self, msg: dict) -> None:
        ms = int(msg.get("ms", 0))
        self.process.stop(Stop.DEEP_SLEEP)
        self.sleep_gen += 1
        if ms > 0:
            self.timers.add(ms / 1000, self._wake(self.sleep_gen))

    def _on_powercut(self, msg: dict) -> None:
        log.info("power cut during a flash write")
        self.process.stop(Stop.POWER_CUT)

    def _wake(self, gen: int) -> Callable[[], None]:
        def wake() -> None:
            if self.phase == Phase.DEEP_SLEEP and self.sleep_gen == gen:
                self.power_on()

        return wake

    def _on_frame(self, msg: dict) -> None:
        now = self.clock()
        self.panel.update(msg, now - self.process.started, now - self.start_time)
        self.fw_status["i2c_bytes"] = msg.get("i2c_bytes")
        self.fw_status["panel_bytes"] = msg.get("panel_bytes")
        self.control.frame_arrived()
        if self.view is not None:
            self.view.dirty = True

    # --- what the control server drives (control_server.Board) ---------------------------------

    def press(self, button: int, ms: int) -> None:
        if button not in (0, 1):
            raise SimError("button must be 0 (next) or 1 (previous)")
        if not 1 <= ms <= 60_000:
            raise SimError("press duration must be 1..60000 ms")
        self.presses[button] = self.clock() + ms / 1000
        if self.phase == Phase.DEEP_SLEEP:
            self.power_on()  # the press wakes the chip; hello re-sends the press
            return
        self.channel.command({"t": "press", "button": button, "ms": ms})

    def model_command(self, msg: dict, waiter: JsonConn | None, timeout: float) -> None:
        self.channel.command(msg, waiter, timeout)

    def cut_power(self) -> None:
        """Power off now (the process dies wherever it is), and on again after off_ms."""
        if self.process.proc is None:
            raise SimError("the firmware is not running")
        self.process.stop(Stop.POWER_CUT)

    def reset(self) -> None:
        """The board's reset button: a power-on boot (main.py runs)."""
        if self.process.proc is not None:
            self.process.stop(Stop.RESET)
        elif self.phase == Phase.DEEP_SLEEP:
            self.power_on()
        # else: off, a restart is already on its way

    def quit(self) -> None:
        self.quitting = True

    @property
    def frame(self) -> Frame:
        """The panel's last frame (the terminal view draws it)."""
        return self.panel.frame

    def panel_version(self) -> int:
        return self.panel.frame.version

    def panel_info(self) -> dict:
        return self.panel.info()

    def snapshot(self, path: str | None, scale: int) -> Path:
        return self.panel.snapshot(self.state_dir / "snapshots", path, scale)

    def status(self) -> dict:
        return {
            "running": self.process.alive,
            "pid": self.process.pid,
            "phase": self.phase.value,
            "repl": self.repl.mode.value,
            "sleep": self.sleep.value,
            "boot_count": self.boot_count,
            "port": self.port,
            "rx_buffer": self.opt.rx_buffer,
            "rx_dropped": self.line.rx_dropped,
            "rx_dropped_asleep": self.line.rx_dropped_asleep,
            "baud": self.opt.baud,
            "serial_quiet_ms": self.opt.serial_quiet_ms,
            "server_idle_ms": self.opt.server_idle_ms,
            "tx_dropped": self.user.tx_dropped,
            "first_frame_s": self.panel.first_frame_s,
            "boot_first_frame_s": self.panel.boot_first_frame_s,
            "panel_version": self.panel.frame.version,
            "pending_commands": len(self.channel.unacked),
            "deployed": self.deployed,
            "ran_main": self.ran_main,
            "heap_limit": self.opt.heap.firmware if self.opt.heap else None,
            "heap_at_boot": self.heap_at_boot,
            "rtc": self.rtc_state(),
            **{f"fw_{k}": v for k, v in self.fw_status.items()},
        }

    def rtc_state(self) -> dict | None:
        """The DS3231 model's battery-backed state, read from its file (the model rewrites
        it on every change), so it is known while the firmware sits at the REPL or is off."""
        try:
            state = json.loads((self.state_dir / "ds3231.json").read_text())
            unix = (time.time_ns() + int(state["offset_ns"])) // 1_000_000_000
            return {
                "unix": unix,
                "battery": bool(state.get("battery", True)),
                "osf": bool(state["regs"][0x0F] & 0x80),
            }
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return None

    # --- loop ----------------------------------------------------------------------------------

    def run(self) -> None:
        self.setup()
        try:
            if self.view is not None:
                self.view.start(self)
            self.power_on()
            while not self.quitting:
                timeout = LOOP_TICK_S
                first = self.timers.next_due()
                if first is not None:
                    timeout = max(0.0, min(timeout, first - self.clock()))
                for key, _ in self.sel.select(timeout):
                    key.data()
                self._check_exit()
                self.timers.run_due()
                self.channel.expire()
                self.control.expire()
                if self.view is not None:
                    self.view.tick(self)
        finally:
            self.quitting = True
            if self.view is not None:
                self.view.stop()
            self.teardown()


def find_repo() -> Path:
    repo = Path(__file__).resolve().parents[2]
    if not (repo / "boards" / "sim" / "simboot.py").exists():
        raise SimError(f"the simulator needs the repository checkout (no boards/sim in {repo})")
    return repo


def install_signal_handlers(sup: Supervisor) -> None:
    def stop(signum: int, frame: object) -> None:
        sup.quitting = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)


__all__ = ["SimError", "SimOptions", "Supervisor"]
