"""Atomic, checksummed storage of one small file (the vault, the settings).

    s = store.Store("/data/vault.bin", magic=b"TKVA", max_size=32768)
    data = s.load()      # bytes, or None if nothing was ever saved
    s.save(data)         # bytes-like; atomic: afterwards load() returns data
    s.save(source)       # the same, streamed: len(source) bytes, given by source.parts(out)
    s.load(decode)       # decode(payload) reads the payload in place: its result, or None
    s.save(data, backup=False)  # the same, and no file keeps the old content afterwards
    s.erase()            # remove every copy (load() then returns None)
    s.recovered          # True if the last load() had to use an older copy
    s.generation         # generation of the content last loaded or saved (0: none)

The code is in storeread.py (load) and storewrite.py (save, erase, exists), imported when a
file is read or written and dropped again by the app (app._COMMAND_MODULES): an idle token
holds what it read, not the code that read it.

load() raises CorruptError when copies exist but none passes its check: a damaged file is
reported, never read as empty. save() raises OSError if the filesystem fails (the old content
stays). Neither takes a lock: one owner per path.

Files (beside each other; the directory must exist):
    PATH      the current copy
    PATH.bak  the previous good copy
    PATH.new  a copy being written (left over only if power was cut during a save)

Each copy is a 24-byte header followed by the payload, little-endian:
    0   magic       4 bytes, chosen by the caller (a config file never loads as a vault)
    4   format      u8, 1 (this layout)
    5   reserved    u8 + u16, 0
    8   generation  u32, +1 at each save (wraps)
    12  length      u32, payload bytes
    16  check       first 8 bytes of SHA-256(header[0:16] + payload)
    24  payload

save(data):
    1. write PATH.new and close it (littlefs commits a file on close), then read it back and
       verify its check (a failed flash write raises OSError here, before anything moved);
    2. if PATH verifies: remove PATH.bak, rename PATH -> PATH.bak;
       if PATH exists but is damaged: remove it (the good PATH.bak stays);
    3. rename PATH.new -> PATH.
save(data, backup=False), for content that must not survive (a removed secret), replaces 2:
    2. remove PATH.bak, then remove PATH.
Every step is one littlefs operation, each atomic, and no rename ever replaces an existing
file (so it also holds on filesystems whose rename refuses to overwrite). A power cut at any
point leaves one of these, and load() picks the first copy that verifies among PATH, PATH.bak,
PATH.new:
    during 1:           PATH = old                        -> old
    after "remove":     PATH = old                        -> old
    after first rename: PATH.bak = old, PATH.new = new    -> old
    after 3:            PATH = new                        -> new
(PATH.new is a last resort: it is only ever a complete, checked, more recent save.)
Without a backup:
    after removing .bak: PATH = old, PATH.new = new       -> old
    after removing PATH: PATH.new = new                   -> new
    after 3:             PATH = new                       -> new
so once save() returns (and whenever load() gives the new content) no file holds the old
one. The price: until the next ordinary save there is no previous copy to fall back on if
PATH is damaged later.
A first save (nothing saved yet, or after erase()) has no PATH to fall back on: a cut during 1
leaves PATH.new alone and torn (on littlefs an empty file). load() reads that as what it is, a
save that never finished: nothing saved (None), not damage. It takes only a torn copy whose
bytes are the start of a generation-1 header (or nothing): a torn later generation alone, or
any torn copy beside a damaged PATH, is still reported as CorruptError.

Streaming, so that RAM does not grow with the file: a source is an object with __len__ (the
payload's size) and parts(out), which calls out(chunk) with each piece of the payload in order
and gives the same pieces every time (save calls it twice: once for the check, which the
header holds, then to write). A str part is written as its UTF-8 bytes, and len() counts
those; parts that differ from len() raise ValueError and no copy is written. load(decode)
calls decode(payload) on each copy it tries: payload.readinto(buf) fills buf with the next
len(buf) bytes (ValueError past the end), payload.left counts what remains. A copy counts
only if its check matches once all of it is read; a ValueError from decode on a copy whose
check matches is raised to the caller (the content is invalid, not damaged), on one whose
check fails the next copy is tried. The read-back verification reads in 128-byte chunks.

Durability: MicroPython has no fsync; closing a file on littlefs is the commit point. On the
unix port's VfsPosix, data reaches the OS on close, which is enough for the simulator, whose
flash image is the power-cut model (boards/sim/simflash.py).

Removed files are not scrubbed from flash: littlefs only marks their blocks free and erases
them when it reuses them, so removed content can be read from a flash dump until then (see
docs/storage.md; ESP32 flash encryption is the remedy).
"""

from micropython import const

# The layout, for storeread.py and storewrite.py (one owner).
FORMAT = const(1)
HEADER = const(24)
CHECK = const(8)
HEADER_FMT = "<4sBBHII"  # magic, format, reserved, reserved, generation, length


class CorruptError(Exception):
    """Copies of the file exist but none passes its check. args[0] names the path."""


class Store:
    def __init__(self, path, magic=b"TKST", max_size=65536):
        if len(magic) != 4:
            raise ValueError("magic must be 4 bytes")
        self.path = path
        self._bak = path + ".bak"
        self._new = path + ".new"
        self._magic = bytes(magic)
        self._max = max_size
        self.generation = 0
        self.recovered = False

    # ---- reading: storeread.py, imported when a file is read (at boot, by a command) and
    # dropped again by the app (app._COMMAND_MODULES): the idle token holds what it read.

    def load(self, decode=None):
        import storeread

        return storeread.load(self, decode)

    # ---- writing: storewrite.py, imported only when something is saved or erased (a
    # command, an HOTP press): the idle token only reads.

    def save(self, data, backup=True):
        import storewrite

        storewrite.save(self, data, backup)

    def erase(self):
        import storewrite

        storewrite.erase(self)

    def exists(self):
        import storewrite

        return storewrite.exists(self)
