# Firmware tests of firmware/sha512.py, the SHA-512 that neither port's hashlib has.
# Expected digests: FIPS 180-4 examples ("abc", the 112-byte two-block message), the empty
# message, and CPython hashlib for lengths around the padding boundaries.
import mptest
import sha512

FIPS = (
    (
        b"abc",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ),
    (
        b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
        b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
        "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
    ),
    (
        b"",
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
        "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
    ),
)

# CPython hashlib.sha512(bytes(i & 255 for i in range(n))), first 16 bytes.
BOUNDARIES = (
    (111, "a1a111449b198d9b1f538bad7f3fc102"),
    (112, "c5fbd731d19d2ae1180f001be72c2c1a"),
    (127, "eab89674feaa34e27aebeeff3c0a4d70"),
    (128, "1dffd5e3adb71d45d2245939665521ae"),
    (129, "1d9da57fbbdab09afb3506ab2d223d06"),
    (255, "15025c9d135861ff5a549df0bfd6c398"),
    (256, "1e7b80bc8edc552c8feeb2780e111477"),
)


def test_fips_examples():
    for message, hexdigest in FIPS:
        assert sha512.digest(message).hex() == hexdigest, len(message)


def test_padding_boundaries():
    for n, prefix in BOUNDARIES:
        data = bytes(i & 255 for i in range(n))
        assert sha512.digest(data).hex()[:32] == prefix, n


def test_midstate_then_finish_equals_one_pass():
    block = bytes((i * 5) & 255 for i in range(128))
    state = sha512.midstate(block)
    for tail in (b"", b"12345678", bytes(200)):
        assert sha512.finish(state, tail) == sha512.digest(block + tail), len(tail)
    # finish() leaves the midstate as it was: the same key serves every code.
    assert sha512.finish(state, b"x") == sha512.finish(state, b"x")


if __name__ == "__main__":
    mptest.main(globals())
