"""The supervisor of the virtual token: serial pty, firmware process, side channel, control.

See host_tools/sim/README.md for the design. One thread, one selector loop:

    user (mpremote, host_tools)                                firmware process
    /dev/pts/A  <->  master A  <->  [supervisor]  <->  master B  <->  /dev/pts/B = stdin/out
                                          |                        (micropython -i simboot.py)
                                          +-- 127.0.0.1 TCP <-- side channel (simlink.py)
                                          +-- STATE/control.sock <-- SimControl, sim-ctl
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import logging
import os
import pty
import secrets
import selectors
import signal
import socket
import struct
import subprocess
import termios
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from host_tools.sim import SimError
from host_tools.sim.panel import Frame

log = logging.getLogger(__name__)

RAW_PROMPT = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY_BANNER = b'Type "help()" for more information.'
SOFT_REBOOT = b"MPY: soft reboot\r\n"
BANNER_START = b"MicroPython "
FRIENDLY_PROMPT = b">>> "
CTRL_A = b"\x01"
CTRL_C = 3

BOOT_TIMEOUT_S = 15.0
INTERRUPT_FALLBACK_S = 0.1  # then a Ctrl-C the firmware did not take goes in as SIGINT
STALL_MAX_S = 0.25  # longest the line waits for a runnable firmware to read (see _receive)
FAST_EXIT_S = 1.0  # a process that dies this fast after a start is restarted only after a pause
_PR_SET_PDEATHSIG = 1


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
    baud: int = 115200  # the serial line's rate, input is paced at it; 0: instant


def _child_setup() -> None:
    # In the firmware process, after setsid(): make the pty its controlling terminal, so that
    # Ctrl-C (with ISIG) becomes SIGINT as MicroPython's unix port expects, and die with the
    # supervisor.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _set_nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


@dataclass
class _Pending:
    msg: dict
    waiter: Any = None  # the control connection waiting for the ack
    deadline: float = 0.0


class _Conn:
    """A socket with a receive buffer (side channel or control client)."""

    def __init__(self, sock: socket.socket, kind: str) -> None:
        self.sock = sock
        self.kind = kind
        self.buf = b""
        self.authed = False
        self.closed = False

    def send_line(self, obj: dict) -> None:
        if self.closed:
            return
        try:
            self.sock.setblocking(True)
            self.sock.sendall(json.dumps(obj).encode() + b"\n")
        except OSError:
            self.closed = True
        finally:
            if not self.closed:
                self.sock.setblocking(False)


class Supervisor:
    def __init__(self, options: SimOptions) -> None:
        self.opt = options
        self.state_dir = options.state_dir.resolve()
        self.sel = selectors.DefaultSelector()
        self.proc: subprocess.Popen[bytes] | None = None
        self.proc_started = 0.0
        self.phase = "off"  # off, booting, running, deep_sleep
        self.raw_boot = False  # booting into the raw REPL (soft reset from the raw REPL)
        self.hello_seen = False
        self.raw_ready = False
        self.deployed: bool | None = None
        self.ran_main: bool | None = None  # whether the last boot ran main.py
        self.sleep_gen = 0
        self.mode = "friendly"  # the REPL the firmware was last seen in: friendly or raw
        self.exit_reason: str | None = None
        self.boot_count = 0
        self.start_time = time.monotonic()
        self.first_frame_s: float | None = None  # supervisor start to the first lit frame
        self.boot_first_frame_s: float | None = None  # last process start to its first frame
        self.frame = Frame()
        self.frame_waiters: list[tuple[_Conn, int, float]] = []
        self.fw: _Conn | None = None
        self.fw_key = secrets.token_hex(16)
        self.next_id = 1
        self.unacked: dict[int, _Pending] = {}
        self.presses: dict[int, float] = {}  # button -> monotonic end of the press
        self.fw_status: dict = {}
        self.sleep_state = "awake"
        self.held = bytearray()  # user input held while the firmware boots
        self.line_queue = bytearray()  # input on its way down the serial line
        self.line_clock = 0.0
        self.pump_scheduled = False
        self.stall_since: float | None = None
        self.intr_pending = False  # a Ctrl-C sent over the side channel, not yet taken
        self.intr_gen = 0
        self.rx_dropped = 0
        self.rx_dropped_asleep = 0
        self.tx_dropped = 0
        self.raw_boot_buf = b""
        self.raw_boot_sent_a = False
        self.out_tail = b""
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.quitting = False
        self.snap_count = 0
        self.view: Any = None  # the terminal view, when not headless
        # The panel keeps power (and its picture) across soft resets, resets and deep sleep;
        # at the first start and after a power cut it starts dark with random GDDRAM.
        self.panel_powered = False
        self._lock_fd = -1

    # --- setup and teardown -------------------------------------------------------------------

    def setup(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        # The user's side: the path printed and linked; we keep the slave open too, so the
        # master never sees a hang-up when a client closes the port.
        self.a_master, self.a_slave = pty.openpty()
        tty.setraw(self.a_slave)
        self.port = os.ttyname(self.a_slave)
        _set_nonblocking(self.a_master)
        # The firmware's side: raw, but with ISIG so a Ctrl-C byte becomes SIGINT while code
        # runs (MicroPython's REPL switches ISIG off while it reads a line), and NOFLSH so the
        # bytes after a Ctrl-C stay queued, as in the ESP32's ring buffer.
        self.b_master, self.b_slave = pty.openpty()
        self._boot_tty()
        _set_nonblocking(self.b_master)
        self.sel.register(self.a_master, selectors.EVENT_READ, self._on_user_input)
        self.sel.register(self.b_master, selectors.EVENT_READ, self._on_firmware_output)

        self.chan = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.chan.bind(("127.0.0.1", 0))
        self.chan.listen(4)
        self.chan.setblocking(False)
        self.sel.register(self.chan, selectors.EVENT_READ, self._on_chan_accept)

        self.control_path = self.state_dir / "control.sock"
        if len(str(self.control_path)) > 100:
            raise SimError(f"state directory path too long for a unix socket: {self.state_dir}")
        self.control_path.unlink(missing_ok=True)
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.bind(str(self.control_path))
        self.ctl.listen(8)
        self.ctl.setblocking(False)
        self.sel.register(self.ctl, selectors.EVENT_READ, self._on_ctl_accept)

        if self.opt.link is not None:
            link = self.opt.link
            if link.is_symlink():
                link.unlink()
            elif link.exists():
                raise SimError(f"--link {link} exists and is not a symlink")
            link.symlink_to(self.port)
        self._write_info(ready=False)
        log.info("serial port %s", self.port)

    def _boot_tty(self) -> None:
        # The firmware's terminal as at boot: raw, with ISIG (Ctrl-C interrupts) and NOFLSH.
        # A process killed at the REPL (which turns ISIG off while it reads a line) or after
        # set_interrupt_char(False) leaves ISIG off; a board boots (soft reset included) with
        # Ctrl-C enabled, so every start restores it.
        tty.setraw(self.b_slave)
        attrs = termios.tcgetattr(self.b_slave)
        attrs[3] |= termios.ISIG | termios.NOFLSH
        attrs[6][termios.VINTR] = bytes([CTRL_C])
        termios.tcsetattr(self.b_slave, termios.TCSANOW, attrs)

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
        self._kill()
        for path in (self.control_path, self.state_dir / "sim.json"):
            path.unlink(missing_ok=True)
        if self.opt.link is not None and self.opt.link.is_symlink():
            self.opt.link.unlink()
        for s in (self.chan, self.ctl):
            s.close()
        for fd in (self.a_master, self.a_slave, self.b_master, self.b_slave, self._lock_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    # --- the firmware process -----------------------------------------------------------------

    def spawn(self, run_main: bool, power_on: bool = False) -> None:
        self._boot_tty()
        if power_on:  # a board's UART ring is empty after power-on: drop what was unread
            termios.tcflush(self.b_slave, termios.TCIFLUSH)
        simboot = self.opt.repo / "boards" / "sim" / "simboot.py"
        env = dict(
            os.environ,
            MICROPYPATH=".frozen",
            TZ="UTC",
            SIM_REPO=str(self.opt.repo),
            SIM_STATE=str(self.state_dir),
            SIM_LINK_PORT=str(self.chan.getsockname()[1]),
            SIM_LINK_KEY=self.fw_key,
            SIM_RUN_MAIN="1" if run_main else "0",
            SIM_FLASH_BLOCKS=str(self.opt.flash_blocks),
        )
        self.proc = subprocess.Popen(
            [self.opt.micropython, "-i", str(simboot)],
            stdin=self.b_slave,
            stdout=self.b_slave,
            stderr=self.b_slave,
            env=env,
            cwd=self.state_dir,
            start_new_session=True,
            preexec_fn=_child_setup,
            close_fds=True,
        )
        self.proc_started = time.monotonic()
        self.boot_first_frame_s = None
        self.phase = "booting"
        self.raw_boot = not run_main
        self.hello_seen = False
        self.raw_ready = False
        self.raw_boot_buf = b""
        self.raw_boot_sent_a = False
        self.sleep_state = "awake"
        if run_main:
            self.mode = "friendly"
        self.add_timer(BOOT_TIMEOUT_S, self._boot_timeout(self.proc))
        log.info("firmware started (pid %d, %s)", self.proc.pid, "main.py" if run_main else "raw")

    def _boot_timeout(self, proc: subprocess.Popen[bytes]) -> Callable[[], None]:
        def check() -> None:
            if self.proc is proc and self.phase == "booting":
                log.warning("firmware boot did not finish in %.0f s", BOOT_TIMEOUT_S)
                if self.raw_boot_buf:
                    self._to_user(self.raw_boot_buf)
                    self.raw_boot_buf = b""
                self._set_running()

        return check

    def _kill(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def cut_power(self, reason: str) -> None:
        """Power off now (the process dies wherever it is), and on again after off_ms."""
        self.exit_reason = reason
        self._kill()

    def _check_exit(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is None:
            return
        self._drain_firmware_output()
        self.proc = None
        self.intr_pending = False
        for _ in range(1000):  # what the firmware sent before it died
            if self.fw is None or self.fw.closed:
                break
            self._on_conn_read(self.fw)
        if self.fw is not None:
            self._close_conn(self.fw)
        reason, self.exit_reason = self.exit_reason, None
        ran = time.monotonic() - self.proc_started
        log.info("firmware exited (status %s, %s)", proc.returncode, reason or "soft reset")
        self.phase = "off"
        if self.quitting:
            return
        if reason == "deep_sleep":
            self.phase = "deep_sleep"
            return
        if reason == "powercut":
            self.panel_powered = False
            self.frame = Frame(version=self.frame.version + 1, received=time.time())
            if self.view is not None:
                self.view.dirty = True
        if reason in ("powercut", "reset"):
            restart = lambda: self.spawn(run_main=True, power_on=True)  # noqa: E731
            self.add_timer(self.opt.off_ms / 1000, restart)
            return
        # The interpreter left by itself: Ctrl-D at an empty REPL line, SystemExit,
        # machine.soft_reset(). A board soft-resets: raw REPL stays raw without main.py,
        # the friendly REPL runs main.py again.
        self._to_user(SOFT_REBOOT)
        run_main = self.mode != "raw"
        delay = FAST_EXIT_S if (ran < FAST_EXIT_S and proc.returncode not in (0, None)) else 0
        self.add_timer(delay, lambda: self.spawn(run_main=run_main))

    def _maybe_running(self) -> None:
        if self.phase == "booting" and self.hello_seen and (self.raw_ready or not self.raw_boot):
            self._set_running()

    def _set_running(self) -> None:
        self.phase = "running"
        if self.held:
            data, self.held = bytes(self.held), bytearray()
            self._deliver(data)

    # --- serial bytes -------------------------------------------------------------------------

    def _on_user_input(self) -> None:
        try:
            data = os.read(self.a_master, 4096)
        except OSError:
            return
        if not data:
            return
        if self.sleep_state == "light" or self.phase == "deep_sleep":
            # A sleeping ESP32's UART is clock-gated: what arrives meanwhile is lost.
            self.rx_dropped_asleep += len(data)
            return
        if self.phase != "running":
            # Nothing reads the UART while the board boots: keep what fits in the ring.
            room = self.opt.rx_buffer - len(self.held) if self.opt.rx_buffer else len(data)
            keep = data[: max(room, 0)]
            self.held += keep
            self.rx_dropped += len(data) - len(keep)
            return
        self._deliver(data)

    def _unread(self) -> int:
        buf = fcntl.ioctl(self.b_slave, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", buf)[0])

    def _deliver(self, data: bytes) -> None:
        # The serial line: bytes queue here (the host's side of the cable) and go out at
        # the line rate, so a firmware that keeps reading never overflows, as on a board.
        self.line_queue += data
        self._pump()

    def _pump(self) -> None:
        self.pump_scheduled = False
        if not self.line_queue:
            return
        if self.intr_pending:
            if termios.tcgetattr(self.b_slave)[3] & termios.ISIG:
                self._schedule_pump(0.002)  # the firmware has not taken the Ctrl-C yet
                return
            self.intr_pending = False  # it reached the REPL (or disabled Ctrl-C)
        now = time.monotonic()
        rate = self.opt.baud / 10  # 8N1: ten bit times per byte
        if rate:
            # An idle line may send a burst of at most 2 ms worth at once.
            self.line_clock = max(self.line_clock, now - 0.002)
            n = int((now - self.line_clock) * rate)
            if n <= 0:
                self._schedule_pump(1 / rate)
                return
        else:
            n = len(self.line_queue)
        chunk = bytes(self.line_queue[:n])
        kept = self._receive(chunk)
        if kept < len(chunk):  # the pty is full (no rx limit): try the rest later
            n = kept
        del self.line_queue[:n]
        if rate:
            self.line_clock += n / rate
        if self.line_queue:
            self._schedule_pump(0.002)

    def _schedule_pump(self, delay: float) -> None:
        if not self.pump_scheduled:
            self.pump_scheduled = True
            self.add_timer(delay, self._pump)

    def _receive(self, data: bytes) -> int:
        """The UART receives data. Returns how many bytes were consumed (passed on or
        dropped); the others wait on the line.

        A Ctrl-C while the firmware runs code (its tty has ISIG) and the side channel is up
        goes to the firmware as an "interrupt" message, raised as KeyboardInterrupt at its
        next hardware access: the unix port raises SIGINT's KeyboardInterrupt
        asynchronously, anywhere (inside littlefs, mid-way through a send), where a board
        raises it between bytecodes. The line holds what follows until the firmware took
        it, or INTERRUPT_FALLBACK_S passed and the byte went in as SIGINT after all."""
        isig = termios.tcgetattr(self.b_slave)[3] & termios.ISIG
        cut = len(data)
        if isig and self.fw is not None and not self.fw.closed and self.phase == "running":
            i = data.find(bytes([CTRL_C]))
            if i >= 0:
                cut = i
        used = self._to_ring(data[:cut], bool(isig))
        if used == cut < len(data):
            self._interrupt()
            used += 1
        return used

    def _interrupt(self) -> None:
        assert self.fw is not None
        self.intr_pending = True
        self.intr_gen += 1
        gen = self.intr_gen
        self.fw.send_line({"t": "interrupt"})

        def fallback() -> None:
            if self.intr_pending and self.intr_gen == gen:
                self.intr_pending = False
                if termios.tcgetattr(self.b_slave)[3] & termios.ISIG:
                    log.info("Ctrl-C not taken at a hardware access: sent as SIGINT")
                    os.write(self.b_master, bytes([CTRL_C]))
                self._schedule_pump(0)

        self.add_timer(INTERRUPT_FALLBACK_S, fallback)

    def _to_ring(self, data: bytes, isig: bool) -> int:
        """Hand the firmware what fits in the ring buffer, drop the rest (see _stall)."""
        limit = self.opt.rx_buffer
        if not limit:
            try:
                return os.write(self.b_master, data) if data else 0
            except BlockingIOError:
                return 0
        room = limit - self._unread()
        if room > 0:
            self.stall_since = None  # the firmware read something: it is not stuck
        out = bytearray()
        used = 0
        for b in data:
            if b == CTRL_C and isig:
                out.append(b)  # taken out before the ring buffer, as the ESP32 UART does
            elif room > 0:
                out.append(b)
                room -= 1
            elif self._stall():
                break
            else:
                self.rx_dropped += 1
            used += 1
        if out:
            try:
                os.write(self.b_master, out)
            except BlockingIOError:
                self.rx_dropped += len(out)
        return used

    def _stall(self) -> bool:
        now = time.monotonic()
        if self.stall_since is None:
            self.stall_since = now
        if now - self.stall_since >= STALL_MAX_S:
            return False
        proc = self.proc
        if proc is None:
            return False
        try:
            stat = Path(f"/proc/{proc.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] == "R"

    def _drain_firmware_output(self) -> None:
        while True:
            try:
                data = os.read(self.b_master, 65536)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self._handle_output(data)

    def _on_firmware_output(self) -> None:
        try:
            data = os.read(self.b_master, 65536)
        except (BlockingIOError, OSError):
            return
        if data:
            self._handle_output(data)

    def _handle_output(self, data: bytes) -> None:
        if self.raw_boot and self.phase == "booting" and not self.raw_ready:
            data = self._filter_raw_boot(data)
            if not data:
                return
        self._track_mode(data)
        self._to_user(data)

    def _filter_raw_boot(self, data: bytes) -> bytes:
        # After a soft reset from the raw REPL the interpreter starts in the friendly REPL;
        # we type Ctrl-A for the user and hide its banner, so the port shows what a board
        # shows: "raw REPL; CTRL-B to exit\r\n>".
        buf = self.raw_boot_buf + data
        if not self.raw_boot_sent_a:
            start = buf.find(BANNER_START)
            before, buf = (buf, b"") if start < 0 else (buf[:start], buf[start:])
            if before:
                self._to_user(before)
            if buf.endswith(FRIENDLY_PROMPT):
                os.write(self.b_master, CTRL_A)
                self.raw_boot_sent_a = True
            self.raw_boot_buf = buf
            return b""
        i = buf.find(RAW_PROMPT)
        if i < 0:
            self.raw_boot_buf = buf
            return b""
        self.raw_boot_buf = b""
        self.mode = "raw"
        self.raw_ready = True
        self._maybe_running()
        return buf[i:]

    def _track_mode(self, data: bytes) -> None:
        seen = self.out_tail + data
        raw = seen.rfind(RAW_PROMPT)
        friendly = seen.rfind(FRIENDLY_BANNER)
        if raw > friendly:
            self.mode = "raw"
        elif friendly > raw:
            self.mode = "friendly"
        keep = max(len(RAW_PROMPT), len(FRIENDLY_BANNER)) - 1
        self.out_tail = seen[-keep:]

    def _to_user(self, data: bytes) -> None:
        for _ in range(2):
            try:
                n = os.write(self.a_master, data)
            except BlockingIOError:
                n = 0
            data = data[n:]
            if not data:
                return
            # Nobody reads the port: like a USB-UART bridge with no host, drop the oldest.
            termios.tcflush(self.a_slave, termios.TCIFLUSH)
        self.tx_dropped += len(data)

    # --- side channel -------------------------------------------------------------------------

    def _on_chan_accept(self) -> None:
        sock, _ = self.chan.accept()
        sock.setblocking(False)
        conn = _Conn(sock, "fw")
        self.sel.register(sock, selectors.EVENT_READ, lambda: self._on_conn_read(conn))

    def _on_ctl_accept(self) -> None:
        sock, _ = self.ctl.accept()
        sock.setblocking(False)
        conn = _Conn(sock, "ctl")
        self.sel.register(sock, selectors.EVENT_READ, lambda: self._on_conn_read(conn))

    def _close_conn(self, conn: _Conn) -> None:
        if conn.closed and conn.sock.fileno() < 0:
            return
        conn.closed = True
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()
        if conn is self.fw:
            self.fw = None

    def _on_conn_read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_conn(conn)
            return
        conn.buf += data
        while not conn.closed:
            nl = conn.buf.find(b"\n")
            if nl < 0:
                return
            line, conn.buf = conn.buf[:nl], conn.buf[nl + 1 :]
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
                if not isinstance(msg, dict):
                    raise ValueError("not an object")
            except ValueError:
                # A torn line (the firmware was interrupted mid-send): skip it.
                log.debug("unreadable line on the %s channel skipped", conn.kind)
                continue
            try:
                if conn.kind == "fw":
                    self._on_fw_message(conn, msg)
                else:
                    self._on_ctl_message(conn, msg)
            except (KeyError, TypeError, ValueError) as e:
                log.warning("bad %s message %s: %r", conn.kind, msg.get("t"), e)

    def _on_fw_message(self, conn: _Conn, msg: dict) -> None:
        kind = msg.get("t")
        if not conn.authed:
            if kind != "hello" or msg.get("key") != self.fw_key:
                self._close_conn(conn)
                return
            conn.authed = True
            if self.fw is not None:
                self._close_conn(self.fw)
            self.fw = conn
            self.boot_count += 1
            self.deployed = bool(msg.get("deployed"))
            self.ran_main = bool(msg.get("run_main"))
            keep = self.panel_powered and bool(self.frame.gddram)
            conn.send_line(
                {
                    "t": "welcome",
                    "panel": self.frame.state if keep else None,
                    "gddram": self.frame.gddram.hex() if keep else "",
                }
            )
            self.panel_powered = True
            log.info("firmware booted (boot %d)", self.boot_count)
            for pending in self.unacked.values():
                if pending.msg["t"] != "press":
                    conn.send_line(pending.msg)
            now = time.monotonic()
            for button, end in list(self.presses.items()):
                if end > now:
                    self.send_fw({"t": "press", "button": button, "ms": int((end - now) * 1000)})
            self.hello_seen = True
            self._maybe_running()
            if self.boot_count == 1:
                self._write_info(ready=True)
                if self.view is None:
                    print(f"sim: serial port {self.port}", flush=True)
            return
        if kind == "frame":
            self._on_frame(msg)
        elif kind == "ack":
            self._on_ack(msg)
        elif kind == "interrupted":
            self.intr_pending = False
            self._schedule_pump(0)
        elif kind == "sleep":
            self.sleep_state = msg.get("state", "awake")
        elif kind == "deep_sleep":
            ms = int(msg.get("ms", 0))
            self.cut_power("deep_sleep")
            self.sleep_gen += 1
            if ms > 0:
                self.add_timer(ms / 1000, self._wake(self.sleep_gen))
        elif kind == "powercut":
            log.info("power cut during a flash write")
            self.cut_power("powercut")

    def _wake(self, gen: int) -> Callable[[], None]:
        def wake() -> None:
            if self.phase == "deep_sleep" and self.sleep_gen == gen:
                self.spawn(run_main=True, power_on=True)

        return wake

    def _on_frame(self, msg: dict) -> None:
        size = int(msg["w"]) * int(msg["h"]) // 8
        self.frame = Frame(
            width=int(msg["w"]),
            height=int(msg["h"]),
            gddram=bytes.fromhex(msg["gddram"])[:1024],
            glass=bytes.fromhex(msg["glass"])[:size],
            state={k: v for k, v in msg.items() if k not in ("t", "gddram", "glass")},
            version=int(msg["v"]),
            received=time.time(),
        )
        self.fw_status["i2c_bytes"] = msg.get("i2c_bytes")
        self.fw_status["panel_bytes"] = msg.get("panel_bytes")
        now = time.monotonic()
        if msg.get("lit") and self.boot_first_frame_s is None:
            self.boot_first_frame_s = now - self.proc_started
            if self.first_frame_s is None:
                self.first_frame_s = now - self.start_time
        for waiter in list(self.frame_waiters):
            conn, after, _ = waiter
            if self.frame.version != after:
                self.frame_waiters.remove(waiter)
                conn.send_line({"ok": True, **self._panel_info()})
        if self.view is not None:
            self.view.dirty = True

    def _on_ack(self, msg: dict) -> None:
        pending = self.unacked.pop(msg.get("id"), None)
        status = {k: v for k, v in msg.items() if k not in ("t", "id", "error")}
        if status:
            self.fw_status.update(status)
        if pending is None or pending.waiter is None:
            if msg.get("error"):
                log.warning("firmware refused %s: %s", pending and pending.msg, msg["error"])
            return
        if msg.get("error"):
            pending.waiter.send_line({"ok": False, "error": msg["error"]})
        else:
            pending.waiter.send_line({"ok": True, "applied": True, **status})

    def send_fw(self, msg: dict, waiter: _Conn | None = None, timeout: float = 5.0) -> int:
        msg = dict(msg, id=self.next_id)
        self.next_id += 1
        self.unacked[msg["id"]] = _Pending(msg, waiter, time.monotonic() + timeout)
        if self.fw is not None:
            self.fw.send_line(msg)
        return msg["id"]

    # --- control socket -----------------------------------------------------------------------

    def press(self, button: int, ms: int) -> None:
        if button not in (0, 1):
            raise SimError("button must be 0 (next) or 1 (previous)")
        if not 1 <= ms <= 60_000:
            raise SimError("press duration must be 1..60000 ms")
        self.presses[button] = time.monotonic() + ms / 1000
        if self.phase == "deep_sleep":
            # The press wakes the chip; hello re-sends the press.
            self.spawn(run_main=True, power_on=True)
            return
        self.send_fw({"t": "press", "button": button, "ms": ms})

    def reset(self) -> None:
        """The board's reset button: a power-on boot (main.py runs)."""
        if self.proc is not None:
            self.cut_power("reset")
        elif self.phase == "deep_sleep":
            self.spawn(run_main=True, power_on=True)
        # else: off, a restart is already on its way

    def _on_ctl_message(self, conn: _Conn, msg: dict) -> None:
        try:
            reply = self._control(conn, msg)
        except SimError as e:
            reply = {"ok": False, "error": str(e)}
        except (KeyError, TypeError, ValueError) as e:
            reply = {"ok": False, "error": f"bad request: {e!r}"}
        if reply is not None:
            conn.send_line(reply)

    def _control(self, conn: _Conn, msg: dict) -> dict | None:
        cmd = msg.get("cmd")
        wait = bool(msg.get("wait", False))
        timeout = float(msg.get("timeout", 5.0))
        if cmd == "press":
            self.press(int(msg.get("button", 0)), int(msg.get("ms", 100)))
            return {"ok": True}
        fw_cmds = {
            "set_time": lambda: {"t": "rtc_set", "unix": msg["unix"]},
            "shift_time": lambda: {"t": "rtc_shift", "s": msg["seconds"]},
            "pull_battery": lambda: {"t": "battery", "fitted": False},
            "insert_battery": lambda: {"t": "battery", "fitted": True},
            "cut_after": lambda: {"t": "cut", "after": int(msg["writes"])},
            "fw_status": lambda: {"t": "status"},
        }
        if cmd in fw_cmds:
            fw_msg = fw_cmds[cmd]()
            if cmd == "fw_status":
                wait = True
            self.send_fw(fw_msg, conn if wait else None, timeout)
            return None if wait else {"ok": True, "applied": False}
        if cmd == "cut_power":
            if self.proc is None:
                raise SimError("the firmware is not running")
            self.cut_power("powercut")
            return {"ok": True}
        if cmd == "reset":
            self.reset()
            return {"ok": True}
        if cmd == "panel":
            return {"ok": True, **self._panel_info()}
        if cmd == "wait_frame":
            after = int(msg.get("after", self.frame.version))
            if self.frame.version != after:
                return {"ok": True, **self._panel_info()}
            self.frame_waiters.append((conn, after, time.monotonic() + timeout))
            return None
        if cmd == "snapshot":
            return {"ok": True, "path": str(self.snapshot(msg.get("path"), msg.get("scale", 4)))}
        if cmd == "status":
            return {"ok": True, **self.status()}
        if cmd == "quit":
            self.quitting = True
            return {"ok": True}
        raise SimError(f"unknown command {cmd!r}")

    def _panel_info(self) -> dict:
        f = self.frame
        return {
            "version": f.version,
            "width": f.width,
            "height": f.height,
            "gddram": f.gddram.hex(),
            "glass": f.glass.hex(),
            "state": f.state,
            "received": f.received,
        }

    def snapshot(self, path: str | None, scale: int) -> Path:
        if not self.frame.glass:
            raise SimError("no frame from the panel yet")
        if path:
            target = Path(path)
            if not target.is_absolute():
                target = self.state_dir / "snapshots" / target
        else:
            self.snap_count += 1
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            target = self.state_dir / "snapshots" / f"panel-{stamp}-{self.snap_count}.png"
        return self.frame.snapshot(target, int(scale))

    def status(self) -> dict:
        return {
            "running": self.proc is not None and self.proc.poll() is None,
            "pid": self.proc.pid if self.proc is not None else None,
            "phase": self.phase,
            "repl": self.mode,
            "sleep": self.sleep_state,
            "boot_count": self.boot_count,
            "port": self.port,
            "rx_buffer": self.opt.rx_buffer,
            "rx_dropped": self.rx_dropped,
            "rx_dropped_asleep": self.rx_dropped_asleep,
            "baud": self.opt.baud,
            "tx_dropped": self.tx_dropped,
            "first_frame_s": self.first_frame_s,
            "boot_first_frame_s": self.boot_first_frame_s,
            "panel_version": self.frame.version,
            "pending_commands": len(self.unacked),
            "deployed": self.deployed,
            "ran_main": self.ran_main,
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

    # --- loop -------------------------------------------------------------------------------

    def add_timer(self, delay: float, fn: Callable[[], None]) -> None:
        self.timers.append((time.monotonic() + delay, fn))

    def _run_timers(self) -> None:
        now = time.monotonic()
        due = [t for t in self.timers if t[0] <= now]
        self.timers = [t for t in self.timers if t[0] > now]
        for _, fn in due:
            fn()
        for key, pending in list(self.unacked.items()):
            if pending.waiter is not None and pending.deadline <= now:
                pending.waiter.send_line(
                    {
                        "ok": False,
                        "error": "not applied yet: the firmware has not touched the hardware "
                        "(at the REPL, or not running); the command stays queued",
                    }
                )
                pending.waiter = None
                if pending.msg["t"] == "status":
                    del self.unacked[key]
        for waiter in list(self.frame_waiters):
            if waiter[2] <= now:
                self.frame_waiters.remove(waiter)
                waiter[0].send_line({"ok": False, "error": "no new frame before the timeout"})

    def run(self) -> None:
        self.setup()
        try:
            if self.view is not None:
                self.view.start(self)
            self.spawn(run_main=True, power_on=True)
            while not self.quitting:
                timeout = 0.05
                if self.timers:
                    first = min(t for t, _ in self.timers)
                    timeout = max(0.0, min(timeout, first - time.monotonic()))
                for key, _ in self.sel.select(timeout):
                    key.data()
                self._check_exit()
                self._run_timers()
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
