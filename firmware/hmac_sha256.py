# HMAC-SHA256 HOTP in viper: two SHA256 compressions per code, no heap allocation.
#
# The same design as hmac_sha1.py (read its header for the word-size rules and the speed
# choices): a key keeps its HMAC inner and outer midstates (8 + 8 words, made by
# hmac_fast.new) and its code modulus; the 64-word message schedule and the 64 round constants
# are in one scratch array shared by all keys. run() builds the counter block and the
# inner-digest block there, so a code allocates nothing and works under heap_lock().
#
# Speed: the schedule is expanded first; the rounds run eight at a time with the variables
# renamed instead of moved (round i adds into d and h; round i + 1 sees h as `a`, d as `e`),
# and the pointer p steps over the schedule, the constants sitting at p[64 + j].
#
# Word size: the words shifted right are `a` and `e`, so each round's two new words (the new
# `a` and `e`) are masked to 32 bits on a 64-bit port; schedule words load clean.

from array import array

import micropython
from micropython import const

RING = const(0)  # scratch word offset of the message block / 64-word schedule
WORDS = const(8)  # state words; a key's outer midstate starts here
_MOD = const(16)  # in a key's state array: the code modulus (2 * WORDS)
_DAY = const(86400)
BLOCK = const(64)
_K = const(64)  # round constants, 64 words
_SCRATCH_WORDS = const(128)

IV = (  # big-endian words: no big-int objects
    b"\x6a\x09\xe6\x67\xbb\x67\xae\x85\x3c\x6e\xf3\x72\xa5\x4f\xf5\x3a"
    b"\x51\x0e\x52\x7f\x9b\x05\x68\x8c\x1f\x83\xd9\xab\x5b\xe0\xcd\x19"
)


@micropython.viper
def run(p: ptr32, x: uint, hi: uint, q: uint) -> int:
    # p: a key's state array (st from here on), then the scratch array, this module's global;
    # counter (hi << 32) + x, or with q the TOTP step of day x, second hi (see hmac_fast.py
    # for the modes). Viper keeps only the first two locals in registers, the first two
    # parameters: p, which also walks the schedule and the round groups (stepped back after
    # each walk), and x, the counter's low word and then the work word of every step.
    st = p
    p = ptr32(_scratch)
    mod = int(st[_MOD])
    mask = (uint(0xFFFF) << 16) | uint(0xFFFF)
    if q:
        # TOTP at day x, second hi of the day, period 86400 // q: the step x * q + hi // period
        # as a 47-bit counter (hi, x), checked and computed here where it is cheap. x below
        # 2**30 is split at bit 15 so that each product fits 32 bits; on a 64-bit port the high
        # bits are just kept.
        if (x >> 30) or hi >= uint(_DAY):
            raise ValueError("days must be 0 .. 2**30 - 1 and second_of_day 0 .. 86399")
        stepa = (x >> 15) * q
        stepb = (x & 0x7FFF) * q + uint(int(hi) // (_DAY // int(q)))
        x = ((stepa << 15) + stepb) & mask
        hi = (stepa >> 17) + uint(x < stepb)
    if mod == 0:
        s = ptr32(uint(st) + hi * 4)
        passes = 1
    else:
        s = st
        passes = 2
        # The inner message block: counter, padding, bit length (pad block + 8 bytes).
        p[0] = hi
        p[1] = x
        p[2] = uint(1) << 31
        p[3] = 0
        p[4] = 0
        p[5] = 0
        p[6] = 0
        p[7] = 0
        p[8] = 0
        p[9] = 0
        p[10] = 0
        p[11] = 0
        p[12] = 0
        p[13] = 0
        p[14] = 0
        p[15] = (BLOCK + 8) * 8
    while True:
        # Message schedule, p at i - 16:
        # w[i] = s1(w[i-2]) + w[i-7] + s0(w[i-15]) + w[i-16],
        # s0 = rotr 7 ^ rotr 18 ^ shr 3, s1 = rotr 17 ^ rotr 19 ^ shr 10.
        i = 0
        while i < 48:
            x = uint(p[14])
            y = uint(p[1])
            p[16] = (
                uint(p[0])
                + uint(p[9])
                + (((x >> 17) | (x << 15)) ^ ((x >> 19) | (x << 13)) ^ (x >> 10))
                + (((y >> 7) | (y << 25)) ^ ((y >> 18) | (y << 14)) ^ (y >> 3))
            )
            x = uint(p[15])
            y = uint(p[2])
            p[17] = (
                uint(p[1])
                + uint(p[10])
                + (((x >> 17) | (x << 15)) ^ ((x >> 19) | (x << 13)) ^ (x >> 10))
                + (((y >> 7) | (y << 25)) ^ ((y >> 18) | (y << 14)) ^ (y >> 3))
            )
            p = ptr32(uint(p) + 8)
            i += 2
        p = ptr32(uint(p) - 192)
        a = uint(s[0])
        b = uint(s[1])
        c = uint(s[2])
        d = uint(s[3])
        e = uint(s[4])
        f = uint(s[5])
        g = uint(s[6])
        h = uint(s[7])
        n = 0  # group: rounds 8n .. 8n+7, schedule words at p[0:8], constants at p[64:72]
        while n < 8:
            x = (
                (((f ^ g) & e) ^ g)
                + h
                + uint(p[0])
                + uint(p[64])
                + (((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7)))
            )
            d = (d + x) & mask
            h = (
                (((a | b) & c) | (a & b))
                + x
                + (((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10)))
            ) & mask
            x = (
                (((e ^ f) & d) ^ f)
                + g
                + uint(p[1])
                + uint(p[65])
                + (((d >> 6) | (d << 26)) ^ ((d >> 11) | (d << 21)) ^ ((d >> 25) | (d << 7)))
            )
            c = (c + x) & mask
            g = (
                (((h | a) & b) | (h & a))
                + x
                + (((h >> 2) | (h << 30)) ^ ((h >> 13) | (h << 19)) ^ ((h >> 22) | (h << 10)))
            ) & mask
            x = (
                (((d ^ e) & c) ^ e)
                + f
                + uint(p[2])
                + uint(p[66])
                + (((c >> 6) | (c << 26)) ^ ((c >> 11) | (c << 21)) ^ ((c >> 25) | (c << 7)))
            )
            b = (b + x) & mask
            f = (
                (((g | h) & a) | (g & h))
                + x
                + (((g >> 2) | (g << 30)) ^ ((g >> 13) | (g << 19)) ^ ((g >> 22) | (g << 10)))
            ) & mask
            x = (
                (((c ^ d) & b) ^ d)
                + e
                + uint(p[3])
                + uint(p[67])
                + (((b >> 6) | (b << 26)) ^ ((b >> 11) | (b << 21)) ^ ((b >> 25) | (b << 7)))
            )
            a = (a + x) & mask
            e = (
                (((f | g) & h) | (f & g))
                + x
                + (((f >> 2) | (f << 30)) ^ ((f >> 13) | (f << 19)) ^ ((f >> 22) | (f << 10)))
            ) & mask
            x = (
                (((b ^ c) & a) ^ c)
                + d
                + uint(p[4])
                + uint(p[68])
                + (((a >> 6) | (a << 26)) ^ ((a >> 11) | (a << 21)) ^ ((a >> 25) | (a << 7)))
            )
            h = (h + x) & mask
            d = (
                (((e | f) & g) | (e & f))
                + x
                + (((e >> 2) | (e << 30)) ^ ((e >> 13) | (e << 19)) ^ ((e >> 22) | (e << 10)))
            ) & mask
            x = (
                (((a ^ b) & h) ^ b)
                + c
                + uint(p[5])
                + uint(p[69])
                + (((h >> 6) | (h << 26)) ^ ((h >> 11) | (h << 21)) ^ ((h >> 25) | (h << 7)))
            )
            g = (g + x) & mask
            c = (
                (((d | e) & f) | (d & e))
                + x
                + (((d >> 2) | (d << 30)) ^ ((d >> 13) | (d << 19)) ^ ((d >> 22) | (d << 10)))
            ) & mask
            x = (
                (((h ^ a) & g) ^ a)
                + b
                + uint(p[6])
                + uint(p[70])
                + (((g >> 6) | (g << 26)) ^ ((g >> 11) | (g << 21)) ^ ((g >> 25) | (g << 7)))
            )
            f = (f + x) & mask
            b = (
                (((c | d) & e) | (c & d))
                + x
                + (((c >> 2) | (c << 30)) ^ ((c >> 13) | (c << 19)) ^ ((c >> 22) | (c << 10)))
            ) & mask
            x = (
                (((g ^ h) & f) ^ h)
                + a
                + uint(p[7])
                + uint(p[71])
                + (((f >> 6) | (f << 26)) ^ ((f >> 11) | (f << 21)) ^ ((f >> 25) | (f << 7)))
            )
            e = (e + x) & mask
            a = (
                (((b | c) & d) | (b & c))
                + x
                + (((b >> 2) | (b << 30)) ^ ((b >> 13) | (b << 19)) ^ ((b >> 22) | (b << 10)))
            ) & mask
            p = ptr32(uint(p) + 32)
            n += 1
        p = ptr32(uint(p) - 256)
        # After the inner pass the digest is the outer message block; after the outer pass it
        # is the MAC to truncate. In key setup it is the new midstate.
        out = s if mod == 0 else p
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
        # Outer block padding and bit length (pad block + 32-byte inner digest).
        p[8] = uint(1) << 31
        p[9] = 0
        p[10] = 0
        p[11] = 0
        p[12] = 0
        p[13] = 0
        p[14] = 0
        p[15] = (BLOCK + 32) * 8
        s = ptr32(uint(s) + WORDS * 4)
    if mod == 0:
        return 0
    # Dynamic truncation (RFC 4226 5.3): 4 bytes at offset (last byte & 15) of the big-endian
    # digest, top bit cleared.
    o = int(uint(p[7]) & 15)
    j = o >> 2
    r = (o & 3) << 3
    v = uint(p[j])
    if r:
        v = (v << r) | (uint(p[j + 1]) >> (32 - r))
    v &= mask >> 1
    return int(v) % mod


def _make_scratch():
    # Round constants: the first 32 bits of the fractional parts of the cube roots of the first 64
    # primes (FIPS 180-4 4.2.2). Big-endian bytes: a literal of 2**30 or more is a heap object on a
    # 32-bit port, kept as long as the module (as int literals these cost 1,792 bytes more heap,
    # RV32), and bytes are half the size of hex text (import on the 32-bit build, .mpy: 1,936 ->
    # 1,680 bytes of heap).
    sc = array("I", bytes(4 * _SCRATCH_WORDS))
    k = (
        b"\x42\x8a\x2f\x98\x71\x37\x44\x91\xb5\xc0\xfb\xcf\xe9\xb5\xdb\xa5"
        b"\x39\x56\xc2\x5b\x59\xf1\x11\xf1\x92\x3f\x82\xa4\xab\x1c\x5e\xd5"
        b"\xd8\x07\xaa\x98\x12\x83\x5b\x01\x24\x31\x85\xbe\x55\x0c\x7d\xc3"
        b"\x72\xbe\x5d\x74\x80\xde\xb1\xfe\x9b\xdc\x06\xa7\xc1\x9b\xf1\x74"
        b"\xe4\x9b\x69\xc1\xef\xbe\x47\x86\x0f\xc1\x9d\xc6\x24\x0c\xa1\xcc"
        b"\x2d\xe9\x2c\x6f\x4a\x74\x84\xaa\x5c\xb0\xa9\xdc\x76\xf9\x88\xda"
        b"\x98\x3e\x51\x52\xa8\x31\xc6\x6d\xb0\x03\x27\xc8\xbf\x59\x7f\xc7"
        b"\xc6\xe0\x0b\xf3\xd5\xa7\x91\x47\x06\xca\x63\x51\x14\x29\x29\x67"
        b"\x27\xb7\x0a\x85\x2e\x1b\x21\x38\x4d\x2c\x6d\xfc\x53\x38\x0d\x13"
        b"\x65\x0a\x73\x54\x76\x6a\x0a\xbb\x81\xc2\xc9\x2e\x92\x72\x2c\x85"
        b"\xa2\xbf\xe8\xa1\xa8\x1a\x66\x4b\xc2\x4b\x8b\x70\xc7\x6c\x51\xa3"
        b"\xd1\x92\xe8\x19\xd6\x99\x06\x24\xf4\x0e\x35\x85\x10\x6a\xa0\x70"
        b"\x19\xa4\xc1\x16\x1e\x37\x6c\x08\x27\x48\x77\x4c\x34\xb0\xbc\xb5"
        b"\x39\x1c\x0c\xb3\x4e\xd8\xaa\x4a\x5b\x9c\xca\x4f\x68\x2e\x6f\xf3"
        b"\x74\x8f\x82\xee\x78\xa5\x63\x6f\x84\xc8\x78\x14\x8c\xc7\x02\x08"
        b"\x90\xbe\xff\xfa\xa4\x50\x6c\xeb\xbe\xf9\xa3\xf7\xc6\x71\x78\xf2"
    )
    for i in range(len(k) // 4):
        sc[_K + i] = int.from_bytes(k[4 * i : 4 * i + 4], "big")
    return sc


_scratch = _make_scratch()  # run() reads it as a global: made with the module
del _make_scratch  # its code and constants are not needed again: freed


def scratch():
    """The scratch array shared by all keys."""
    return _scratch
