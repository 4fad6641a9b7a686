# Boot script of the virtual token: `host_tools sim` runs `micropython -i simboot.py`.
#
# It does what the ESP32 port does before main.py, then runs main.py; `-i` leaves the
# interpreter in the REPL when main.py ends or is interrupted, as on a board.
#   1. Host directories the board needs, mounted beside the flash:
#        /_state  the state directory (RTC model state, flash image), read-write
#        /_sim    the repository, READ-ONLY (boards/sim models, and firmware/ when not deployed)
#      mpremote therefore lists `_sim` and `_state` in `/`; they are not on the flash.
#   2. The flash: a littlefs2 image (_state/flash.img, simflash.FileBlockDevice, made on first
#      start) mounted at / and made the working directory, as on an ESP32.
#   3. The side channel to the supervisor (simlink.Link) and the board's hardware models.
#   4. sys.path: "" (the flash), ".frozen", "/lib", then the firmware ONLY if the flash holds
#      no main.py (nothing deployed yet), then boards/sim. A deployed main.py on the flash
#      wins; without one the firmware's main.py runs: SIM_FIRMWARE, the repo's firmware
#      compiled by the supervisor as deploy compiles it (/_state/firmware), or the repo's
#      firmware/ sources (sim --source).
#   5. main.py, if SIM_RUN_MAIN is 1 (power-up, friendly-REPL soft reset, deep-sleep wake);
#      a soft reset from the raw REPL boots without it, as a board does.
# Environment (set by the supervisor): SIM_REPO, SIM_STATE, SIM_LINK_PORT, SIM_LINK_KEY,
# SIM_RUN_MAIN, SIM_FLASH_BLOCKS, SIM_FIRMWARE, SIM_HEAP and SIM_HEAP_RESERVE (the firmware's
# heap budget and the plumbing's reserve, bytes; the interpreter's -X heapsize has room for
# both).

import os
import sys

import vfs

_FLASH_BLOCK = 4096


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class _StateFs:
    # The state directory as a file system: vfs.VfsPosix(root), except rename(). In the PyPI
    # micropython build (1.29 preview, 2026-07) VfsPosix joins root and path in one shared
    # buffer, so rename's second path overwrites its first and it fails with ENOENT; the
    # DS3231 model saves its state with a rename. A root-less VfsPosix gets host paths whole.
    def __init__(self, root):
        self._root = root
        self._fs = vfs.VfsPosix(root)
        self._host = vfs.VfsPosix()

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def open(self, path, mode):
        return self._fs.open(path, mode)

    def ilistdir(self, path):
        return self._fs.ilistdir(path)

    def stat(self, path):
        return self._fs.stat(path)

    def statvfs(self, path):
        return self._fs.statvfs(path)

    def mkdir(self, path):
        return self._fs.mkdir(path)

    def rmdir(self, path):
        return self._fs.rmdir(path)

    def remove(self, path):
        return self._fs.remove(path)

    def chdir(self, path):
        return self._fs.chdir(path)

    def getcwd(self):
        return self._fs.getcwd()

    def rename(self, old, new):
        return self._host.rename(self._root + old, self._root + new)


def _boot():
    # The firmware's heap region, taken before anything else is allocated so that it is one
    # piece, as on a board (simlink.HeapBudget releases it once the plumbing is up).
    limit = int(os.getenv("SIM_HEAP") or "0")
    reserve = int(os.getenv("SIM_HEAP_RESERVE") or "0")
    region = [bytearray(limit + reserve)] if limit else []
    repo = os.getenv("SIM_REPO")
    state = os.getenv("SIM_STATE")
    vfs.mount(_StateFs(state), "/_state")
    vfs.mount(vfs.VfsPosix(repo), "/_sim", readonly=True)
    sys.path[:] = [".frozen", "/_sim/boards/sim"]
    import simflash
    import simlink

    port = os.getenv("SIM_LINK_PORT")
    link = simlink.Link(int(port), os.getenv("SIM_LINK_KEY")) if port else None
    blocks = int(os.getenv("SIM_FLASH_BLOCKS") or "512")
    dev = simflash.FileBlockDevice("/_state/flash.img", _FLASH_BLOCK, blocks)
    hw = simlink.boot("/_state", link, dev)
    flash = simlink.Flash(dev, hw)
    try:
        fs = vfs.VfsLfs2(flash)
    except OSError:
        vfs.VfsLfs2.mkfs(flash)
        fs = vfs.VfsLfs2(flash)
    vfs.umount("/")
    vfs.mount(fs, "/")
    os.chdir("/")
    deployed = _exists("/main.py")
    firmware = os.getenv("SIM_FIRMWARE") or "/_sim/firmware"
    path = ["", ".frozen", "/lib"]
    if not deployed:
        path.append(firmware)
    path.append("/_sim/boards/sim")
    sys.path[:] = path
    run_main = os.getenv("SIM_RUN_MAIN") == "1"
    # 6. The firmware's heap budget (SIM_HEAP bytes, 0 or unset: none): measured and set
    #    aside now that the plumbing is up (simlink.HeapBudget).
    hw.heap = simlink.HeapBudget(limit, reserve, region)
    if link is not None:
        heap = hw.heap
        link.hello(
            {
                "t": "hello",
                "key": link.key,
                "run_main": run_main,
                "deployed": deployed,
                "heap": {
                    "limit": heap.limit or None,
                    "plumbing": heap.plumbing,
                    "free_at_boot": heap.free_at_boot,
                },
            }
        )
    if not run_main:
        return None
    return "/" if deployed else firmware + "/"


def _ctrl_c_on():
    # What the port does before it runs boot.py and main.py (shared/runtime/pyexec.c): Ctrl-C
    # interrupts again. The terminal's ISIG and the board's flag follow, as
    # board.set_interrupt_char(True) sets them.
    import micropython
    import simlink

    try:
        import termios

        attrs = termios.tcgetattr(0)
        attrs[3] |= 0o1  # ISIG
        termios.tcsetattr(0, termios.TCSANOW, attrs)
    except (ImportError, OSError):
        pass
    simlink.hardware().kbd_enabled = True
    micropython.kbd_intr(3)


def _compile(path):
    with open(path) as f:
        source = f.read()
    name = path[1:] if path.startswith("/main") or path.startswith("/boot") else path
    return compile(source, name, "exec")


def _run(code):
    # As pyexec_file: turn Ctrl-C on, run, Ctrl-C off. True if it ended without an exception.
    _ctrl_c_on()
    try:
        exec(code, globals())
    except BaseException as e:  # noqa: BLE001 - as the port: print it and go on
        if isinstance(e, SystemExit):
            raise
        sys.print_exception(e)
        return False
    finally:
        import micropython

        micropython.kbd_intr(-1)  # off again between the files, as the port does
    return True


# The port's own boot. Ctrl-C is on here (the interpreter's default), as in an ESP32's
# _boot.py; the supervisor holds input until this script has mounted the flash, and a Ctrl-C
# taken afterwards stays pending until the firmware next touches the hardware. Both files are
# compiled first, so that the window between them with Ctrl-C off is as short as on a board
# (where the port compiles each file from flash while it is off).
_dir = _boot()
del _boot
if _dir:
    _boot_code = _compile(_dir + "boot.py") if _exists(_dir + "boot.py") else None
    _main_code = _compile(_dir + "main.py")
    # ports/esp32/main.c: boot.py, then main.py only if boot.py ended normally.
    if _boot_code is None or _run(_boot_code):
        _run(_main_code)
