# HMAC-SHA256 HOTP in viper: two SHA256 compressions per code, no heap allocation.
#
# The same design as hmac_sha1.py (read its header for the word-size rules): a key keeps its
# HMAC inner and outer midstates (8 + 8 words, made by hmac_fast.new); the 64 round constants
# and the 16-word message schedule ring are in one scratch array shared by all keys. run()
# builds the counter block and the inner-digest block in the ring, so a code allocates
# nothing and works under micropython.heap_lock().
#
# Word size: the words shifted right are `a` and `e` (and schedule words, which load clean
# from the ring), so those two are masked to 32 bits each round on a 64-bit port.

from array import array

import micropython
from micropython import const

RING = const(64)  # scratch word offset of the 16-word message ring; round constants at 0
WORDS = const(8)  # state words; a key's outer midstate starts here
_MOD = const(16)  # in a key's state array: the code modulus (2 * WORDS)
BLOCK = const(64)
_SCRATCH_WORDS = const(80)

IV = (
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
)  # fmt: skip

_scratch = None


@micropython.viper
def run(sc: ptr32, st: ptr32, hi: uint, lo: uint) -> int:
    # sc: the scratch array, st: a key's state array (see hmac_fast.py for the modes).
    mod = int(st[_MOD])
    mask = (uint(0xFFFF) << 16) | uint(0xFFFF)
    w = ptr32(uint(sc) + RING * 4)
    if mod == 0:
        s = ptr32(uint(st) + hi * 4)
        out = s
        passes = 1
    else:
        s = st
        out = w
        passes = 2
        w[0] = hi
        w[1] = lo
        w[2] = uint(1) << 31
        i = 3
        while i < 15:
            w[i] = 0
            i += 1
        w[15] = (BLOCK + 8) * 8  # message bit length: pad block + 8-byte counter
    while True:
        a = uint(s[0])
        b = uint(s[1])
        c = uint(s[2])
        d = uint(s[3])
        e = uint(s[4])
        f = uint(s[5])
        g = uint(s[6])
        h = uint(s[7])
        i = 0
        while i < 64:
            j = i & 15
            if i < 16:
                x = uint(w[j])
            else:
                # Extend the message schedule in the 16-word ring.
                x = uint(w[(i - 15) & 15])
                y = uint(w[(i - 2) & 15])
                x = (
                    uint(w[j])
                    + uint(w[(i - 7) & 15])
                    + (((x >> 7) | (x << 25)) ^ ((x >> 18) | (x << 14)) ^ (x >> 3))
                    + (((y >> 17) | (y << 15)) ^ ((y >> 19) | (y << 13)) ^ (y >> 10))
                )
                w[j] = x
            t = (
                h
                + (((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7)))
                + (g ^ (e & (f ^ g)))
                + uint(sc[i])
                + x
            )
            h = g
            g = f
            f = e
            e = (d + t) & mask
            d = c
            c = b
            b = a
            a = (
                t
                + (((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10)))
                + ((a & c) | (d & (a | c)))
            ) & mask
            i += 1
        # After the inner pass the digest is the outer message block; after the outer pass it
        # is the MAC to truncate. In key setup it is the new midstate.
        out[0] = uint(s[0]) + a
        out[1] = uint(s[1]) + b
        out[2] = uint(s[2]) + c
        out[3] = uint(s[3]) + d
        out[4] = uint(s[4]) + e
        out[5] = uint(s[5]) + f
        out[6] = uint(s[6]) + g
        out[7] = uint(s[7]) + h
        passes -= 1
        if passes == 0:
            break
        w[8] = uint(1) << 31
        i = 9
        while i < 15:
            w[i] = 0
            i += 1
        w[15] = (BLOCK + 32) * 8  # pad block + 32-byte inner digest
        s = ptr32(uint(st) + WORDS * 4)
    if mod == 0:
        return 0
    # Dynamic truncation (RFC 4226 5.3): 4 bytes at offset (last byte & 15) of the big-endian
    # digest, top bit cleared.
    o = int(uint(w[7]) & 15)
    j = o >> 2
    r = (o & 3) << 3
    v = uint(w[j])
    if r:
        v = (v << r) | (uint(w[j + 1]) >> (32 - r))
    v &= mask >> 1
    return int(v) % mod


def scratch():
    """The scratch array shared by all keys, made on first use."""
    global _scratch
    if _scratch is None:
        # Round constants: the first 32 bits of the fractional parts of the cube roots of the
        # first 64 primes (FIPS 180-4 4.2.2).
        sc = array("I", bytes(4 * _SCRATCH_WORDS))
        for i, k in enumerate((
            0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4,
            0xAB1C5ED5, 0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE,
            0x9BDC06A7, 0xC19BF174, 0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F,
            0x4A7484AA, 0x5CB0A9DC, 0x76F988DA, 0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7,
            0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967, 0x27B70A85, 0x2E1B2138, 0x4D2C6DFC,
            0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85, 0xA2BFE8A1, 0xA81A664B,
            0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070, 0x19A4C116,
            0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
            0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7,
            0xC67178F2,
        )):  # fmt: skip
            sc[i] = k
        _scratch = sc
    return _scratch
