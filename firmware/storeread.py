"""store.Store's read half: load, and the check of one copy that a save's verification uses
too (store.py's docstring gives the file layout and which copy a load takes after a power
cut).

    storeread.load(s, decode)          # what s.load(decode) runs (decode None: the bytes)
    storeread.read(s, path, decode)    # one copy: (generation, result), None or False

A module of its own so that the idle token, which holds what it read, does not hold this
code: imported when a file is read (boot, a command, a save's verification) and dropped again
by the app (app._COMMAND_MODULES). Nothing keeps a reference to it.
"""

import hashlib
import struct

import store
from micropython import const

_START_FMT = "<4sBBHI"  # the header up to the generation
_START = const(12)
_ENOENT = const(2)
_CHUNK = const(128)


class _Short(Exception):
    """The file ended before the length its header gives: a torn copy."""


class _Payload:
    """The payload of one copy being loaded, read in place and hashed as it goes."""

    def __init__(self, f, h, length):
        self._f = f
        self._h = h
        self.left = length

    def readinto(self, buf):
        n = len(buf)
        if n > self.left:
            raise ValueError("content runs past the end")
        got = self._f.readinto(buf) or 0
        while got < n:  # a short read (rare): the rest, or the end of a torn copy
            k = self._f.readinto(memoryview(buf)[got:])
            if not k:
                raise _Short()
            got += k
        self._h.update(buf)
        self.left -= n

    def read(self):
        data = self._f.read(self.left)
        if len(data) != self.left:
            raise _Short()
        self._h.update(data)
        self.left = 0
        return data

    def finish(self, header):
        """Read what decode left (in fixed chunks); True if the whole copy passes its check."""
        if self.left:
            chunk = memoryview(bytearray(_CHUNK))  # whole chunks need no new view
            while self.left >= _CHUNK:
                self.readinto(chunk)
            if self.left:
                self.readinto(chunk[: self.left])
        if self._f.read(1):  # trailing bytes: not a file this code wrote
            return False
        return self._h.digest()[: store.CHECK] == header[16:]


def read(s, path, decode):
    """Return (generation, decode(payload) or, when decode is None, the length) for a copy
    that verifies; None if the file is missing; False if it exists but fails its check."""
    try:
        f = open(path, "rb")
    except OSError as e:
        if e.args[0] == _ENOENT:
            return None
        raise
    with f:
        header = f.read(store.HEADER)
        if len(header) != store.HEADER:
            return False
        magic, fmt, _, _, gen, length = struct.unpack(store.HEADER_FMT, header)
        if magic != s._magic or fmt != store.FORMAT or length > s._max:
            return False
        payload = _Payload(f, hashlib.sha256(memoryview(header)[:16]), length)
        invalid = None
        try:
            result = decode(payload) if decode else length
            good = payload.finish(header)
        except _Short:
            return False
        except ValueError as e:
            # Damage or invalid content: only the check, over the rest, can tell.
            invalid = e
            try:
                good = payload.finish(header)
            except _Short:
                return False
        if not good:
            return False
        if invalid is not None:
            raise invalid
    return gen, result


def _first_save(s, path):
    """True if the file at path starts like the first generation's header (or is a prefix
    of it, down to empty): what a power cut during a first save leaves."""
    with open(path, "rb") as f:
        head = f.read(_START)
    start = struct.pack(_START_FMT, s._magic, store.FORMAT, 0, 0, 1)
    return head == start[: len(head)]


def _whole(payload):
    return payload.read()


def load(s, decode=None):
    found_damaged = False
    for path in (s.path, s._bak, s._new):
        got = read(s, path, decode or _whole)
        if got:
            s.generation = got[0]
            # Only PATH.bak is older than the last save; a lone PATH.new is the newest.
            s.recovered = path == s._bak
            return got[1]
        if got is False:
            # A torn new copy alone (no current, no backup: found_damaged is still False)
            # of generation 1 is a first save cut short: nothing was saved yet. A later
            # generation alone means copies were lost: damage.
            if path == s._new and not found_damaged and _first_save(s, path):
                break
            found_damaged = True
    s.recovered = False
    if found_damaged:
        raise store.CorruptError(s.path + ": no copy passes its check")
    s.generation = 0
    return None
