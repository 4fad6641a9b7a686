# The virtual token's hardware and its side channel to the supervisor (runs inside MicroPython).
#
# Hardware(state_dir, link, flash) builds what sits on the sim board's PCB: the I2C bus
# (simi2c.SimI2C) with the SSD1306 model at 0x3C and the DS3231 model at 0x68 (its
# battery-backed state in state_dir/ds3231.json), two buttons and the flash block device.
# boards/sim/simboot.py makes one at boot (boot()); board.make() builds the firmware's board
# object on top of hardware(). Without a boot (a firmware test importing board directly)
# hardware() makes a standalone one: no supervisor, RTC state in memory, no flash.
#
# The side channel (Link) is a TCP connection to the supervisor on 127.0.0.1 (port and key
# from the environment, see simboot.py). Each message is one JSON object on its own line,
# sent as "\n" + JSON + "\n": a Ctrl-C can interrupt the firmware in the middle of a send,
# and the leading newline ends such a torn line so the next message arrives whole (the
# supervisor skips lines that do not parse).
#   firmware -> supervisor:
#     {"t": "hello", "key", "run_main", "heap"}    once, after the flash is mounted; the
#                                                  supervisor answers {"t": "welcome",
#                                                  "panel": state or null, "gddram": hex}
#     {"t": "frame", ..., "gddram": hex, "glass": hex}  after an I2C write changed the panel
#     {"t": "ack", "id", "error"?, ...}            a command was applied (or failed)
#     {"t": "sleep", "state": "light"|"awake"}     light sleep entered / left
#     {"t": "deep_sleep", "ms"}, {"t": "powercut"} the process waits to be killed
#   supervisor -> firmware (each with an "id", acknowledged once applied):
#     {"t": "press", "button", "ms"}, {"t": "rtc_set", "unix"}, {"t": "rtc_shift", "s"},
#     {"t": "battery", "fitted"}, {"t": "cut", "after"}, {"t": "status"}
#     {"t": "interrupt"} (no id): Ctrl-C; raised as KeyboardInterrupt at the next safe
#     hardware access, answered by {"t": "interrupted"} (else the supervisor sends SIGINT)
# Commands are applied lazily, when the firmware next touches the hardware (an I2C
# transaction, a button poll, a flash write, a light sleep): nothing runs in the background,
# and the firmware pays one poll() system call per hardware access and sends a frame only when
# the panel's picture state changed.

import gc
import json
import select
import socket
import time
from binascii import hexlify, unhexlify

from model_ds3231 import Ds3231Model
from model_ssd1306 import Ssd1306Model
from simi2c import Device, SimI2C

PANEL_ADDR = 0x3C
RTC_ADDR = 0x68
# Bytes per recv(): the side channel shares the firmware's heap (a 4 KB read failed there).
_RX_MAX = 256
_READ = 0
_WRITE = 1
_IOCTL = 2
_WELCOME_MS = 5000
# The SSD1306 registers a frame reports and a soft reset restores (the panel keeps its power
# and its picture while the ESP32 resets or sleeps; only a power cut clears it).
PANEL_REGS = (
    "display_on",
    "contrast",
    "inverted",
    "entire_on",
    "seg_remap",
    "com_remap",
    "charge_pump",
    "addressing_mode",
    "multiplex",
    "com_pins",
    "start_line",
    "display_offset",
)

_hw = None


def hardware():
    """The board's hardware: the one simboot made, else a standalone one (made once)."""
    global _hw
    if _hw is None:
        _hw = Hardware()
    return _hw


def boot(state_dir, link, flash):
    global _hw
    _hw = Hardware(state_dir, link, flash)
    return _hw


_HEX_PIECE = 128  # bytes of a buffer hexlified at once by Link.send_hex


class Link:
    """JSON-lines side channel to the supervisor over a localhost TCP socket."""

    def __init__(self, port, key):
        sock = socket.socket()
        sock.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
        self._sock = sock
        self._poller = select.poll()
        self._poller.register(sock, select.POLLIN)
        self._rx = b""
        self.alive = True
        self.key = key
        self.handler = None  # callable(msg) for every message received

    def send(self, msg):
        if not self.alive:
            return
        try:
            self._sock.write(b"\n" + json.dumps(msg).encode() + b"\n")
        except OSError:
            self.alive = False

    def send_hex(self, msg, fields):
        """send(msg) with each (name, buffer) of `fields` added as a hex string, written in
        small pieces: the plumbing shares the firmware's heap, and a frame message built whole
        took about 13 KB at once (JSON text, its bytes, the line)."""
        if not self.alive:
            return
        try:
            write = self._sock.write
            write(b"\n")
            write(json.dumps(msg)[:-1])  # without its closing brace
            for name, buf in fields:
                write(', "%s": "' % name)
                mv = memoryview(buf)
                for i in range(0, len(mv), _HEX_PIECE):
                    write(hexlify(mv[i : i + _HEX_PIECE]))
                write(b'"')
            write(b"}\n")
        except OSError:
            self.alive = False

    def poll(self, timeout_ms=0):
        """Receive and dispatch what the supervisor sent; wait up to timeout_ms for the first."""
        if not self.alive:
            if timeout_ms > 0:
                time.sleep_ms(timeout_ms)
            return
        while self._poller.poll(timeout_ms):
            timeout_ms = 0
            try:
                data = self._sock.recv(_RX_MAX)
            except OSError:
                data = b""
            if not data:
                self.alive = False
                return
            self._rx += data
            while b"\n" in self._rx:
                line, self._rx = self._rx.split(b"\n", 1)
                if line and self.handler is not None:
                    self.handler(json.loads(line))

    def hello(self, msg):
        """Introduce this boot and wait for the supervisor's welcome (panel state to keep)."""
        self.welcomed = False
        self.send(msg)
        deadline = time.ticks_add(time.ticks_ms(), _WELCOME_MS)
        while self.alive and not self.welcomed:
            left = time.ticks_diff(deadline, time.ticks_ms())
            if left <= 0:
                break
            self.poll(left)

    def wait_forever(self):
        # After a power cut or a deep sleep request: nothing runs until the supervisor kills
        # the process (it restarts it as a board would boot).
        while True:
            time.sleep_ms(1000)


class Button:
    """A button pressed from outside: press(ms) holds it down for ms milliseconds."""

    def __init__(self, hw):
        self._hw = hw
        self._until = None

    def press(self, ms):
        self._until = time.ticks_add(time.ticks_ms(), ms)

    def release(self):
        self._until = None

    def pressed(self):
        self._hw.service()
        until = self._until
        if until is None:
            return False
        if time.ticks_diff(until, time.ticks_ms()) > 0:
            return True
        self._until = None
        return False


class _Port(Device):
    # Sits between the bus and a model: applies pending commands before each transaction.
    def __init__(self, model, hw):
        self.model = model
        self._hw = hw

    @property
    def present(self):
        return getattr(self.model, "present", True)

    def i2c_start(self, read):
        self._hw.service()
        self.model.i2c_start(read)

    def i2c_write(self, data):
        self.model.i2c_write(data)

    def i2c_read(self, buf):
        self.model.i2c_read(buf)

    def i2c_stop(self):
        self.model.i2c_stop()


class _PanelPort(_Port):
    def i2c_stop(self):
        self.model.i2c_stop()
        self._hw.panel_changed()


class Flash:
    """The block device vfs.VfsLfs2 sees: forwards to simflash, turns a power cut into a halt.

    Nothing may raise through littlefs (its C code would be left mid-operation, as it never
    is on a board, where the block device is C): a KeyboardInterrupt landing in here is
    held until the operation completes and raised at the next safe hardware access."""

    def __init__(self, dev, hw):
        self.dev = dev
        self.hw = hw

    def readblocks(self, block, buf, offset=0):
        self._op(_READ, block, buf, offset)

    def writeblocks(self, block, buf, offset=None):
        self._op(_WRITE, block, buf, offset)

    def ioctl(self, op, arg):
        return self._op(_IOCTL, op, arg, None)

    def _op(self, kind, a, b, c):
        hw = self.hw
        dev = self.dev
        hw.flash_depth += 1
        try:
            # A read is no point where the supervisor's commands are applied (a write is):
            # littlefs reads many times per write, and each look at the side channel is a
            # system call (half the sim's overhead in a firmware test on its flash). The
            # heap is sampled at every access all the same.
            hw.service(0, kind != _READ)
            while True:
                try:
                    if kind == _READ:
                        return dev.readblocks(a, b, c)
                    if kind == _WRITE:
                        return dev.writeblocks(a, b, c)
                    return dev.ioctl(a, b)
                except KeyboardInterrupt:
                    hw.kbd_pending = True  # redo the (idempotent) operation, raise later
                except BaseException as e:  # noqa: B036 - simflash.PowerCut is one
                    self._cut(e)
        finally:
            hw.flash_depth -= 1

    def _cut(self, e):
        hw = self.hw
        if type(e).__name__ != "PowerCut" or hw.link is None or not hw.link.alive:
            raise e
        hw.link.send({"t": "powercut"})
        hw.link.wait_forever()


class HeapBudget:
    """The firmware's share of the interpreter's heap (`host_tools sim --heap`).

    The sim's plumbing (this module, the models, simboot, the flash) lives in the same heap
    as the firmware. With a limit, simboot takes the firmware's region first, before the
    plumbing exists: one block of limit + reserve bytes (`region`), contiguous, as an ESP32's
    heap is when main.py starts. Once the plumbing is up and collected, everything else that
    is free is taken as ballast (the big free areas whole, then what is left in the
    plumbing's small holes is taken off the region's size), and the region is released: the
    firmware finds `limit` bytes free (plus the reserve) in one piece, not scattered through
    the plumbing's garbage. The reserve is for the plumbing's short-lived allocations (a
    frame message is a few KB of JSON); the collector cannot tell whose they are, so it is
    shared. The figures are the firmware's: the plumbing and the ballast are subtracted from
    what is in use, the reserve from what is free.

    The peak (with a limit) is the most in use after a collection, sampled at every hardware
    access: when what is allocated, garbage included, passes the peak so far, the heap is
    collected and what is left is compared (a spike between two accesses is missed). Without
    a limit it is not kept: scanning a 2 MiB heap at every access slows the firmware enough
    to change the sim's Ctrl-C and sleep timing."""

    def __init__(self, limit, reserve, region=()):
        # region: [the block simboot took first] (a list: released here by emptying it)
        self.limit = limit  # bytes for the firmware; 0: no limit
        self.reserve = reserve if limit else 0
        gc.collect()
        held = len(region[0]) + _BLOCK if region else 0
        self.plumbing = gc.mem_alloc() - held
        self._ballast = None
        self.ballast = 0
        if limit:
            self._take_the_rest(region)
        gc.collect()
        self._base = gc.mem_alloc()  # plumbing + ballast: what is not the firmware's
        self.free_at_boot = gc.mem_free() - self.reserve
        self.peak = 0

    def _take_the_rest(self, region):
        pieces = [None] * _MAX_PIECES  # made first: a growing list would leave holes
        n = 0
        while region and n < _MAX_PIECES - 1:
            size = largest_free_block()
            if size < _SMALLEST_PIECE:
                break
            pieces[n] = bytearray(size)
            self.ballast += size
            n += 1
        gc.collect()
        if region:
            region.pop()  # released: the firmware's heap, in one piece
            gc.collect()
        # What is free beyond the budget (the plumbing's small holes, or without a region
        # everything the plumbing left) is taken off the start of the biggest free area.
        extra = gc.mem_free() - self.limit - self.reserve
        if extra > 0:
            pieces[n] = bytearray(extra)  # from the region's start: it stays in one piece
            self.ballast += extra
        self._ballast = pieces

    def used(self):
        return gc.mem_alloc() - self._base

    def sample(self):
        # Live data is at most what is allocated: only when that passes the peak (by more
        # than the figure's resolution) can the peak have grown, and a collection tells.
        if gc.mem_alloc() - self._base > self.peak + _PEAK_STEP:
            gc.collect()
            used = gc.mem_alloc() - self._base
            if used > self.peak:
                self.peak = used

    def figures(self):
        if self.limit:
            self.sample()
        gc.collect()
        used = self.used()
        if self.limit and used > self.peak:
            self.peak = used
        return {
            "limit": self.limit or None,
            "used": used,
            "peak": self.peak if self.limit else None,
            "free": gc.mem_free() - self.reserve,
            "largest_free": largest_free_block(),
            "plumbing": self.plumbing,
            "reserve": self.reserve,
            "free_at_boot": self.free_at_boot,
        }


_BLOCK = 16  # a bytearray's own object, beside its data (one heap block on 32-bit builds)
_MAX_PIECES = 64
_SMALLEST_PIECE = 512
_PEAK_STEP = 512  # the peak's resolution: fewer collections than one per access


def largest_free_block():
    # The largest allocation that succeeds now (to 16 bytes), found by trying: MicroPython
    # reports fragmentation only as printed text (micropython.mem_info). A failed try makes
    # the allocator collect first, so earlier tries' blocks do not count against later ones.
    lo = 0
    hi = gc.mem_free()
    while hi - lo > 16:
        mid = (lo + hi) // 2
        try:
            buf = bytearray(mid)
        except MemoryError:
            hi = mid
        else:
            buf = None  # noqa: F841 - dropped: the next try may need its room
            lo = mid
    return lo


_proc = []


def sigint_caught():
    """Whether this process catches SIGINT now: the unix port installs its handler exactly
    while Ctrl-C is enabled (micropython.kbd_intr(3)) and restores the default otherwise.
    Read from /proc/self/status (SigCgt bit 1); True where that cannot be read."""
    try:
        if not _proc:
            import vfs

            _proc.append(vfs.VfsPosix("/proc/self"))
        with _proc[0].open("/status", "r") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return bool(int(line[7:].strip(), 16) & 2)
    except (ImportError, OSError, ValueError):
        pass
    return True


class Hardware:
    def __init__(self, state_dir=None, link=None, flash=None):
        self.link = link
        self.state_dir = state_dir
        self.panel = Ssd1306Model(128, 64)
        self.rtc = Ds3231Model(state_dir + "/ds3231.json" if state_dir else None)
        ports = {PANEL_ADDR: _PanelPort(self.panel, self), RTC_ADDR: _Port(self.rtc, self)}
        self.i2c = SimI2C(ports)
        self.buttons = (Button(self), Button(self))
        self.flash = flash  # simflash.FileBlockDevice or None
        self._sent_version = -1
        self._servicing = False
        self.flash_depth = 0  # > 0 while littlefs runs a block device operation
        self.kbd_pending = False  # a Ctrl-C to raise at the next safe point
        self.kbd_enabled = True  # board.set_interrupt_char()
        self.heap = None  # HeapBudget, set by simboot once the plumbing is up
        if link is not None:
            link.handler = self._command

    # --- side channel -------------------------------------------------------------------------

    def service(self, timeout_ms=0, poll=True):
        """Apply what the supervisor sent (called on every hardware access; poll=False only
        samples the heap); raise a held Ctrl-C here, unless inside a flash operation."""
        heap = self.heap
        if heap is not None and heap.limit:
            heap.sample()
        if poll and self.link is not None and not self._servicing:
            self._servicing = True
            try:
                self.link.poll(timeout_ms)
            finally:
                self._servicing = False
        if self.kbd_pending and not self.flash_depth:
            self.kbd_pending = False
            if self.link is not None:
                self.link.send({"t": "interrupted"})
            raise KeyboardInterrupt

    def panel_changed(self):
        panel = self.panel
        if self.link is None or panel.version == self._sent_version:
            return
        self._sent_version = panel.version
        rtc_ns = getattr(self.rtc, "unix_ns", None)
        msg = {
            "t": "frame",
            "v": panel.version,
            "w": panel.width,
            "h": panel.height,
            "lit": panel.lit,
            "host_ns": time.time_ns(),
            "rtc_ns": rtc_ns() if rtc_ns else None,
            "i2c_bytes": self.i2c.total_bytes,
            "panel_bytes": panel.bytes_received,
        }
        for name in PANEL_REGS:
            msg[name] = getattr(panel, name)
        self.link.send_hex(msg, (("gddram", panel.gddram), ("glass", panel.glass())))

    def restore_panel(self, state, gddram_hex):
        panel = self.panel
        panel.gddram[:] = unhexlify(gddram_hex)
        for name in PANEL_REGS:
            if name in state:
                setattr(panel, name, state[name])
        panel._changed(True)  # the model's own hook: new version, row map recomputed
        self._sent_version = panel.version

    def status(self):
        rtc = self.rtc
        flash = self.flash
        return {
            "i2c_bytes": self.i2c.total_bytes,
            "i2c_by_addr": {"0x%02x" % a: n for a, n in self.i2c.bytes.items()},
            "i2c_transactions": self.i2c.transactions,
            "panel_bytes": self.panel.bytes_received,
            "rtc_unix": rtc.unix(),
            "battery": rtc.battery,
            "flash_writes": flash.writes if flash is not None else None,
            "heap": self.heap.figures() if self.heap is not None else None,
        }

    def _command(self, msg):
        kind = msg.get("t")
        if kind == "interrupt":
            # Ctrl-C from the serial port, delivered here rather than as SIGINT, which the
            # unix port raises asynchronously, anywhere (inside littlefs, mid-send...).
            # Taken only while Ctrl-C is on: board.set_interrupt_char(), and the interpreter's
            # own state, which micropython.kbd_intr() sets directly (the firmware's first
            # statement): the unix port catches SIGINT exactly while Ctrl-C is on. Once
            # taken it stays pending, as on a board, even if Ctrl-C is turned off before it
            # is raised. Not taken, it was data; the supervisor is told either way.
            if self.kbd_enabled and sigint_caught():
                self.kbd_pending = True
            elif self.link is not None:
                self.link.send({"t": "interrupted"})
            return
        if kind == "welcome":
            if msg.get("panel"):
                self.restore_panel(msg["panel"], msg["gddram"])
            self.link.welcomed = True
            return
        reply = {"t": "ack", "id": msg.get("id")}
        try:
            if kind == "press":
                self.buttons[msg["button"]].press(msg["ms"])
            elif kind == "rtc_set":
                self.rtc.set_unix(msg["unix"])
            elif kind == "rtc_shift":
                self.rtc.shift(msg["s"])
            elif kind == "battery":
                if msg["fitted"]:
                    self.rtc.insert_battery()
                else:
                    self.rtc.pull_battery()
            elif kind == "cut":
                if self.flash is None:
                    raise ValueError("no flash")
                self.flash.cut_power_after(msg["after"])
            elif kind == "status":
                reply.update(self.status())
            else:
                raise ValueError("unknown command %r" % kind)
        except Exception as e:  # noqa: BLE001 - every failure goes back to the supervisor
            reply["error"] = "%s: %s" % (type(e).__name__, e)
        self.link.send(reply)

    # --- sleep --------------------------------------------------------------------------------

    def light_sleep(self, ms):
        """Sleep up to ms milliseconds; a button press (or a press arriving) ends it early."""
        deadline = time.ticks_add(time.ticks_ms(), ms)
        link = self.link
        if link is not None:
            link.send({"t": "sleep", "state": "light"})
        while True:
            for button in self.buttons:
                if button.pressed():
                    break
            else:
                left = time.ticks_diff(deadline, time.ticks_ms())
                if left <= 0:
                    break
                if link is not None and link.alive:
                    self.service(left)
                else:
                    time.sleep_ms(min(left, 10))
                continue
            break
        if link is not None:
            link.send({"t": "sleep", "state": "awake"})

    def deep_sleep(self, ms):
        """Power down until a button press or ms: the supervisor restarts the firmware."""
        link = self.link
        if link is None or not link.alive:
            raise SystemExit("deep sleep: no supervisor to wake the sim board")
        link.send({"t": "deep_sleep", "ms": ms})
        link.wait_forever()
