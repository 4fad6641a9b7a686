# vaultcrypt: PBKDF2-HMAC-SHA256 over the viper core against CPython's hashlib.pbkdf2_hmac,
# sealing and opening secrets (AES-256-CBC, encrypt-then-MAC), and what a changed blob does.
import mac
import micropython
import mptest
import vaultcrypt

# hashlib.pbkdf2_hmac("sha256", password, salt, iterations, 32).hex(), CPython 3.
PBKDF2 = (
    (b"password", b"salt", 1, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"),
    (b"password", b"salt", 2, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"),
    (
        b"password",
        b"salt",
        4096,
        "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
    ),
    (
        b"12345678",
        bytes(range(16)),
        2000,
        "af07ff9b52b7485c95bc4a3c15d904ad65ffc70620580dae4e6658a75cf3f04b",
    ),
    (b"0000", b"\xff" * 16, 3, "fcdad6cf30c18b8c60c0a48e4fe000a8e680d554ad653b5838c1c783e1862fdf"),
)
SALT = b"0123456789abcdef"


def test_pbkdf2_matches_cpython():
    import binascii

    for password, salt, n, want in PBKDF2:
        got = binascii.hexlify(vaultcrypt.pbkdf2(password, salt, n)).decode()
        assert got == want, (password, n, got)


def test_pbkdf2_iterations_allocate_nothing():
    # The loop itself (viper) runs under heap_lock: only the setup allocates.
    from array import array

    import hmac_fast
    import vaultkdf

    core = vaultkdf._core()
    st = hmac_fast.new(core, b"1234", 0)
    w = array("I", [1] * 8 + [0] * 9)
    t = array("I", [0] * 8)
    sc = core.scratch()
    micropython.heap_lock()
    try:
        vaultkdf._iterate(sc, st, w, t, 50)
    finally:
        micropython.heap_unlock()
    assert any(t)


def test_the_kdf_leaves_the_heap_after_a_derivation():
    import sys

    sys.modules.pop("hmac_sha256", None)
    vaultcrypt.pbkdf2(b"1234", SALT, 3)
    assert "vaultkdf" not in sys.modules and "hmac_sha256" not in sys.modules
    import hmac_sha256  # noqa: F401 - loaded before (an SHA256 account's code): it stays

    vaultcrypt.pbkdf2(b"1234", SALT, 3)
    assert "hmac_sha256" in sys.modules and "vaultkdf" not in sys.modules


def test_seal_and_open_round_trip_every_length():
    c = vaultcrypt.Cipher.derive(b"1234", SALT, 10)
    for n in (1, 15, 16, 17, 31, 32, 64, 100, 128):
        secret = bytes((i * 7 + n) & 0xFF for i in range(n))
        blob = c.seal(secret)
        assert len(blob) == 16 + (n // 16 + 1) * 16 + 16
        assert len(blob) <= n + vaultcrypt.OVERHEAD
        if n >= 8:  # a byte or two may turn up in random bytes by chance
            assert secret not in blob
        assert c.open(blob) == secret


def test_the_same_secret_seals_differently_each_time():
    c = vaultcrypt.Cipher.derive(b"1234", SALT, 10)
    assert c.seal(b"same secret") != c.seal(b"same secret")


def test_a_changed_blob_is_refused():
    c = vaultcrypt.Cipher.derive(b"1234", SALT, 10)
    blob = c.seal(b"12345678901234567890")
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0x01
        mptest.raises(ValueError, c.open, bytes(bad))
    mptest.raises(ValueError, c.open, blob[:-1])
    mptest.raises(ValueError, c.open, blob[:32])


def test_another_pin_or_salt_gives_another_check_and_cannot_open():
    c = vaultcrypt.Cipher.derive(b"1234", SALT, 10)
    blob = c.seal(b"secret")
    for other in (
        vaultcrypt.Cipher.derive(b"1235", SALT, 10),
        vaultcrypt.Cipher.derive(b"1234", b"0123456789abcdeF", 10),
        vaultcrypt.Cipher.derive(b"1234", SALT, 11),
    ):
        assert other.check != c.check
        mptest.raises(ValueError, other.open, blob)
    assert vaultcrypt.Cipher.derive(b"1234", SALT, 10).check == c.check
    assert len(c.check) == vaultcrypt.CHECK


def test_same_compares_whole_values():
    assert mac.same(b"abcd", b"abcd")
    assert not mac.same(b"abcd", b"abce")
    assert not mac.same(b"abcd", b"abc")


def test_new_salt_is_16_fresh_bytes():
    a = vaultcrypt.new_salt(b"host entropy")
    b = vaultcrypt.new_salt(b"host entropy")
    assert len(a) == 16 and a != b


if __name__ == "__main__":
    mptest.main(globals())
