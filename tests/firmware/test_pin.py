# The device PIN (pin.py) over a real vault on the local filesystem: encryption at rest, the
# keys only while unlocked, the count of wrong PINs on flash, its delays, and the wipe at the
# tenth wrong PIN in a row.
import binascii

import fsutil
import mptest
import pin
import vault

SEED20 = b"12345678901234567890"
SECRETS = (SEED20, b"\xa5" * 33, b"another secret of 40 bytes, for sha512!!")
RFC4226_0 = 755224  # RFC 4226 Appendix D, counter 0


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def _vault(n=3):
    d = fsutil.tmpdir("pin")
    v = vault.Vault(d)
    for i in range(n):
        v.add("Issuer%d" % i, "name%d" % i, SECRETS[i % len(SECRETS)])
    return d, v


def _files(d):
    import os

    out = b""
    for name in os.listdir(d):
        with open(d + "/" + name, "rb") as f:
            out += f.read()
    return out


def _forms(secret):
    forms = [secret, binascii.hexlify(secret), binascii.hexlify(secret).upper()]
    b32 = _b32(secret)
    forms += [b32, b32.lower()]
    return forms


def _b32(data):
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    bits = 0
    n = 0
    out = bytearray()
    for byte in data:
        bits = (bits << 8) | byte
        n += 8
        while n >= 5:
            n -= 5
            out.append(alphabet[(bits >> n) & 31])
    if n:
        out.append(alphabet[(bits << (5 - n)) & 31])
    return bytes(out)


def test_pin_form_is_4_to_8_digits():
    for good in ("0000", "12345678", b"9876"):
        assert pin.valid(good)
    for bad in ("123", "123456789", "12a4", "", " 1234", "1234\n"):
        assert not pin.valid(bad)
    d, v = _vault(0)
    p = pin.Pin(v, d, Clock())
    for bad in ("123", "abcd", "123456789"):
        mptest.raises(vault.InvalidError, p.set, bad)
    assert not v.protected


def test_set_encrypts_every_secret_on_flash_and_keeps_the_codes():
    d, v = _vault(3)
    before = _files(d)
    assert SEED20 in before  # the plain vault holds the secret as it is
    p = pin.Pin(v, d, Clock())
    p.set("2468", entropy=b"host")
    assert v.protected and v.unlocked and not p.required
    data = _files(d)
    for secret in SECRETS:
        for form in _forms(secret):
            assert form not in data, form
    assert v.accounts()[0].key().hotp(0) == RFC4226_0
    # A fresh load (a power-on) is locked: labels are there, codes are not.
    w = vault.Vault(d)
    assert w.protected and not w.unlocked
    assert [a.label for a in w.accounts()] == ["Issuer0:name0", "Issuer1:name1", "Issuer2:name2"]
    mptest.raises(vault.LockedError, w.accounts()[0].key)
    mptest.raises(vault.LockedError, w.add, "New", "one", b"secret")
    q = pin.Pin(w, d, Clock())
    assert q.required
    assert q.enter("2467") == pin.WRONG
    assert q.required and q.failures == 1
    assert q.enter("2468") == pin.WAIT  # the delay after a wrong PIN: not even checked
    q._now.t += 1
    assert q.enter("2468") == pin.RIGHT
    assert not q.required and q.failures == 0
    assert w.accounts()[0].key().hotp(0) == RFC4226_0
    fsutil.rmtree(d)


def test_a_pin_change_drops_every_built_key_and_sealed_accounts_share_the_vaults_seal():
    # The last key built is cached (vault._keys): none built before a PIN change
    # outlives it, and a sealed account reaches the vault's seal (its one extra attribute).
    d, v = _vault(2)
    p = pin.Pin(v, d, Clock())
    accounts = v.accounts()
    assert [a.key().hotp(0) for a in accounts][0] == RFC4226_0
    assert len([k for k in vault._keys if k[0] in accounts]) == 1  # the last one built
    p.set("1357")
    assert not [k for k in vault._keys if k[0] in accounts]
    assert all(a._seal is v._seal for a in v.accounts())
    assert v.accounts()[0].key().hotp(0) == RFC4226_0
    p.set("2468", "1357")
    assert not [k for k in vault._keys if k[0] in accounts]
    p.clear("2468")
    assert not [k for k in vault._keys if k[0] in accounts]
    assert all(a._seal is None for a in v.accounts())
    assert v.accounts()[0].key().hotp(0) == RFC4226_0
    fsutil.rmtree(d)


def test_lock_forgets_the_keys_and_codes_need_the_pin_again():
    d, v = _vault(2)
    p = pin.Pin(v, d, Clock())
    p.set("1357")
    a = v.accounts()[0]
    assert a.key().hotp(0) == RFC4226_0
    p.lock()
    assert p.required
    assert not [k for k in vault._keys if k[0] is a] and v._seal.cipher is None
    mptest.raises(vault.LockedError, a.key)
    assert p.enter("1357") == pin.RIGHT
    assert a.key().hotp(0) == RFC4226_0
    fsutil.rmtree(d)


def test_accounts_added_with_the_pin_set_are_sealed_and_survive_changes():
    d, v = _vault(0)
    p = pin.Pin(v, d, Clock())
    p.set("0000")
    v.add("RFC", "hotp", SEED20, kind="hotp")
    v.add("X", "y", b"Z" * 128, "sha512", 8, 60)
    assert SEED20 not in _files(d)
    assert v.next_hotp("RFC:hotp") == 0
    v.rename("X:y", "X", "z")
    w = vault.Vault(d)
    w.load()
    q = pin.Pin(w, d, Clock())
    # Rename and delete need no PIN: the sealed secrets are copied as they are.
    w.rename("X:z", "X", "w")
    assert q.enter("0000") == pin.RIGHT
    a = w.find("RFC:hotp")
    assert a.counter == 1 and a.key().hotp(0) == RFC4226_0
    w.delete("X:w")
    assert w.count == 1
    fsutil.rmtree(d)


def test_change_and_clear_need_the_current_pin():
    d, v = _vault(2)
    t = Clock()
    p = pin.Pin(v, d, t)
    p.set("1111")
    mptest.raises(pin.PinRequiredError, p.set, "2222")
    mptest.raises(pin.PinError, p.set, "2222", "1112")
    assert p.failures == 1
    t.t += 1
    p.set("2222", "1111")
    assert p.failures == 0
    w = vault.Vault(d)
    q = pin.Pin(w, d, t)
    assert q.enter("1111") == pin.WRONG
    t.t += 1
    mptest.raises(pin.PinRequiredError, q.clear, "")
    q.clear("2222")
    assert not w.protected and w.unlocked
    assert SEED20 in _files(d)  # plain again, by choice
    u = vault.Vault(d)
    assert not u.protected and u.accounts()[0].key().hotp(0) == RFC4226_0
    mptest.raises(vault.InvalidError, pin.Pin(u, d, t).clear, "2222")
    fsutil.rmtree(d)


def test_wrong_pins_are_counted_on_flash_and_slow_down():
    d, v = _vault(1)
    t = Clock()
    pin.Pin(v, d, t).set("4321")
    w = vault.Vault(d)
    p = pin.Pin(w, d, t)
    waits = []
    for _ in range(4):
        assert p.enter("0000") == pin.WRONG
        waits.append(p.wait_s())
        t.t += p.wait_s()
    assert waits == [1, 2, 4, 8]
    assert p.failures == 4 and p.tries_left == 6
    # A reset (a new Pin and vault, as at power-on) keeps the count; the delay starts again.
    q = pin.Pin(vault.Vault(d), d, t)
    assert q.failures == 4 and q.tries_left == 6
    assert q.wait_s() == 8
    assert q.enter("4321") == pin.WAIT
    t.t += 8
    assert q.enter("4321") == pin.RIGHT
    assert q.failures == 0
    fsutil.rmtree(d)


def test_a_try_is_counted_before_it_is_checked():
    # A power cut during the slow check must not make the try free: the count is on flash
    # before the key derivation starts.
    d, v = _vault(1)
    t = Clock()
    pin.Pin(v, d, t).set("4321")
    w = vault.Vault(d)
    p = pin.Pin(w, d, t)
    import vaultcrypt

    real = vaultcrypt.Cipher.derive

    def cut(*args):
        raise KeyboardInterrupt  # stands for the power going away

    vaultcrypt.Cipher.derive = cut
    try:
        mptest.raises(KeyboardInterrupt, p.enter, "4321")
    finally:
        vaultcrypt.Cipher.derive = real
    assert pin.Pin(vault.Vault(d), d, t).failures == 1
    fsutil.rmtree(d)


def test_the_tenth_wrong_pin_in_a_row_wipes_everything():
    d, v = _vault(3)
    t = Clock()
    pin.Pin(v, d, t).set("8642")
    w = vault.Vault(d)
    p = pin.Pin(w, d, t)
    for i in range(9):
        assert p.enter("1111") == pin.WRONG, i
        assert p.tries_left == 9 - i
        t.t += 3600
    # A reset between tries changes nothing.
    p = pin.Pin(vault.Vault(d), d, t)
    assert p.failures == 9 and p.tries_left == 1
    assert p.wait_s() == 256  # the delay starts again in full at boot
    assert p.enter("1111") == pin.WAIT
    t.t += 256
    assert p.enter("1111") == pin.WIPED
    import os

    assert sorted(os.listdir(d)) == [], os.listdir(d)  # no vault copy, no counter
    fresh = vault.Vault(d)
    assert fresh.count == 0 and not fresh.protected and fresh.unlocked
    assert pin.Pin(fresh, d, t).failures == 0
    fsutil.rmtree(d)


def test_a_right_pin_resets_the_count():
    d, v = _vault(1)
    t = Clock()
    p = pin.Pin(v, d, t)
    p.set("5555")
    p.lock()
    for _ in range(9):
        assert p.enter("1234") == pin.WRONG
        t.t += 3600
    assert p.enter("5555") == pin.RIGHT
    p.lock()
    t.t += 1
    assert p.enter("1234") == pin.WRONG
    assert p.failures == 1 and v.count == 1
    fsutil.rmtree(d)


def test_wipe_keeps_the_pin_factory_wipe_does_not():
    d, v = _vault(2)
    t = Clock()
    p = pin.Pin(v, d, t)
    p.set("9999")
    p.lock()
    v.wipe()  # no key needed: nothing is decrypted
    assert v.count == 0 and v.protected
    w = vault.Vault(d)
    assert w.protected and w.count == 0
    for secret in SECRETS[:2]:
        assert secret not in _files(d)
    q = pin.Pin(w, d, t)
    assert q.enter("9999") == pin.RIGHT
    w.add("A", "b", SEED20)
    w.wipe(keep_pin=False)
    pin.erase(d)
    import os

    assert os.listdir(d) == []
    assert not vault.Vault(d).protected
    fsutil.rmtree(d)


def test_factory_wipe_needs_no_pin_and_forgets_the_count():
    # What factory reset calls (token.pin.wipe()): from a locked vault with wrong PINs
    # counted, everything goes, on flash and in RAM.
    d, v = _vault(3)
    t = Clock()
    pin.Pin(v, d, t).set("2580")
    w = vault.Vault(d)
    p = pin.Pin(w, d, t)
    assert p.enter("0000") == pin.WRONG
    p.wipe()
    import os

    assert os.listdir(d) == [] and p.failures == 0 and not p.required
    assert w.count == 0 and not w.protected
    p.set("1111")  # a new PIN starts with a clean count
    assert p.failures == 0 and p.tries_left == 10
    fsutil.rmtree(d)


def test_a_reload_with_another_pin_block_locks():
    # Another PIN on flash (set through another Vault object) must not be opened with the
    # keys of the old one; the same block reloaded keeps the vault unlocked.
    d, v = _vault(1)
    t = Clock()
    pin.Pin(v, d, t).set("1234")
    v.load()
    assert v.unlocked
    other = vault.Vault(d)
    pin.Pin(other, d, t).set("5678", "1234")
    v.load()
    assert v.protected and not v.unlocked
    fsutil.rmtree(d)


def teardown_function():
    fsutil.cleanup()


if __name__ == "__main__":
    mptest.main(globals())
