"""store.Store's write half: save, erase, exists (store.py's docstring gives the file layout,
the steps of a save and why a power cut at any point leaves the old content or the new).

    storewrite.save(s, data, backup)   # what s.save(data, backup) runs
    storewrite.erase(s)                # s.erase()
    storewrite.exists(s)               # s.exists()

A module of its own so that the idle token, which only reads its files, does not hold this
code: Store imports it at the first save or erase (a command, an HOTP press) and the app
drops it again with the protocol server (app._COMMAND_MODULES). Nothing keeps a reference to
it in between.
"""

import hashlib
import os
import struct

import store
import storeread
from micropython import const

_ENOENT = const(2)


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


def save(s, data, backup=True):
    length = len(data)
    if length > s._max:
        raise ValueError("data larger than the store's max_size")
    parts = getattr(data, "parts", None)
    gen = (s.generation + 1) & 0xFFFFFFFF
    head = bytearray(store.HEADER)
    struct.pack_into(store.HEADER_FMT, head, 0, s._magic, store.FORMAT, 0, 0, gen, length)
    h = hashlib.sha256(memoryview(head)[:16])
    if parts is None:
        h.update(data)
    else:
        parts(h.update)
    head[16:] = h.digest()[: store.CHECK]
    path, bak, new = s.path, s._bak, s._new
    if not _exists(path) and not _exists(bak) and storeread.read(s, new, None):
        # A save without backup was cut after removing PATH (or its last rename failed):
        # PATH.new is the current copy. Make it PATH before PATH.new is written again.
        os.rename(new, path)
    with open(new, "wb") as f:
        f.write(head)
        if parts is None:
            f.write(data)
        else:
            parts(f.write)
        # Counted by the file: a str part is written as its UTF-8 bytes, len() counts
        # its characters.
        wrote = f.tell() - store.HEADER
    if wrote != length:
        _remove(new)
        raise ValueError("source parts differ from its len()")  # a caller bug
    got = storeread.read(s, new, None)
    if not got or got[0] != gen or got[1] != length:
        _remove(new)
        raise OSError(5, "store: write did not verify")  # EIO
    try:
        if not backup:
            # Nothing of the old content may outlive this save. The current copy goes
            # last: until then it is what load() finds; after it, the checked new copy.
            _remove(bak)
            _remove(path)
        elif storeread.read(s, path, None):
            _remove(bak)
            os.rename(path, bak)
        else:
            _remove(path)  # damaged or missing: keep the good .bak
    except OSError:
        _drop_new(new)
        raise
    try:
        os.rename(new, path)
    except OSError:
        if backup:
            _drop_new(new)
            raise
        # Without a backup PATH is gone: PATH.new is the only copy and what load() takes,
        # so the save is done. The next save renames it first (above).
    s.generation = gen
    s.recovered = False


def _drop_new(new):
    # The save failed and the caller keeps the old content: drop the copy so that it can
    # never be loaded later as a last resort.
    try:
        _remove(new)
    except OSError:
        pass


def erase(s):
    # Order matters: a cut part-way must leave the current content or nothing, never an
    # older generation. A stale .new goes first, the current copy last.
    _remove(s._new)
    _remove(s._bak)
    _remove(s.path)
    s.generation = 0
    s.recovered = False


def exists(s):
    return _exists(s.path) or _exists(s._bak) or _exists(s._new)
