# vault.Vault: accounts, validation, persistence, power cuts (firmware/vault.py).
# File contents are checked against the documented record layout, built here with struct.
import hashlib
import struct

import fsutil
import mptest
import vault

SECRET = b"12345678901234567890"
_REAL_MAKE_KEY = vault.make_key


def _keys_as_tuples():
    # Stand-in for otp.Key so these tests see what the vault hands to the key builder.
    vault.make_key = lambda secret, algorithm, digits, period: (
        secret,
        algorithm,
        digits,
        period,
    )


def _fresh(capacity=64):
    d = fsutil.tmpdir("vault")
    v = vault.Vault(d, capacity)
    v.load()
    return d, v


def _labels(v):
    return [a.label for a in v.accounts()]


def _file(d):
    return fsutil.read(d + "/vault.bin")


def test_empty_vault():
    d, v = _fresh()
    assert v.count == 0 and v.capacity == 64 and v.accounts() == ()
    assert not v.corrupt and not v.recovered
    fsutil.rmtree(d)


def test_add_keeps_insertion_order_and_fields():
    d, v = _fresh()
    v.add("GitHub", "alice", SECRET)
    v.add("", "bob@example.com", b"\x01", "SHA256", 8, 60)
    v.add("Bank", "carol", b"\xff" * 128, "sha512", 7, 15, "hotp", 42)
    assert _labels(v) == ["GitHub:alice", "bob@example.com", "Bank:carol"]
    a, b, c = v.accounts()
    assert (a.kind, a.algorithm, a.digits, a.period, a.counter) == ("totp", "sha1", 6, 30, 0)
    assert (b.issuer, b.name, b.algorithm, b.digits, b.period) == (
        "",
        "bob@example.com",
        "sha256",
        8,
        60,
    )
    assert (c.kind, c.algorithm, c.digits, c.period, c.counter) == ("hotp", "sha512", 7, 15, 42)
    assert v.count == 3
    assert v.account(0) is a and v.account(2) is c and v.account(-1) is c
    mptest.raises(IndexError, v.account, 3)
    fsutil.rmtree(d)


def test_reload_gives_same_accounts_and_secrets():
    _keys_as_tuples()
    d, v = _fresh()
    v.add("GitHub", "alice", SECRET)
    v.add("Bänk €", "ü" * 32, b"\x00" * 7, "sha512", 8, 3600, "hotp", 2**64 - 1)
    w = vault.Vault(d)
    w.load()
    assert _labels(w) == ["GitHub:alice", "Bänk €:" + "ü" * 32]
    assert w.accounts()[0].key() == (SECRET, "sha1", 6, 30)
    b = w.accounts()[1]
    assert b.key() == (b"\x00" * 7, "sha512", 8, 3600)
    assert b.counter == 2**64 - 1 and b.kind == "hotp"
    fsutil.rmtree(d)


def test_real_otp_key_gives_rfc4226_codes_through_next_hotp():
    try:
        import otp  # noqa: F401
    except ImportError:
        mptest.skip("needs firmware/otp.py")
    vault.make_key = _REAL_MAKE_KEY
    d, v = _fresh()
    a = v.add("RFC", "4226", SECRET, kind="hotp")
    # RFC 4226 Appendix D, counters 0, 1, 2.
    codes = [a.key().hotp(v.next_hotp(a)) for _ in range(3)]
    assert codes == [755224, 287082, 359152]
    assert vault.Vault(d).find("RFC:4226").counter == 3
    fsutil.rmtree(d)


def test_key_is_built_once_and_cached():
    calls = []

    def counting(secret, algorithm, digits, period):
        calls.append(1)
        return object()

    vault.make_key = counting
    d, v = _fresh()
    a = v.add("X", "y", SECRET)
    assert a.key() is a.key()
    assert len(calls) == 1
    fsutil.rmtree(d)


def test_record_layout_matches_documentation():
    d, v = _fresh()
    v.add("Iss", "nm", b"\xaa\xbb", "sha256", 8, 60)
    v.add("", "h", b"\x01", "sha512", 7, 30, "hotp", 2**40 + 5)
    payload = (
        b"\x01\x02"
        + struct.pack("<BBHQBBB", 1, 8, 60, 0, 3, 2, 2)
        + b"Issnm\xaa\xbb"
        + struct.pack("<BBHQBBB", 0x12, 7, 30, 2**40 + 5, 0, 1, 1)
        + b"h\x01"
    )
    head = struct.pack("<4sBBHII", b"TKVA", 1, 0, 0, 2, len(payload))
    assert _file(d) == head + hashlib.sha256(head + payload).digest()[:8] + payload
    fsutil.rmtree(d)


def test_full_vault_of_longest_fields_round_trips_in_documented_size():
    _keys_as_tuples()
    d, v = _fresh()
    for i in range(64):
        v.add("I" * 62 + "%02d" % i, "N" * 64, bytes([i]) * 128, "sha256", 8, 30)
    assert len(_file(d)) == 64 * (15 + 64 + 64 + 128) + 2 + 24 == 17370
    e = mptest.raises(vault.FullError, v.add, "one", "more", SECRET)
    assert e.code == "FULL" and "64" in e.args[0]
    w = vault.Vault(d)
    assert w.count == 64
    assert w.accounts()[63].key() == (bytes([63]) * 128, "sha256", 8, 30)
    fsutil.rmtree(d)


def test_capacity_is_configurable():
    d, v = _fresh(capacity=2)
    v.add("a", "1", SECRET)
    v.add("a", "2", SECRET)
    assert v.capacity == 2
    mptest.raises(vault.FullError, v.add, "a", "3", SECRET)
    v.add("a", "2", b"other", replace=True)  # replacing needs no free slot
    assert v.count == 2
    mptest.raises(ValueError, vault.Vault, d, 0)
    mptest.raises(ValueError, vault.Vault, d, 256)
    fsutil.rmtree(d)


def test_duplicate_rejected_and_replace_keeps_position():
    _keys_as_tuples()
    d, v = _fresh()
    v.add("A", "x", SECRET)
    v.add("B", "y", SECRET)
    before = _file(d)
    e = mptest.raises(vault.DuplicateError, v.add, "A", "x", b"other")
    assert e.code == "DUPLICATE" and "A:x" in e.args[0]
    assert _file(d) == before
    v.add("A", "x", b"other", "sha256", replace=True)
    assert _labels(v) == ["A:x", "B:y"]
    assert v.find("A:x").key() == (b"other", "sha256", 6, 30)
    # Same name under another issuer, or another case, is a different account.
    v.add("a", "x", SECRET)
    v.add("", "x", SECRET)
    assert v.count == 4
    fsutil.rmtree(d)


def _assert_rejected(d, v, cls, func, *args, **kwargs):
    before_file = _file(d)
    before = [repr(a) for a in v.accounts()]
    e = mptest.raises(cls, func, *args, **kwargs)
    assert isinstance(e, vault.VaultError) and isinstance(e, ValueError)
    assert _file(d) == before_file
    assert [repr(a) for a in v.accounts()] == before
    return e


def test_invalid_fields_rejected_and_nothing_changes():
    d, v = _fresh()
    v.add("Keep", "me", SECRET)
    inv = vault.InvalidError
    cases = [
        (("I" * 65, "n", SECRET), {}),
        (("é" * 33, "n", SECRET), {}),  # 66 bytes of UTF-8
        (("a:b", "n", SECRET), {}),
        (("", "a:b", SECRET), {}),
        (("i", "", SECRET), {}),
        (("i", "N" * 65, SECRET), {}),
        (("i", "tab\there", SECRET), {}),
        (("i\x7f", "n", SECRET), {}),
        ((5, "n", SECRET), {}),
        (("i", b"\xff\xfe", SECRET), {}),
        (("i", "n", b""), {}),
        (("i", "n", b"x" * 129), {}),
        (("i", "n", "text secret"), {}),
        (("i", "n", SECRET), {"algorithm": "md5"}),
        (("i", "n", SECRET), {"digits": 5}),
        (("i", "n", SECRET), {"digits": 9}),
        (("i", "n", SECRET), {"digits": True}),
        (("i", "n", SECRET), {"period": 0}),
        (("i", "n", SECRET), {"period": 3601}),
        (("i", "n", SECRET), {"period": 30.0}),
        (("i", "n", SECRET), {"kind": "steam"}),
        (("i", "n", SECRET), {"kind": "hotp", "counter": -1}),
        (("i", "n", SECRET), {"kind": "hotp", "counter": 2**64}),
    ]
    for args, kwargs in cases:
        e = _assert_rejected(d, v, inv, v.add, *args, **kwargs)
        assert e.code == "INVALID"
    assert v.count == 1
    fsutil.rmtree(d)


def test_limits_inclusive():
    d, v = _fresh()
    v.add("é" * 32, "N" * 64, b"x" * 128, digits=8, period=3600)
    v.add("", "n", b"x", digits=6, period=1, kind="hotp", counter=2**64 - 1)
    v.add("i", "a:b", SECRET)  # ':' in a name is fine when there is an issuer
    assert v.count == 3
    fsutil.rmtree(d)


def test_secret_never_in_repr_or_errors():
    d, v = _fresh()
    secret = b"TOPSECRETVALUE!!"
    a = v.add("Svc", "me", secret)
    texts = [repr(a), str(a)]
    for args in (("Svc", "me", secret), ("S:", "me", secret), ("Svc", "me", secret * 20)):
        try:
            v.add(*args)
        except vault.VaultError as e:
            texts.append(repr(e) + str(e))
    for t in texts:
        assert "TOPSECRET" not in t and "544f50" not in t.lower(), t
    assert "Svc:me" in repr(a)
    fsutil.rmtree(d)


def test_find_rules():
    d, v = _fresh()
    v.add("GitHub", "alice", SECRET)
    v.add("GitHub", "alice2", SECRET)
    v.add("github", "Alice", SECRET)
    v.add("Bank", "bob", SECRET)
    assert v.find("GitHub:alice").label == "GitHub:alice"  # exact beats the rest
    assert v.find("github:Alice").issuer == "github"
    assert v.find("bank:BOB").name == "bob"  # one equal ignoring case
    assert v.find("ob").label == "Bank:bob"  # one substring
    assert v.find("ALICE2").label == "GitHub:alice2"
    e = mptest.raises(vault.AmbiguousError, v.find, "github:ALICE")
    assert e.code == "AMBIGUOUS"
    e = mptest.raises(vault.NotFoundError, v.find, "nobody")
    assert e.code == "NOT_FOUND"
    mptest.raises(vault.InvalidError, v.find, "")
    acc = v.accounts()[3]
    assert v.find(acc) is acc
    other = vault.Account("x", "y", SECRET, "sha1", 6, 30, "totp", 0)
    mptest.raises(vault.NotFoundError, v.find, other)
    fsutil.rmtree(d)


def test_delete():
    d, v = _fresh()
    for n in "abc":
        v.add("I", n, SECRET)
    v.delete("I:b")
    assert _labels(v) == ["I:a", "I:c"]
    v.delete(v.accounts()[0])
    assert _labels(vault.Vault(d)) == ["I:c"]
    _assert_rejected(d, v, vault.NotFoundError, v.delete, "I:b")
    fsutil.rmtree(d)


def test_rename_keeps_position_and_key():
    _keys_as_tuples()
    d, v = _fresh()
    for n in "abc":
        v.add("I", n, SECRET)
    a = v.find("I:b")
    key = a.key()
    assert v.rename("I:b", "New", "name") is a
    assert _labels(v) == ["I:a", "New:name", "I:c"]
    assert a.key() is key
    assert _labels(vault.Vault(d)) == ["I:a", "New:name", "I:c"]
    v.rename(a, "New", "name")  # to its own label: allowed
    e = _assert_rejected(d, v, vault.DuplicateError, v.rename, a, "I", "c")
    assert e.code == "DUPLICATE"
    _assert_rejected(d, v, vault.InvalidError, v.rename, a, "x:y", "z")
    _assert_rejected(d, v, vault.InvalidError, v.rename, a, "x", "")
    fsutil.rmtree(d)


def test_next_hotp_persists_before_returning():
    d, v = _fresh()
    h = v.add("H", "h", SECRET, kind="hotp", counter=5)
    saved = []
    real_save = v._store.save

    def spy(data):
        real_save(data)
        saved.append(vault.Vault(d).find("H:h").counter)

    v._store.save = spy
    assert v.next_hotp(h) == 5
    assert saved == [6]  # on flash before the counter was handed out
    assert v.next_hotp("H:h") == 6
    assert h.counter == 7
    assert vault.Vault(d).find("H:h").counter == 7
    v.add("T", "t", SECRET)
    e = _assert_rejected(d, v, vault.InvalidError, v.next_hotp, "T:t")
    assert e.code == "INVALID"
    fsutil.rmtree(d)


def test_next_hotp_at_counter_limit():
    d, v = _fresh()
    v.add("H", "h", SECRET, kind="hotp", counter=2**64 - 2)
    assert v.next_hotp("H:h") == 2**64 - 2
    _assert_rejected(d, v, vault.InvalidError, v.next_hotp, "H:h")
    fsutil.rmtree(d)


def test_failed_save_changes_nothing_in_ram():
    d, v = _fresh()
    v.add("A", "a", SECRET)
    v.add("H", "h", SECRET, kind="hotp", counter=3)

    def broken(data):
        raise OSError(28)  # ENOSPC

    v._store.save = broken
    before = [repr(a) for a in v.accounts()]
    for func, args in (
        (v.add, ("B", "b", SECRET)),
        (v.add, ("A", "a", b"new", "sha1", 6, 30, "totp", 0, True)),
        (v.delete, ("A:a",)),
        (v.rename, ("A:a", "Z", "z")),
        (v.next_hotp, ("H:h",)),
    ):
        mptest.raises(OSError, func, *args)
        assert [repr(a) for a in v.accounts()] == before
    assert v.find("H:h").counter == 3
    fsutil.rmtree(d)


def test_corrupt_vault_is_reported_not_emptied():
    d, v = _fresh()
    v.add("A", "a", SECRET)
    data = bytearray(_file(d))
    data[-1] ^= 0x40
    fsutil.write(d + "/vault.bin", data)
    w = vault.Vault(d)
    e = mptest.raises(vault.CorruptError, w.load)
    assert e.code == "CORRUPT"
    assert w.corrupt and w.accounts() == ()
    mptest.raises(vault.CorruptError, w.add, "B", "b", SECRET)
    mptest.raises(vault.CorruptError, w.find, "A")
    assert _file(d) == data  # left for inspection
    w.wipe()
    assert not w.corrupt and w.count == 0
    w.add("B", "b", SECRET)
    assert _labels(vault.Vault(d)) == ["B:b"]
    fsutil.rmtree(d)


def test_damaged_current_copy_recovers_previous():
    d, v = _fresh()
    v.add("A", "a", SECRET)
    v.add("B", "b", SECRET)
    data = bytearray(_file(d))
    data[30] ^= 1
    fsutil.write(d + "/vault.bin", data)
    w = vault.Vault(d)
    w.load()
    assert w.recovered and _labels(w) == ["A:a"]
    fsutil.rmtree(d)


def test_checksummed_but_invalid_content_is_corrupt():
    d = fsutil.tmpdir("vault")
    import store

    bad = struct.pack("<BB", 1, 1) + struct.pack("<BBHQBBB", 3, 6, 30, 0, 1, 1, 1) + b"abc"
    store.Store(d + "/vault.bin", b"TKVA").save(bad)
    mptest.raises(vault.CorruptError, vault.Vault(d).load)
    fsutil.rmtree(d)


def test_wipe_removes_all_copies():
    d, v = _fresh()
    v.add("A", "a", SECRET)
    v.add("B", "b", SECRET)
    v.wipe()
    assert v.count == 0
    assert not fsutil.exists(d + "/vault.bin") and not fsutil.exists(d + "/vault.bin.bak")
    assert vault.Vault(d).count == 0
    fsutil.rmtree(d)


def test_revision_changes_on_every_change():
    d, v = _fresh()
    r = v.revision
    v.add("A", "a", SECRET, kind="hotp")
    v.next_hotp("A:a")
    v.rename("A:a", "B", "b")
    v.delete("B:b")
    assert v.revision == r + 4
    mptest.raises(vault.NotFoundError, v.delete, "B:b")
    assert v.revision == r + 4
    fsutil.rmtree(d)


def test_random_operations_match_a_simple_model():
    # A seeded random walk of add/replace/delete/rename/next_hotp against a plain list model;
    # every few steps a fresh Vault reloads the file and must equal the model.
    import random

    random.seed(4226)
    _keys_as_tuples()
    d, v = _fresh(capacity=8)
    model = []  # [issuer, name, secret, kind, counter]

    def where(issuer, name):
        for i, m in enumerate(model):
            if m[0] == issuer and m[1] == name:
                return i
        return -1

    absent = vault.Account("none", "none", b"k", "sha1", 6, 30, "totp", 0)

    def exact(issuer, name):
        # By object, not by query: a query would also match "n1x" by substring.
        for a in v.accounts():
            if a.issuer == issuer and a.name == name:
                return a
        return absent

    for step in range(400):
        op = random.getrandbits(3)
        issuer = "I%d" % random.getrandbits(2)
        name = "n%d" % random.getrandbits(2)
        secret = bytes([random.getrandbits(8) for _ in range(1 + random.getrandbits(4))])
        i = where(issuer, name)
        if op <= 2:
            kind = "hotp" if op == 2 else "totp"
            counter = random.getrandbits(8) if kind == "hotp" else 0
            replace = bool(random.getrandbits(1))
            try:
                v.add(issuer, name, secret, kind=kind, counter=counter, replace=replace)
            except vault.DuplicateError:
                assert i >= 0 and not replace
            except vault.FullError:
                assert i < 0 and len(model) == 8
            else:
                entry = [issuer, name, secret, kind, counter]
                if i >= 0:
                    model[i] = entry
                else:
                    model.append(entry)
        elif op == 3 or op == 4:
            try:
                v.delete(exact(issuer, name))
            except vault.NotFoundError:
                assert i < 0
            else:
                model.pop(i)
        elif op == 5:
            new_issuer = "I%d" % random.getrandbits(2)
            j = where(new_issuer, name + "x")
            try:
                v.rename(exact(issuer, name), new_issuer, name + "x")
            except vault.NotFoundError:
                assert i < 0
            except vault.DuplicateError:
                assert j >= 0 and j != i
            else:
                model[i][0], model[i][1] = new_issuer, name + "x"
        else:
            try:
                used = v.next_hotp(exact(issuer, name))
            except vault.NotFoundError:
                assert i < 0
            except vault.InvalidError:
                assert model[i][3] == "totp"
            else:
                assert used == model[i][4]
                model[i][4] += 1
        view = v if step % 7 else vault.Vault(d)
        got = [(a.issuer, a.name, a.key()[0], a.kind, a.counter) for a in view.accounts()]
        assert got == [tuple(m) for m in model], step
    fsutil.rmtree(d)


# ---- power cuts on the sim's flash (boards/sim/simflash.py): every write position

_MOUNT = "/pcut"


def _mount(simflash, image, block_size, block_count, mkfs=False):
    # The image is in RAM (io.BytesIO): the same flash model (torn writes, NOR programming)
    # without a file system under it, which on the sim is itself a Python block device and
    # made every cut point cost a full image copy through it.
    import vfs

    bd = simflash.FileBlockDevice(image, block_size, block_count)
    if mkfs:
        vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), _MOUNT)
    return bd


def _restore(image, base):
    image.seek(0)
    image.write(base)


def _unmount(bd):
    import gc

    import vfs

    try:
        vfs.umount(_MOUNT)
    except BaseException:  # noqa: BLE001 - the dead device may refuse even this
        pass
    # A file left open by the cut is closed by the GC's finaliser; the dead device refuses
    # its writes (and, with the heap locked then, prints a MemoryError: harmless noise).
    gc.collect()
    bd.close()


def _snapshot(v):
    return [(repr(a), a.counter, a.key()) for a in v.accounts()]


def _cut_everywhere(operation, block_size=4096, block_count=32, accounts=12):
    """Run operation(vault) on a copy of a flash image holding `accounts` accounts, cutting
    the power after 0, 1, 2, ... block writes until it completes. After each cut, reboot (a
    new block device on the same image) and load: the vault must be the old or the new one.
    Returns (cut points tried, loads that gave old, loads that gave new)."""
    try:
        import simflash
    except ImportError:
        mptest.skip("needs boards/sim/simflash.py")
    _keys_as_tuples()
    try:
        import vfs

        vfs.umount(_MOUNT)  # left mounted by an earlier failing test
    except OSError:
        pass
    import io
    import os

    # One in-memory image, rewritten from `base` before each run. Both are allocated first:
    # the vault work below fragments the heap (no large allocation per cut point either).
    image = io.BytesIO(block_size * block_count)
    base = bytearray(block_size * block_count)
    bd = _mount(simflash, image, block_size, block_count, mkfs=True)

    os.mkdir(_MOUNT + "/data")
    v = vault.Vault(_MOUNT + "/data")
    v.load()
    for i in range(accounts):
        kind = "hotp" if i % 3 == 0 else "totp"
        v.add(
            "Issuer%d" % i, "user%d@example.com" % i, bytes([i]) * min(128, 20 + i * 9), kind=kind
        )
    v.add("Issuer0", "user0@example.com", b"second generation", replace=True)  # a .bak too
    old = _snapshot(v)
    _unmount(bd)
    image.seek(0)
    image.readinto(base)
    # The expected new state: the operation run once without a cut.
    _restore(image, base)
    bd = _mount(simflash, image, block_size, block_count)
    v = vault.Vault(_MOUNT + "/data")
    operation(v)
    new = _snapshot(v)
    _unmount(bd)
    assert new != old
    n = olds = news = 0
    while True:
        _restore(image, base)
        bd = _mount(simflash, image, block_size, block_count)
        v = vault.Vault(_MOUNT + "/data")
        v.load()
        bd.cut_power_after(n)
        try:
            operation(v)
            done = True
        except simflash.PowerCut:
            done = False
        _unmount(bd)
        bd = _mount(simflash, image, block_size, block_count)  # reboot
        w = vault.Vault(_MOUNT + "/data")
        w.load()  # never CorruptError
        got = _snapshot(w)
        if got == old:
            olds += 1
            assert not done, "operation returned but the old vault loaded"
        elif got == new:
            news += 1
        else:
            raise AssertionError("cut after %d writes: neither old nor new vault" % n)
        # The file system and vault still work after the cut.
        w.add("After", "cut", b"k")
        assert vault.Vault(_MOUNT + "/data").find("After:cut").name == "cut"
        _unmount(bd)
        if done:
            break
        n += 1
    print("power cuts: %d cut points, %d old, %d new" % (n + 1, olds, news))
    assert olds > 0 and news > 0
    return n + 1, olds, news


def test_power_cut_during_add():
    _cut_everywhere(lambda v: v.add("New", "account", b"n" * 64, "sha256", 8, 60))


def test_power_cut_during_hotp_press():
    _cut_everywhere(lambda v: v.next_hotp("Issuer3:user3@example.com"))


def test_power_cut_during_delete_rename_and_replace():
    _cut_everywhere(lambda v: v.delete("Issuer5:"))
    _cut_everywhere(lambda v: v.rename("Issuer7:", "Renamed", "me"))
    _cut_everywhere(lambda v: v.add("Issuer1", "user1@example.com", b"r", replace=True))


def test_power_cut_during_wipe():
    _cut_everywhere(lambda v: v.wipe())


def test_power_cut_with_small_blocks_and_a_full_vault():
    # 512-byte blocks: the file spans many blocks, so many more cut points.
    _cut_everywhere(lambda v: v.next_hotp("Issuer3:"), 512, 256, 63)


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
