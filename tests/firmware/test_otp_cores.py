# Firmware tests of the viper hash cores (hmac_sha1, hmac_sha256, hmac_sha512) through
# hmac_fast: whole-message digests against FIPS 180-4 examples and CPython hashlib at the
# padding boundaries, and the HMAC key state against a textbook HMAC built from those digests.
import hmac_fast
import hmac_sha1
import hmac_sha256
import hmac_sha512
import mptest

CORES = {"sha1": hmac_sha1, "sha256": hmac_sha256, "sha512": hmac_sha512}

# FIPS 180-4 examples: "abc" and the two-block messages (448 bits for SHA1/SHA256, 896 for
# SHA512).
MSG448 = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
MSG896 = (
    b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
    b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
)
FIPS = (
    ("sha1", b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("sha1", MSG448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
    ("sha256", b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("sha256", MSG448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    (
        "sha512",
        b"abc",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ),
    (
        "sha512",
        MSG896,
        "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
        "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909",
    ),
)

# CPython hashlib.<algorithm>(bytes(i & 255 for i in range(n))).hexdigest()[:16] for lengths
# around the padding boundaries of each block size.
BOUNDARIES = {
    "sha1": (
        (0, "da39a3ee5e6b4b0d"),
        (55, "8ae2d46729cfe68f"),
        (56, "636e2ec698dac903"),
        (63, "6d942da0c4392b12"),
        (64, "c6138d514ffa2135"),
        (65, "69bd728ad6e13cd7"),
        (119, "41c89d06001bab4a"),
        (120, "d3dbd653bd8597b7"),
        (128, "e6434bc401f98603"),
        (300, "bf77ecf143ceb21f"),
    ),
    "sha256": (
        (0, "e3b0c44298fc1c14"),
        (55, "463eb28e72f82e0a"),
        (56, "da2ae4d6b36748f2"),
        (63, "29af2686fd53374a"),
        (64, "fdeab9acf3710362"),
        (65, "4bfd2c8b6f1eec7a"),
        (119, "da18797ed7c3a777"),
        (120, "f52b23db1fbb6ded"),
        (128, "471fb943aa23c511"),
        (300, "7728ae2f2c36e2aa"),
    ),
    "sha512": (
        (0, "cf83e1357eefb8bd"),
        (111, "a1a111449b198d9b"),
        (112, "c5fbd731d19d2ae1"),
        (127, "eab89674feaa34e2"),
        (128, "1dffd5e3adb71d45"),
        (129, "1d9da57fbbdab09a"),
        (239, "cb4c7fd522756d57"),
        (240, "6c48466c9f6c07e4"),
        (256, "1e7b80bc8edc552c"),
        (300, "f1dca2eb677b3032"),
    ),
}


def test_fips_examples():
    for algorithm, message, hexdigest in FIPS:
        got = hmac_fast.digest(CORES[algorithm], message).hex()
        assert got == hexdigest, (algorithm, len(message), got)


def test_padding_boundaries():
    for algorithm, cases in BOUNDARIES.items():
        for n, prefix in cases:
            data = bytes(i & 255 for i in range(n))
            got = hmac_fast.digest(CORES[algorithm], data).hex()[:16]
            assert got == prefix, (algorithm, n, got)


def _textbook_hotp(algorithm, key, counter):
    # RFC 2104 from whole-message digests (checked above), RFC 4226 truncation, 8 digits.
    core = CORES[algorithm]
    if len(key) > core.BLOCK:
        key = hmac_fast.digest(core, key)
    key = key + bytes(core.BLOCK - len(key))
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    inner = hmac_fast.digest(core, ipad + counter.to_bytes(8, "big"))
    mac = hmac_fast.digest(core, opad + inner)
    o = mac[-1] & 15
    return (int.from_bytes(mac[o : o + 4], "big") & 0x7FFFFFFF) % 10**8


def test_run_matches_textbook_hmac():
    # run() on the cached midstates equals the HMAC built the long way, for key lengths
    # around each block size and counters with either 32-bit half set.
    for algorithm, core in CORES.items():
        for n in (1, 20, core.BLOCK - 1, core.BLOCK, core.BLOCK + 1, 2 * core.BLOCK + 3):
            key = bytes((i * 13 + n) & 255 for i in range(n))
            st = hmac_fast.new(core, key, 10**8)
            for counter in (0, 1, 2**31 + 5, 2**32, 2**63 + 2**31, 2**64 - 1):
                want = _textbook_hotp(algorithm, key, counter)
                got = core.run(st, counter & 0xFFFFFFFF, counter >> 32, 0)
                assert got == want, (algorithm, n, counter)


def test_key_state_layout():
    # Inner midstate, outer midstate, code modulus: 2 * WORDS + 1 words.
    for algorithm, core in CORES.items():
        st = hmac_fast.new(core, b"k", 1000000)
        assert len(st) == 2 * core.WORDS + 1, algorithm
        assert st[2 * core.WORDS] == 1000000, algorithm


def test_run_takes_days_and_seconds_for_totp():
    # run(st, days, second, q) computes the step (days * 86400 + second) // (86400 // q)
    # itself, beyond 2**32 too (a 47-bit step at 2**30 - 1 days), and refuses what is out of
    # range.
    for algorithm, core in CORES.items():
        st = hmac_fast.new(core, b"key", 10**8)
        for period in (1, 2, 15, 30, 60, 3600, 86400):
            q = 86400 // period
            for days in (0, 1, 20833, 32767, 32768, 2932896, 2**30 - 1):
                for sod in (0, period - 1, 43200, 86399):
                    step = (days * 86400 + sod) // period
                    want = core.run(st, step & 0xFFFFFFFF, step >> 32, 0)
                    assert core.run(st, days, sod, q) == want, (algorithm, period, days, sod)
            for days, sod in ((0, 86400), (0, -1), (-1, 0), (2**30, 0), (2**31 + 5, 0)):
                mptest.raises(ValueError, core.run, st, days, sod, q)


if __name__ == "__main__":
    mptest.main(globals())
