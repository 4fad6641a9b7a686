# Running out of memory is reported as what it is and loses nothing stored: a MemoryError
# forced inside a vault save (the store's file writes), during ADD on the protocol server
# (status OUT_OF_MEMORY 0x33, INFO names the command), and while the app builds the display
# at boot (not "no display": INFO's memory note says "boot: display").
import asyncio
import struct
import time

import app as appmod
import cmdinfo
import fsutil
import mptest
import protocol
import server
import vault
from fakes import RTC, Button, Display

SECRET = b"12345678901234567890"
_OUT_OF_MEMORY = 0x33
_real_open = open


class _FailingFile:
    """A file whose writes raise MemoryError once `after` bytes went through: the save
    fails part-way into the new copy, as a heap that runs out mid-save would."""

    def __init__(self, f, after):
        self._f = f
        self._left = after

    def write(self, data):
        if len(data) > self._left:
            raise MemoryError("memory allocation failed")
        self._left -= len(data)
        return self._f.write(data)

    def tell(self):
        return self._f.tell()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def _failing_writes(after):
    def fake_open(path, mode="r"):
        f = _real_open(path, mode)
        return _FailingFile(f, after) if "w" in mode else f

    # The module's global shadows the builtin. Looked up now: an app's boot drops the store's
    # write module (app._COMMAND_MODULES) and the save imports it again.
    import storewrite

    storewrite.open = fake_open


def _normal_writes():
    import storewrite

    storewrite.open = _real_open


def _snapshot(d):
    import os

    return sorted((n, fsutil.read(d + "/" + n)) for n in os.listdir(d))


def _vault_with_one():
    d = fsutil.tmpdir("mem")
    v = vault.Vault(d)
    v.load()
    v.add("ACME", "alice", SECRET)
    return d, v


def test_a_memory_error_during_a_save_leaves_the_vault_at_its_old_state():
    d, v = _vault_with_one()
    before = _snapshot(d)
    for after in (0, 20, 60):  # in the header, in the first record, further on
        _failing_writes(after)
        try:
            mptest.raises(MemoryError, v.add, "ACME", "bob", SECRET)
            mptest.raises(MemoryError, v.rename, "ACME:alice", "ACME", "carol")
        finally:
            _normal_writes()
        assert [a.label for a in v.accounts()] == ["ACME:alice"]
        again = vault.Vault(d)
        again.load()
        assert [a.label for a in again.accounts()] == ["ACME:alice"]
        assert not again.corrupt and not again.recovered
    # The files that the old state lives in are untouched (a part-written .new may remain;
    # the next save replaces it).
    after_files = dict(_snapshot(d))
    for name, data in before:
        assert after_files[name] == data, name
    v.add("ACME", "bob", SECRET)  # and the vault still saves
    assert [a.label for a in vault.Vault(d).accounts()] == ["ACME:alice", "ACME:bob"]


class _Writer:
    def __init__(self):
        self.lines = []

    def write(self, data):
        self.lines.append(bytes(data))


class _Clock:
    def valid(self):
        return False


class _Token:
    FIRMWARE_VERSION = "fw-mem"
    display = None
    memory_note = None

    def __init__(self, v):
        self.vault = v
        self.clock = _Clock()

    def changed(self):
        pass


def _ask(srv, writer, rid, code, payload=b""):
    # One single-frame request; returns (status, answer payload).
    host = protocol.Codec()
    line = host.encode(0, rid, 0, code, payload)
    codec = srv.messages.codec

    async def run():
        for b in line:
            if codec.feed(b):
                frame = codec.decode()
                if frame is not None:
                    await srv.messages.handle(frame)

    writer.lines.clear()
    asyncio.run(run())
    reply = protocol.Codec()
    for b in writer.lines[-1]:
        if reply.feed(b):
            frame = bytes(reply.decode())
    return frame[3], frame[4:]


def _add_payload(name):
    body = struct.pack("<BBBBHQ", 0, 0, 1, 6, 30, 0)
    return body + b"\x04ACME" + bytes((len(name),)) + name + bytes((len(SECRET),)) + SECRET


def _info(answer):
    capacity, count, flags = answer[0], answer[1], answer[2]
    n = answer[3]
    pos = 4 + n
    free, largest = struct.unpack_from("<II", answer, pos)
    note = bytes(answer[pos + 9 : pos + 9 + answer[pos + 8]]).decode()
    assert pos + 9 + len(note) == len(answer)
    return capacity, count, flags, free, largest, note


def test_add_out_of_memory_answers_its_own_status_and_changes_nothing():
    d, v = _vault_with_one()
    before = _snapshot(d)
    writer = _Writer()
    srv = server.Server(_Token(v), writer)
    status, answer = _ask(srv, writer, 1, 0x02)
    assert status == 0
    assert _info(answer)[1] == 1 and _info(answer)[5] == ""  # nothing ran out yet
    _failing_writes(30)
    try:
        status, answer = _ask(srv, writer, 2, 0x06, _add_payload(b"bob"))
    finally:
        _normal_writes()
    assert status == _OUT_OF_MEMORY, status
    text = bytes(answer).decode()
    assert text.startswith("command 0x06 did not fit in the heap (")
    assert SECRET.decode() not in text
    assert [a.label for a in v.accounts()] == ["ACME:alice"]
    after_files = dict(_snapshot(d))
    for name, data in before:
        assert after_files[name] == data, name
    status, answer = _ask(srv, writer, 3, 0x02)
    capacity, count, flags, free, largest, note = _info(answer)
    assert (capacity, count, note) == (64, 1, "command 0x06")
    assert 0 < largest <= free
    status, answer = _ask(srv, writer, 4, 0x06, _add_payload(b"bob"))  # room again: it works
    assert status == 0 and bytes(answer) == bytes((2, 64))


def test_add_says_when_the_heap_not_the_slots_is_full_before_writing():
    import gc

    d, v = _vault_with_one()
    before = _snapshot(d)
    writer = _Writer()
    srv = server.Server(_Token(v), writer)
    gc.collect()
    saved = server.HEAP_MARGIN
    server.HEAP_MARGIN = gc.mem_free() + 1  # more than this heap has: the heap limits
    try:
        status, answer = _ask(srv, writer, 1, 0x06, _add_payload(b"bob"))
    finally:
        server.HEAP_MARGIN = saved
    assert status == _OUT_OF_MEMORY, status
    text = bytes(answer).decode()
    assert text.startswith("no heap for another account ("), text
    assert text.endswith("; 1 of 64 slots used)"), text
    assert SECRET.decode() not in text
    assert [a.label for a in v.accounts()] == ["ACME:alice"]
    assert _snapshot(d) == before  # refused before anything was written
    status, answer = _ask(srv, writer, 2, 0x06, _add_payload(b"bob"))  # room: it works
    assert status == 0 and bytes(answer) == bytes((2, 64))


def test_largest_free_block_is_an_allocation_that_succeeds():
    import gc

    gc.collect()
    free = gc.mem_free()  # before the probe: its last try stays garbage until a collection
    largest = cmdinfo.largest_free_block()
    assert 0 < largest <= free, (largest, free)
    buf = bytearray(largest - 64)  # what it reports can be had (less a little for the probe)
    assert len(buf) == largest - 64


class _Board:
    NAME = "fake"

    def __init__(self, data_dir, failures):
        self.data_dir = data_dir
        self.i2c = None
        self.buttons = (Button(),)
        self.fake_rtc = RTC(time.ticks_ms, 1111111109)
        self.failures = failures
        self.calls = 0

    def display(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise MemoryError("memory allocation failed, allocating 1024 bytes")
        return Display()

    def rtc(self):
        return self.fake_rtc

    def light_sleep(self, ms):
        pass

    def deep_sleep(self, ms):
        pass


def test_a_memory_error_building_the_display_is_retried_once():
    b = _Board(fsutil.tmpdir("memapp"), failures=1)
    a = appmod.App(b)
    a.start()
    assert b.calls == 2 and a.display is not None and a.memory_note is None


def test_a_display_that_never_fits_is_reported_as_out_of_memory_not_missing():
    b = _Board(fsutil.tmpdir("memapp"), failures=5)
    a = appmod.App(b)
    a.start()
    assert b.calls == 2 and a.display is None
    assert a.memory_note == "boot: display" and a.token.memory_note == "boot: display"
    writer = _Writer()
    srv = server.Server(a.token, writer)
    status, answer = _ask(srv, writer, 1, 0x02)
    assert status == 0
    capacity, count, flags, free, largest, note = _info(answer)
    assert note == "boot: display" and not flags & 0x02  # no display, and INFO says why


if __name__ == "__main__":
    mptest.main(globals())
