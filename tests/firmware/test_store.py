# store.Store: atomic, checksummed file with a previous good copy (firmware/store.py, its
# write half firmware/storewrite.py).
# Expected file bytes are built here from the documented layout with struct and hashlib.
import hashlib
import os
import struct

import fsutil
import mptest
import store
import storewrite


def _expected(magic, generation, payload):
    head = struct.pack("<4sBBHII", magic, 1, 0, 0, generation, len(payload))
    return head + hashlib.sha256(head + payload).digest()[:8] + payload


def _fresh(magic=b"TEST", max_size=4096):
    d = fsutil.tmpdir("store")
    return d, store.Store(d + "/f.bin", magic, max_size)


def test_nothing_saved_loads_none():
    d, s = _fresh()
    assert s.load() is None
    assert s.generation == 0 and not s.recovered and not s.exists()
    fsutil.rmtree(d)


def test_file_layout_matches_documentation():
    d, s = _fresh()
    s.save(b"hello")
    assert fsutil.read(d + "/f.bin") == _expected(b"TEST", 1, b"hello")
    s.save(b"world!")
    assert fsutil.read(d + "/f.bin") == _expected(b"TEST", 2, b"world!")
    assert fsutil.read(d + "/f.bin.bak") == _expected(b"TEST", 1, b"hello")
    assert not fsutil.exists(d + "/f.bin.new")
    fsutil.rmtree(d)


class _Source:
    # A streamed payload: its size and its parts, as vault.Vault hands them to save().
    def __init__(self, parts, size=None):
        self._parts = parts
        if size is None:
            size = sum(len(p.encode() if isinstance(p, str) else p) for p in parts)
        self._size = size

    def __len__(self):
        return self._size

    def parts(self, out):
        for p in self._parts:
            out(p)


def _read_in_twos(payload):
    # A decoder reading in place: two bytes at a time through one buffer, as a record reader.
    buf = bytearray(2)
    got = b""
    while payload.left >= 2:
        payload.readinto(buf)
        got += bytes(buf)
    if payload.left:
        raise ValueError("odd length")
    return got


def test_a_streamed_save_writes_the_same_file_and_a_decoder_reads_it():
    d, s = _fresh()
    s.save(_Source((b"he", "llé", memoryview(b"o!"))))  # a str part is written as its UTF-8
    payload = b"he" + "llé".encode() + b"o!"
    assert fsutil.read(d + "/f.bin") == _expected(b"TEST", 1, payload)
    t = store.Store(d + "/f.bin", b"TEST", 4096)
    assert t.load(_read_in_twos) == payload and t.generation == 1
    assert t.load() == payload
    fsutil.rmtree(d)


def test_a_source_whose_parts_differ_from_its_size_writes_nothing():
    d, s = _fresh()
    s.save(b"kept")
    for size in (3, 5):
        e = mptest.raises(ValueError, s.save, _Source((b"four",), size))
        assert "len()" in e.args[0]
    assert fsutil.read(d + "/f.bin") == _expected(b"TEST", 1, b"kept")
    assert not fsutil.exists(d + "/f.bin.new") and not fsutil.exists(d + "/f.bin.bak")
    fsutil.rmtree(d)


def test_a_decoder_error_on_a_good_copy_is_raised_on_a_damaged_one_the_next_copy_loads():
    d, s = _fresh()
    s.save(b"even")
    s.save(b"odd")
    # The current copy checks out: its content is what the decoder refuses, so say so.
    e = mptest.raises(ValueError, store.Store(d + "/f.bin", b"TEST").load, _read_in_twos)
    assert e.args[0] == "odd length"
    # Damaged, whatever the decoder makes of it: the previous copy is loaded instead.
    data = bytearray(fsutil.read(d + "/f.bin"))
    data[-1] ^= 1
    fsutil.write(d + "/f.bin", data)
    t = store.Store(d + "/f.bin", b"TEST")
    assert t.load(_read_in_twos) == b"even" and t.recovered and t.generation == 1
    # Torn (shorter than its header says): the same.
    fsutil.write(d + "/f.bin", data[:-2])
    assert store.Store(d + "/f.bin", b"TEST").load(_read_in_twos) == b"even"
    fsutil.rmtree(d)


def test_round_trip_and_generation_survive_a_new_instance():
    d, s = _fresh()
    s.save(b"")
    s.save(bytes(range(256)))
    t = store.Store(d + "/f.bin", b"TEST", 4096)
    assert t.load() == bytes(range(256))
    assert t.generation == 2 and not t.recovered
    t.save(b"x")
    assert store.Store(d + "/f.bin", b"TEST").load() == b"x"
    assert t.generation == 3
    fsutil.rmtree(d)


def _damage(path, index):
    data = bytearray(fsutil.read(path))
    data[index] ^= 0x01
    fsutil.write(path, data)


def test_every_single_bit_damage_falls_back_to_previous_copy():
    d, s = _fresh()
    s.save(b"old content")
    s.save(b"new content")
    good = fsutil.read(d + "/f.bin")
    for i in range(len(good)):
        fsutil.write(d + "/f.bin", good)
        _damage(d + "/f.bin", i)
        t = store.Store(d + "/f.bin", b"TEST")
        assert t.load() == b"old content", i
        assert t.recovered and t.generation == 1
    fsutil.rmtree(d)


def test_truncated_or_extended_primary_falls_back():
    d, s = _fresh()
    s.save(b"old content")
    s.save(b"new content")
    good = fsutil.read(d + "/f.bin")
    for bad in (good[:-1], good[:10], b"", good + b"\x00"):
        fsutil.write(d + "/f.bin", bad)
        assert store.Store(d + "/f.bin", b"TEST").load() == b"old content"
    fsutil.rmtree(d)


def test_damaged_with_no_good_copy_raises_corrupt():
    d, s = _fresh()
    s.save(b"only copy")
    _damage(d + "/f.bin", 30)
    e = mptest.raises(store.CorruptError, store.Store(d + "/f.bin", b"TEST").load)
    assert "f.bin" in e.args[0] and "only copy" not in e.args[0]
    # Both copies damaged: still reported, never read as empty.
    s.save(b"two")
    s.save(b"three")
    _damage(d + "/f.bin", 25)
    _damage(d + "/f.bin.bak", 25)
    mptest.raises(store.CorruptError, store.Store(d + "/f.bin", b"TEST").load)
    fsutil.rmtree(d)


def test_other_magic_is_not_accepted():
    d, s = _fresh(magic=b"AAAA")
    s.save(b"payload")
    mptest.raises(store.CorruptError, store.Store(d + "/f.bin", b"BBBB").load)
    fsutil.rmtree(d)


def test_length_over_max_size_is_refused():
    d, s = _fresh(max_size=16)
    mptest.raises(ValueError, s.save, bytes(17))
    assert not s.exists()
    big = store.Store(d + "/f.bin", b"TEST", 64)
    big.save(bytes(17))
    mptest.raises(store.CorruptError, store.Store(d + "/f.bin", b"TEST", 16).load)
    fsutil.rmtree(d)


def test_interrupted_rotation_states_load_old_or_new():
    # The states a power cut can leave between the steps of save(), built by hand.
    d, s = _fresh()
    s.save(b"gen1")
    s.save(b"gen2")
    path = d + "/f.bin"
    new = _expected(b"TEST", 3, b"gen3")
    # step 1 cut: .new half written, current and backup intact
    fsutil.write(path + ".new", new[:20])
    assert store.Store(path, b"TEST").load() == b"gen2"
    # step 2 cut after removing the backup: current intact, .new complete
    os.remove(path + ".bak")
    fsutil.write(path + ".new", new)
    assert store.Store(path, b"TEST").load() == b"gen2"
    # cut after renaming current to backup
    os.rename(path, path + ".bak")
    t = store.Store(path, b"TEST")
    assert t.load() == b"gen2" and t.recovered
    # step 3 done
    os.rename(path + ".new", path)
    assert store.Store(path, b"TEST").load() == b"gen3"
    fsutil.rmtree(d)


def test_only_a_complete_new_copy_is_used_as_last_resort():
    d, s = _fresh()
    fsutil.write(d + "/f.bin.new", _expected(b"TEST", 1, b"first"))
    assert store.Store(d + "/f.bin", b"TEST").load() == b"first"
    # A torn copy of a later generation alone: the current and backup copies are lost, so
    # it is damage. (A torn first generation alone is an unfinished first save: below.)
    fsutil.write(d + "/f.bin.new", _expected(b"TEST", 5, b"fifth")[:-1])
    mptest.raises(store.CorruptError, store.Store(d + "/f.bin", b"TEST").load)
    fsutil.rmtree(d)


def test_torn_first_save_alone_is_an_unfinished_save():
    # What a power cut during the very first save leaves (a new token, or after erase): a
    # new copy of generation 1, cut anywhere (littlefs leaves it empty), and no other copy.
    # The state is the one before the save: nothing saved, no damage.
    d, s = _fresh()
    first = _expected(b"TEST", 1, b"first content")
    for n in (0, 1, 4, 11, 12, 23, 24, len(first) - 1):
        fsutil.write(d + "/f.bin.new", first[:n])
        t = store.Store(d + "/f.bin", b"TEST")
        assert t.load() is None, n
        assert t.generation == 0 and not t.recovered
        t.save(b"again")
        assert store.Store(d + "/f.bin", b"TEST").load() == b"again"
        assert t.generation == 1
        t.erase()
    # Damage is still damage: another store's file, a later generation, bits flipped in the
    # first bytes, or a torn new copy beside a damaged current one.
    other = _expected(b"ABCD", 1, b"x")
    later = _expected(b"TEST", 2, b"x")
    flipped = bytearray(first)
    flipped[8] ^= 0x10  # generation 1 -> 17
    for torn in (other[:20], later[:20], later[:12], bytes(flipped[:30]), b"junk"):
        fsutil.write(d + "/f.bin.new", torn)
        mptest.raises(store.CorruptError, store.Store(d + "/f.bin", b"TEST").load)
    fsutil.write(d + "/f.bin", b"damaged")
    fsutil.write(d + "/f.bin.new", first[:5])
    mptest.raises(store.CorruptError, store.Store(d + "/f.bin", b"TEST").load)
    fsutil.rmtree(d)


def test_save_over_damaged_primary_keeps_the_good_backup():
    d, s = _fresh()
    s.save(b"good")
    s.save(b"newer")
    _damage(d + "/f.bin", 26)
    t = store.Store(d + "/f.bin", b"TEST")
    assert t.load() == b"good"
    t.save(b"fixed")
    # The damaged file must not have become the backup.
    assert fsutil.read(d + "/f.bin.bak") == _expected(b"TEST", 1, b"good")
    assert store.Store(d + "/f.bin", b"TEST").load() == b"fixed"
    fsutil.rmtree(d)


class _FailingRename:
    # Stands in for the os module inside storewrite (the store's write half): every rename
    # fails, as on a full disk.
    def __getattr__(self, name):
        return getattr(os, name)

    def rename(self, a, b):
        raise OSError(28)


def test_failed_rename_keeps_old_content_and_leaves_no_new_copy():
    d, s = _fresh()
    s.save(b"old")
    storewrite.os = _FailingRename()
    try:
        mptest.raises(OSError, s.save, b"new")
    finally:
        storewrite.os = os
    assert not fsutil.exists(d + "/f.bin.new")
    t = store.Store(d + "/f.bin", b"TEST")
    assert t.load() == b"old"
    fsutil.rmtree(d)


def test_save_without_backup_leaves_no_old_copy():
    d, s = _fresh()
    s.save(b"gen1 OLDSECRET")
    s.save(b"gen2 OLDSECRET")
    s.save(b"gen3 clean", backup=False)
    import os

    assert sorted(e[0] for e in os.ilistdir(d)) == ["f.bin"]
    assert fsutil.read(d + "/f.bin") == _expected(b"TEST", 3, b"gen3 clean")
    t = store.Store(d + "/f.bin", b"TEST")
    assert t.load() == b"gen3 clean" and t.generation == 3 and not t.recovered
    # The next ordinary save keeps a previous copy again.
    t.save(b"gen4")
    assert fsutil.read(d + "/f.bin.bak") == _expected(b"TEST", 3, b"gen3 clean")
    fsutil.rmtree(d)


def test_interrupted_save_without_backup_states_load_old_or_new():
    # The states a power cut can leave between the steps of save(data, backup=False).
    d, s = _fresh()
    s.save(b"gen1")
    s.save(b"gen2")
    path = d + "/f.bin"
    fsutil.write(path + ".new", _expected(b"TEST", 3, b"gen3"))
    os.remove(path + ".bak")  # cut after removing the backup
    t = store.Store(path, b"TEST")
    assert t.load() == b"gen2" and not t.recovered
    os.remove(path)  # cut after removing the current copy: the checked new copy alone
    t = store.Store(path, b"TEST")
    assert t.load() == b"gen3" and t.generation == 3
    assert not t.recovered  # the newest content, not an older copy
    # The next save first makes that copy the current one: writing PATH.new again must
    # never destroy the only copy (a cut during that write would leave nothing).
    t.save(b"gen4")
    assert store.Store(path, b"TEST").load() == b"gen4"
    assert fsutil.read(path + ".bak") == _expected(b"TEST", 3, b"gen3")
    assert not fsutil.exists(path + ".new")
    fsutil.rmtree(d)


def test_failed_last_rename_without_backup_keeps_the_saved_copy():
    d, s = _fresh()
    s.save(b"old")
    storewrite.os = _FailingRename()
    try:
        s.save(b"new", backup=False)  # PATH was removed: PATH.new holds the saved content
    finally:
        storewrite.os = os
    assert not fsutil.exists(d + "/f.bin") and not fsutil.exists(d + "/f.bin.bak")
    assert store.Store(d + "/f.bin", b"TEST").load() == b"new"
    s.save(b"newer")
    assert store.Store(d + "/f.bin", b"TEST").load() == b"newer"
    assert fsutil.read(d + "/f.bin.bak") == _expected(b"TEST", 2, b"new")
    fsutil.rmtree(d)


def test_erase_removes_every_copy():
    d, s = _fresh()
    s.save(b"a")
    s.save(b"b")
    fsutil.write(d + "/f.bin.new", b"junk")
    s.erase()
    assert not s.exists()
    assert s.load() is None
    s.erase()  # nothing left: still fine
    fsutil.rmtree(d)


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
