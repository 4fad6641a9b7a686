"""Atomic, checksummed storage of one small file (the vault, the settings).

    s = store.Store("/data/vault.bin", magic=b"TKVA", max_size=32768)
    data = s.load()      # bytes, or None if nothing was ever saved
    s.save(data)         # bytes-like; atomic: afterwards load() returns data
    s.erase()            # remove every copy (load() then returns None)
    s.recovered          # True if the last load() had to use an older copy
    s.generation         # generation of the content last loaded or saved (0: none)

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
Every step is one littlefs operation, each atomic, and no rename ever replaces an existing
file (so it also holds on filesystems whose rename refuses to overwrite). A power cut at any
point leaves one of these, and load() picks the first copy that verifies among PATH, PATH.bak,
PATH.new:
    during 1:           PATH = old                        -> old
    after "remove":     PATH = old                        -> old
    after first rename: PATH.bak = old, PATH.new = new    -> old
    after 3:            PATH = new                        -> new
(PATH.new is a last resort: it is only ever a complete, checked, more recent save.)

Durability: MicroPython has no fsync; closing a file on littlefs is the commit point. On the
unix port's VfsPosix, data reaches the OS on close, which is enough for the simulator, whose
flash image is the power-cut model (boards/sim/simflash.py).

Erased data is not scrubbed from flash: littlefs reuses the freed blocks later, so deleted
content can be recovered from a flash dump until then (docs/hardware.md, "Threat model").
"""

import hashlib
import os
import struct

from micropython import const

_FORMAT = const(1)
_HEADER = const(24)
_CHECK = const(8)
_HEADER_FMT = "<4sBBHII"  # magic, format, reserved, reserved, generation, length
_ENOENT = const(2)
_CHUNK = const(128)


class CorruptError(Exception):
    """Copies of the file exist but none passes its check. args[0] names the path."""


def _check(header16, payload_chunks):
    h = hashlib.sha256(header16)
    for chunk in payload_chunks:
        h.update(chunk)
    return h.digest()[:_CHECK]


def _remove(path):
    try:
        os.remove(path)
    except OSError as e:
        if e.args[0] != _ENOENT:
            raise


def _exists(path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True


class Store:
    def __init__(self, path, magic=b"TKST", max_size=65536):
        if len(magic) != 4:
            raise ValueError("magic must be 4 bytes")
        self.path = path
        self._bak = path + ".bak"
        self._new = path + ".new"
        self._magic = bytes(magic)
        self._max = max_size
        self._buf = bytearray(_CHUNK)  # read-back verification, reused
        self.generation = 0
        self.recovered = False

    # ---- reading

    def _read(self, path, want_payload):
        """Return (generation, payload or length) for a copy that verifies; None if the file is
        missing; False if it exists but fails its check."""
        try:
            f = open(path, "rb")
        except OSError as e:
            if e.args[0] == _ENOENT:
                return None
            raise
        with f:
            header = f.read(_HEADER)
            if len(header) != _HEADER:
                return False
            magic, fmt, _, _, gen, length = struct.unpack(_HEADER_FMT, header)
            if magic != self._magic or fmt != _FORMAT or length > self._max:
                return False
            h = hashlib.sha256(memoryview(header)[:16])
            if want_payload:
                payload = f.read(length)
                if len(payload) != length:
                    return False
                h.update(payload)
            else:
                payload = length
                buf = self._buf
                mv = memoryview(buf)
                left = length
                while left:
                    n = f.readinto(mv[: min(left, _CHUNK)])
                    if not n:
                        return False
                    h.update(mv[:n])
                    left -= n
            if f.read(1):  # trailing bytes: not a file this code wrote
                return False
            if h.digest()[:_CHECK] != header[16:]:
                return False
        return gen, payload

    def load(self):
        found_damaged = False
        first = True
        for path in (self.path, self._bak, self._new):
            got = self._read(path, True)
            if got:
                self.generation = got[0]
                self.recovered = not first
                return got[1]
            if got is False:
                found_damaged = True
            first = False
        self.recovered = False
        if found_damaged:
            raise CorruptError(self.path + ": no copy passes its check")
        self.generation = 0
        return None

    # ---- writing

    def save(self, data):
        length = len(data)
        if length > self._max:
            raise ValueError("data larger than the store's max_size")
        gen = (self.generation + 1) & 0xFFFFFFFF
        head = bytearray(_HEADER)
        struct.pack_into(_HEADER_FMT, head, 0, self._magic, _FORMAT, 0, 0, gen, length)
        head[16:] = _check(memoryview(head)[:16], (data,))
        with open(self._new, "wb") as f:
            f.write(head)
            f.write(data)
        got = self._read(self._new, False)
        if not got or got[0] != gen or got[1] != length:
            _remove(self._new)
            raise OSError(5, "store: write did not verify")  # EIO
        try:
            if self._read(self.path, False):
                _remove(self._bak)
                os.rename(self.path, self._bak)
            else:
                _remove(self.path)  # damaged or missing: keep the good .bak
            os.rename(self._new, self.path)
        except OSError:
            # The save failed and the caller keeps the old content: drop the copy so that it
            # can never be loaded later as a last resort.
            try:
                _remove(self._new)
            except OSError:
                pass
            raise
        self.generation = gen
        self.recovered = False

    def erase(self):
        # Order matters: a cut part-way must leave the current content or nothing, never an
        # older generation. A stale .new goes first, the current copy last.
        _remove(self._new)
        _remove(self._bak)
        _remove(self.path)
        self.generation = 0
        self.recovered = False

    def exists(self):
        return _exists(self.path) or _exists(self._bak) or _exists(self._new)
