# MicroPython side of `make bench-memory` (bench/memory.py compiles everything to .mpy, writes
# the request frames and the flash images, runs one fresh interpreter per measurement and
# prints the table). Prints one "@@MEM name value" line per figure.
#
# The firmware runs as deployed on the sim board: its .mpy files (from host_tools deploy's
# build), the sim's models behind the real drivers, littlefs on the sim's flash at "/", and
# the real app, started by the deployed main.py (compiled from source, as a board boots it;
# app.run(board): every task, the protocol server on the board's serial streams). The
# bench's steps run as one more task in the app's event loop, started when the app first
# asks the board for its serial streams; they end the run by raising _Done. The bench's
# serial line hands the server requests that the host tools encoded, one at a time, and
# keeps the last answer line. The plumbing (this module, the sim board, the mounts) is set
# up first; _Budget then measures it and, with a limit, sets the rest of the heap aside so
# the firmware finds exactly `limit` bytes free, as `host_tools sim --heap` does. "used" is
# the firmware's heap in use after gc.collect(). The DS3231 model runs from cfg["unix"] on,
# so the app shows codes.
#
# main(cfg) with cfg["mode"]:
#   boot    boot with no accounts, idle: heap in use, free, largest free block
#   slope   then the requests (ADDs of one kind), reading the heap at cfg["points"] once
#           every account was shown (browsed with the NEXT button)
#   prepare the requests (ADDs), nothing measured: leaves a flash image with accounts
#   op      boot from a prepared image, browse cfg["browse"] accounts, idle, then one
#           request under cfg["limit_how"]:
#             "probe"  collector off: bytes allocated during it (an upper bound of the peak)
#             "free"   the heap filled but for cfg["n"] bytes at its end
#             "holes"  the whole free heap cut into holes of cfg["n"] blocks
#           answers ok 1 if it was answered with status OK (bench/memory.py also wants the
#           app still running and no MemoryError logged)
#   import  the module cfg["module"] after cfg["deps"]: heap it holds once imported

import gc
import os
import sys

import vfs

_BLOCK = 16 if sys.maxsize < 0x100000000 else 32  # the collector's block: 4 words
_FLASH_BLOCK = 4096
_FLASH_BLOCKS = 512
_ANSWER_MS = 3000  # a command that does not answer in this long failed (the collector runs
# often on a nearly full heap: give it time)
_SETTLE_MS = 300  # after an answer: the app selects the new account and redraws
# A short press: held past the buttons' 30 ms debounce, released as long (the release is
# debounced too, then the screen redraws within its 10 ms poll).
_PRESS_MS = 45
_RELEASED_MS = 45
# After boot: the app's first phase sync waits for the DS3231's second edge; two seconds on
# it has seen one even when the boot itself took a second (a loaded machine), and the token
# is idle (a sync still waiting holds a few hundred bytes).
_BOOT_SETTLE_MS = 2100


def _report(name, value):
    print("@@MEM", name, value)


class _Line:
    """The serial line: a FIFO the token reads (a real file descriptor, so the event loop
    sleeps in poll() as on a board), fed one request at a time from the requests file; the
    token's answers are counted, the last one kept."""

    def __init__(self, fifo, path):
        self.reader = open(fifo, "r+b")  # read-write: opening it does not wait for a writer
        self._feed = open(fifo, "wb")
        self._f = open(path, "rb")
        self._head = bytearray(3)
        self.buf = bytearray(1024)
        self._mv = memoryview(self.buf)
        self._pending = None
        self.lines = 0
        self.want = 0
        self.last = None

    def load(self):
        """Read the next request (u16 length, u8 frames, the frames' lines); not sent yet."""
        if self._f.readinto(self._head) != 3:
            raise OSError("no more requests")
        n = self._head[0] | self._head[1] << 8
        self._pending = self._mv[:n]
        self._f.readinto(self._pending)
        self.want = self.lines + self._head[2]

    def release(self):
        self._feed.write(self._pending)

    def answered(self):
        return self.lines >= self.want

    def write(self, data):
        self.lines += 1
        self.last = data  # the firmware's own object: keeping it allocates nothing
        return len(data)

    def status(self):
        import binascii

        if self.last is None:
            return -1
        return binascii.a2b_base64(bytes(self.last[1:-1]))[3]


def _quiet_bus(hw):
    # The sim's bus copies every write for its models (bytes(buf)), a 1 KB allocation per
    # full frame that a board's C driver never makes: hand the models the buffer itself (they
    # only iterate over it), so the figures are the firmware's.
    import simi2c

    class QuietI2C(simi2c.SimI2C):
        def _write(self, model, addr, buf):
            n = len(buf)
            if n:
                model.i2c_write(buf)
            self._count(addr, n)
            return n

    hw.i2c = QuietI2C(hw.i2c.devices)


def _quiet_flash():
    # The sim's flash erases a block by writing a fresh 4 KB bytes object: a board's C
    # driver allocates nothing, so the bench's erases write one made in advance.
    import simflash

    class QuietFlash(simflash.FileBlockDevice):
        def __init__(self, *args):
            super().__init__(*args)
            self._ones = b"\xff" * self.block_size

        def _erase(self, block):
            if not (0 <= block < self.block_count):
                raise OSError(22)
            self.erases += 1
            self._f.seek(block * self.block_size)
            self._f.write(self._ones)
            self._f.flush()

    return QuietFlash


def _setup(cfg):
    """Mounts, the sim board and the heap budget: everything that is not the firmware."""
    import board as simboard
    import simi2c  # noqa: F401 - imported now, before the budget measures the plumbing
    import simlink

    work = cfg["work"]
    vfs.mount(vfs.VfsPosix(work), "/_b")
    dev = _quiet_flash()("/_b/flash.img", _FLASH_BLOCK, _FLASH_BLOCKS)
    hw = simlink.boot(None, None, dev)
    _quiet_bus(hw)
    flash = simlink.Flash(dev, hw)
    try:
        fs = vfs.VfsLfs2(flash)
    except OSError:
        vfs.VfsLfs2.mkfs(flash)
        fs = vfs.VfsLfs2(flash)
    vfs.umount("/")
    vfs.mount(fs, "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/_b/fw"]  # the deployed files; `board` is the sim's
    simboard.Board(hw)  # makes the data directory, as the sim's first boot does
    line = _Line("/_b/serial", "/_b/requests.bin")
    # The clock set and running (OSF cleared through the bus, as a host's sync does), so
    # the app shows codes.
    hw.rtc.set_unix(cfg["unix"] + 0.5)
    hw.i2c.writeto_mem(0x68, 0x0F, b"\x08")
    return hw, line, _Budget(cfg.get("limit", 0))


class _Budget:
    """The firmware's share of the heap: what the plumbing holds is measured (after a
    collection), and with a limit the rest beyond it is taken by ballast (in pieces: the
    plumbing's files and mounts leave the free heap in more than one block), as
    simlink.HeapBudget does for `host_tools sim --heap`."""

    def __init__(self, limit):
        gc.collect()
        self.plumbing = gc.mem_alloc()
        self.limit = limit
        self._ballast = _fill_to(limit) if limit else None
        gc.collect()
        self._base = gc.mem_alloc()
        self.free_at_boot = gc.mem_free()

    def used(self):
        return gc.mem_alloc() - self._base


class _Done(BaseException):
    """The bench's steps are over: ends app.run() (the app's tasks catch only Exception)."""


class _Run:
    def __init__(self, budget, line, buttons):
        self.budget = budget
        self.line = line
        self.next_button = buttons[0]

    def used(self):
        gc.collect()
        return self.budget.used()

    async def browse(self, n):
        """Step through n accounts with the NEXT button, as a user would: every TOTP code is
        drawn once, so every account holds what showing it makes (its OTP key)."""
        import asyncio

        for _ in range(n):
            self.next_button.press(_PRESS_MS)
            await asyncio.sleep_ms(_PRESS_MS + _RELEASED_MS)

    async def request(self):
        """Send the loaded request; True if it was answered in time."""
        import asyncio

        line = self.line
        line.release()
        waited = 0
        while not line.answered() and waited < _ANSWER_MS:
            await asyncio.sleep_ms(5)
            waited += 5
        return line.answered()


def _fill_to(free):
    """Ballast: leave about `free` bytes free (taken from the largest blocks first)."""
    import simlink

    parts = [None] * 64
    for i in range(len(parts)):
        gc.collect()
        need = gc.mem_free() - free - 2 * _BLOCK
        if need < _BLOCK:
            break
        size = min(need, simlink.largest_free_block() - _BLOCK)
        gc.collect()
        parts[i] = bytearray(size)
    gc.collect()
    return parts


def _slots():
    gc.collect()
    return [None] * (gc.mem_free() // _BLOCK)


def _fill(keep):
    """Fill the free heap with one-block objects (boxed floats, one block on both word sizes)
    kept in `keep` (made first, by _slots). The allocator is first fit, so they are taken in
    address order: the last ones end the heap. Returns how many (nothing here may allocate
    once the heap is full: not even a tuple to return)."""
    n = len(keep)
    i = 0
    try:
        while i < n:
            keep[i] = i + 0.5
            i += 1
    except MemoryError:
        pass
    return i


def _leave_free(nbytes):
    """Everything filled but the last `nbytes` (to a block): one free block at the heap's
    end, so what a command needs on top of the heap in use is measured apart from the
    holes that the heap in use already has."""
    keep = _slots()
    n = _fill(keep)
    for k in range(max(0, n - (nbytes + _BLOCK - 1) // _BLOCK), n):
        keep[k] = None
    gc.collect()
    return keep


def _cut_holes(blocks):
    """Every free block cut to at most `blocks` blocks: the heap filled, then runs of
    `blocks` one-block objects freed between kept ones. Most holes are exactly that size."""
    keep = _slots()
    n = _fill(keep)
    j = 0
    while j < n:
        k = j + 1  # one kept, then `blocks` freed
        end = k + blocks
        while k < end and k < n:
            keep[k] = None
            k += 1
        j = end
    gc.collect()
    return keep


async def _op(run, cfg):
    import asyncio

    line = run.line
    browse = cfg.get("browse", 0)
    if browse:  # longer than the first phase sync: no need to wait for that first
        await asyncio.sleep_ms(_SETTLE_MS)
        await run.browse(browse)
    await asyncio.sleep_ms(cfg.get("settle_ms", _BOOT_SETTLE_MS if not browse else _SETTLE_MS))
    line.load()
    before = run.used()
    _report("used_before", before)
    _report("modules", ",".join(sorted(sys.modules)))
    how = cfg["limit_how"]
    held = None
    if how == "probe":
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
    elif how == "free":
        held = _leave_free(cfg["n"])
        _report("free_given", gc.mem_free())
    elif how == "holes":
        held = _cut_holes(cfg["n"])
    answered = await run.request()
    if answered:
        await asyncio.sleep_ms(_SETTLE_MS)
    if how == "probe":
        _report("allocated", gc.mem_alloc() - a0)
        gc.enable()
    held = None  # noqa: F841 - the ballast goes before anything else is allocated
    gc.collect()
    status = line.status() if answered else -1
    _report("status", status)
    _report("ok", 1 if answered and status == 0 else 0)
    if how == "probe":
        _report("used_after", run.used())
    if cfg.get("idle_ms"):  # the host quiet since: the protocol server and its modules gone
        await asyncio.sleep_ms(cfg["idle_ms"])
        _report("used_idle", run.used())
        _report("modules_idle", ",".join(sorted(sys.modules)))


async def _slope(run, cfg):
    import asyncio

    line = run.line
    points = cfg["points"]
    await asyncio.sleep_ms(cfg.get("settle_ms", _BOOT_SETTLE_MS))
    _report("used_at_0", run.used())
    for count in range(1, points[-1] + 1):
        line.load()
        if not await run.request() or line.status() != 0:
            _report("failed_at", count)
            _report("status", line.status())
            return
        await asyncio.sleep_ms(_SETTLE_MS if count in points else 20)
        if count in points:
            await run.browse(count)
            await asyncio.sleep_ms(_SETTLE_MS)
            _report("used_at_%d" % count, run.used())


async def _prepare(run, cfg):
    import asyncio

    line = run.line
    for count in range(1, cfg["count"] + 1):
        line.load()
        if not await run.request() or line.status() != 0:
            _report("failed_at", count)
            return
        await asyncio.sleep_ms(10)
    _report("prepared", cfg["count"])


async def _boot(run, cfg):
    import asyncio

    import simlink

    await asyncio.sleep_ms(cfg.get("settle_ms", _BOOT_SETTLE_MS))
    _report("used", run.used())
    _report("free", gc.mem_free())
    _report("largest_free", simlink.largest_free_block())
    _report("modules", ",".join(sorted(sys.modules)))


def _import(cfg):
    vfs.mount(vfs.VfsPosix(cfg["work"]), "/_b")
    sys.path[:] = ["", ".frozen", "/_b/fw"]
    budget = _Budget(0)
    for name in cfg["deps"]:
        __import__(name)
    gc.collect()
    before = budget.used()
    __import__(cfg["module"])
    gc.collect()
    _report("import", budget.used() - before)
    _report("done", 1)


def main(cfg):
    mode = cfg["mode"]
    if mode == "import":
        _import(cfg)
        return
    hw, line, budget = _setup(cfg)
    _report("plumbing", budget.plumbing)
    _report("limit", budget.limit)
    _report("free_at_boot", budget.free_at_boot)
    run = _Run(budget, line, hw.buttons)
    steps = {"boot": _boot, "slope": _slope, "prepare": _prepare, "op": _op}[mode]
    started = [False]

    async def bench():
        await steps(run, cfg)
        raise _Done

    def serial(board):
        # The app asks for the board's serial streams once its tasks run: the bench's steps
        # start beside them, in the app's own event loop.
        if not started[0]:
            started[0] = True
            import asyncio

            asyncio.create_task(bench())
        return line.reader, line

    import board as simboard

    simboard.Board.serial = serial
    # The deployed main.py, compiled from its source as a board's boot does: it builds the
    # board and runs the app until something stops it (here: the bench, when done).
    try:
        import main  # noqa: F401
    except _Done:
        pass
    except BaseException as e:  # noqa: B036 - the app stopped: reported, whatever it was
        _report("app_failure", repr("%s: %s" % (type(e).__name__, e)))
    else:
        _report("app_failure", repr("main.py ended: the app stopped (its output says why)"))
    _report("done", 1)
