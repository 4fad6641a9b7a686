# A file-backed flash block device for the sim board, with a power-cut switch.
#
# FileBlockDevice(path, block_size=4096, block_count=256) (path may also be an open binary
# stream such as io.BytesIO, for a faster in-memory image) implements MicroPython's extended
# block device protocol, the one vfs.VfsLfs2 uses: readblocks(n, buf, offset),
# writeblocks(n, buf, offset) (program without erase) and ioctl(op, arg) with op 1 init,
# 2 deinit, 3 sync, 4 block count, 5 block size, 6 erase block. The image file persists
# between runs; a missing file is created erased (all 0xFF). Like NOR flash, programming can
# only clear bits (new = old AND data) and erasing sets a block back to 0xFF, so a file system
# that forgets to erase shows up here as it would on the ESP32.
#
# Fault injection: cut_power_after(n) lets n more block writes complete; the next one is torn
# (only the first half of its bytes reach the flash) and raises PowerCut. From then on the
# device is dead: every call raises PowerCut, as nothing runs after a power cut. Make a new
# FileBlockDevice on the same path (a reboot), or call restore_power(), to go on.
# PowerCut derives from BaseException so that firmware code catching Exception cannot swallow
# it and carry on as if the write had worked.
#
# Counters: reads, writes (writeblocks calls), erases, bytes_written; reset_counts().
#
# Durability: a program or an erase is written through at once but not flushed; only the
# sync ioctl (littlefs's own barrier) and close() flush. On the unix port a file has no buffer
# of its own (a write is a write(2)) and its flush is an fsync(2), which took about 240 us per
# block write: three quarters of the time a firmware test spent on the sim's flash. What the
# sim models is a board losing power, i.e. the firmware process killed, and the kernel keeps
# what was written either way; only the host's own crash would need the fsync.

_IOCTL_INIT = 1
_IOCTL_DEINIT = 2
_IOCTL_SYNC = 3
_IOCTL_BLOCK_COUNT = 4
_IOCTL_BLOCK_SIZE = 5
_IOCTL_ERASE = 6
_BLANK_PIECE = 256  # bytes of erased flash written at a time


class PowerCut(BaseException):
    """The simulated power failed during (or before) a flash operation."""


class FileBlockDevice:
    def __init__(self, path, block_size=4096, block_count=256):
        if block_size <= 0 or block_size % 256 or block_count < 2:
            raise ValueError("FileBlockDevice: bad geometry")
        self.path = path
        self.block_size = block_size
        self.block_count = block_count
        size = block_size * block_count
        # An open binary stream (io.BytesIO) is an in-memory image the caller owns and keeps
        # across reboots; close() leaves it open.
        self._owned = isinstance(path, str)
        if not self._owned:
            f = path
        else:
            try:
                f = open(path, "r+b")
            except OSError:
                f = open(path, "w+b")
        f.seek(0, 2)
        have = f.tell()
        if have > size:
            f.close()
            raise ValueError("FileBlockDevice: image is larger than the geometry")
        if have < size:
            blank = b"\xff" * block_size
            while have < size:
                n = min(block_size, size - have)
                f.write(blank[:n])
                have += n
            f.flush()
        self._f = f
        self._scratch = bytearray(block_size)
        self._blank = b"\xff" * min(_BLANK_PIECE, block_size)
        self._cut_after = -1
        self.dead = False
        # Made now: a file finaliser may touch a dead device while the GC holds the heap lock.
        self._off = PowerCut("flash: power is off")
        self.reset_counts()

    def reset_counts(self):
        self.reads = 0
        self.writes = 0
        self.erases = 0
        self.bytes_written = 0

    # --- fault injection ------------------------------------------------------------------

    def cut_power_after(self, n):
        """Let n more block writes complete; tear the next one and raise PowerCut."""
        if n < 0:
            raise ValueError("cut_power_after: n must be >= 0")
        self._cut_after = n

    def restore_power(self):
        self.dead = False
        self._cut_after = -1

    def close(self):
        if self._owned:
            self._f.close()

    def _alive(self):
        if self.dead:
            raise self._off

    def _check(self, block, offset, n):
        if not (0 <= block < self.block_count) or offset < 0 or offset + n > self.block_size:
            raise OSError(22)  # EINVAL, as a real driver reports an out-of-range access

    # --- block protocol -------------------------------------------------------------------

    def readblocks(self, block, buf, offset=0):
        self._alive()
        n = len(buf)
        # Plain protocol (no offset) may span several blocks; extended stays in one block.
        if offset == 0 and n > self.block_size:
            if n % self.block_size or block + n // self.block_size > self.block_count:
                raise OSError(22)
        else:
            self._check(block, offset, n)
        self.reads += 1
        self._f.seek(block * self.block_size + offset)
        self._f.readinto(buf)

    def writeblocks(self, block, buf, offset=None):
        self._alive()
        if offset is None:
            # Plain protocol: whole blocks, erased then programmed.
            bs = self.block_size
            if len(buf) % bs or block + len(buf) // bs > self.block_count:
                raise OSError(22)
            mv = memoryview(buf)
            for i in range(len(buf) // bs):
                self._erase(block + i)
                self._program(block + i, mv[i * bs : (i + 1) * bs], 0)
        else:
            self._program(block, buf, offset)

    def _program(self, block, buf, offset):
        n = len(buf)
        self._check(block, offset, n)
        torn = False
        if self._cut_after == 0:
            n = n // 2
            torn = True
        elif self._cut_after > 0:
            self._cut_after -= 1
        pos = block * self.block_size + offset
        old = memoryview(self._scratch)[:n]
        self._f.seek(pos)
        self._f.readinto(old)
        for i in range(n):
            old[i] &= buf[i]  # NOR flash programming only clears bits
        self._f.seek(pos)
        self._f.write(old)  # no flush: see the note at the top
        self.writes += 1
        self.bytes_written += n
        if torn:
            self.dead = True
            self._cut_after = -1
            raise PowerCut("flash: power cut during a write to block %d" % block)

    def _erase(self, block):
        if not (0 <= block < self.block_count):
            raise OSError(22)
        self.erases += 1
        self._f.seek(block * self.block_size)
        # From one small erased piece made at start: the device shares the firmware's heap
        # (host_tools sim --heap), and a board's flash erase allocates nothing there.
        blank = self._blank
        for _ in range(self.block_size // len(blank)):
            self._f.write(blank)

    def ioctl(self, op, arg):
        self._alive()
        if op == _IOCTL_INIT or op == _IOCTL_DEINIT:
            return 0
        if op == _IOCTL_SYNC:
            self._f.flush()
            return 0
        if op == _IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == _IOCTL_BLOCK_SIZE:
            return self.block_size
        if op == _IOCTL_ERASE:
            self._erase(arg)
            return 0
        return None
