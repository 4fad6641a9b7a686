# HMAC-SHA1 HOTP in viper: two SHA1 compressions per code, no heap allocation.
#
# Used by otp.Key for SHA1 keys; otp.py falls back to hashlib when this module cannot be
# compiled (a port built without the native emitters raises SyntaxError on import).
#
# Each key keeps only its HMAC inner and outer midstates (SHA1 state after the key XOR ipad /
# opad block, computed once by hmac_fast.new()): 10 words in an array('I'). The round
# constants and the 16-word message schedule ring are in one scratch array shared by all keys
# (scratch()): run() never yields, so no two codes are ever computed at once. hmac_sha256.py
# and hmac_sha512.py follow the same design and the same interface (see hmac_fast.py).
# A code costs:
#   compress(inner midstate, counter block)   -> inner digest, written straight into the ring
#   compress(outer midstate, digest block)    -> MAC, truncated as RFC 4226 says
# Both blocks are built in place: nothing is allocated, so codes can be computed under
# micropython.heap_lock().
#
# Word size. The same code must be right with 32-bit machine words (ESP32) and 64-bit (unix):
# - no literal >= 2**30 inside viper (it would be an object on a 32-bit target and the code
#   would not compile): round constants and the IV live in the scratch array; 0x80000000 is
#   built as uint(1) << 31 and the 32-bit mask as (0xFFFF << 16) | 0xFFFF.
# - ptr32 loads are signed on a 32-bit target: every load is cast with uint() before a >>.
# - on 64-bit, << and + leave garbage above bit 31, harmless except where a right shift
#   brings it down. The words shifted right are `a` and `b` (last round's `a`), so `a` is
#   masked each round; the rest is truncated by the 32-bit stores, and ring words load clean.
#   On 32-bit the mask is all ones and costs one AND.

from array import array

import micropython
from micropython import const

RING = const(16)  # scratch word offset of the 16-word message ring; round constants at 0
WORDS = const(5)  # state words; a key's outer midstate starts here
BLOCK = const(64)
_SCRATCH_WORDS = const(32)

IV = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)

_scratch = None


@micropython.viper
def run(st: ptr32, sc: ptr32, hi: uint, lo: uint, mod: int) -> int:
    # st: a key's midstates, sc: the scratch array.
    # mod > 0: HOTP for the counter (hi << 32) + lo (each below 2**32), returns the code mod
    # `mod`. otp.Key.hotp splits the counter without allocating while it is a small int.
    # mod == 0: key setup: fold the block already in the ring into the state at st[hi:].
    mask = (uint(0xFFFF) << 16) | uint(0xFFFF)
    w = ptr32(uint(sc) + RING * 4)
    if mod == 0:
        h = ptr32(uint(st) + hi * 4)
        passes = 1
    else:
        h = st
        passes = 2
        w[0] = hi
        w[1] = lo
        w[2] = uint(1) << 31
        i = 3
        while i < 15:
            w[i] = 0
            i += 1
        w[15] = (BLOCK + 8) * 8  # message bit length: pad block + 8-byte counter
    k0 = uint(sc[0])
    k1 = uint(sc[1])
    k2 = uint(sc[2])
    k3 = uint(sc[3])
    while True:
        a = uint(h[0])
        b = uint(h[1])
        c = uint(h[2])
        d = uint(h[3])
        e = uint(h[4])
        # 80 rounds in four loops, one per round function (no per-round dispatch). From
        # round 16 on, each round first extends the message schedule in the 16-word ring.
        i = 0
        while i < 16:
            t = (d ^ (b & (c ^ d))) + k0 + ((a << 5) | (a >> 27)) + e + uint(w[i])
            e = d
            d = c
            c = (b << 30) | (b >> 2)
            b = a
            a = t & mask
            i += 1
        while i < 20:
            j = i & 15
            x = uint(w[(i - 3) & 15]) ^ uint(w[(i - 8) & 15]) ^ uint(w[(i - 14) & 15]) ^ uint(w[j])
            x = (x << 1) | (x >> 31)
            w[j] = x
            t = (d ^ (b & (c ^ d))) + k0 + ((a << 5) | (a >> 27)) + e + x
            e = d
            d = c
            c = (b << 30) | (b >> 2)
            b = a
            a = t & mask
            i += 1
        while i < 40:
            j = i & 15
            x = uint(w[(i - 3) & 15]) ^ uint(w[(i - 8) & 15]) ^ uint(w[(i - 14) & 15]) ^ uint(w[j])
            x = (x << 1) | (x >> 31)
            w[j] = x
            t = (b ^ c ^ d) + k1 + ((a << 5) | (a >> 27)) + e + x
            e = d
            d = c
            c = (b << 30) | (b >> 2)
            b = a
            a = t & mask
            i += 1
        while i < 60:
            j = i & 15
            x = uint(w[(i - 3) & 15]) ^ uint(w[(i - 8) & 15]) ^ uint(w[(i - 14) & 15]) ^ uint(w[j])
            x = (x << 1) | (x >> 31)
            w[j] = x
            t = ((b & c) | (d & (b | c))) + k2 + ((a << 5) | (a >> 27)) + e + x
            e = d
            d = c
            c = (b << 30) | (b >> 2)
            b = a
            a = t & mask
            i += 1
        while i < 80:
            j = i & 15
            x = uint(w[(i - 3) & 15]) ^ uint(w[(i - 8) & 15]) ^ uint(w[(i - 14) & 15]) ^ uint(w[j])
            x = (x << 1) | (x >> 31)
            w[j] = x
            t = (b ^ c ^ d) + k3 + ((a << 5) | (a >> 27)) + e + x
            e = d
            d = c
            c = (b << 30) | (b >> 2)
            b = a
            a = t & mask
            i += 1
        if mod == 0:
            h[0] = uint(h[0]) + a
            h[1] = uint(h[1]) + b
            h[2] = uint(h[2]) + c
            h[3] = uint(h[3]) + d
            h[4] = uint(h[4]) + e
            return 0
        # The digest goes into the ring: after the inner pass it is the outer message block,
        # after the outer pass it is the MAC to truncate.
        w[0] = uint(h[0]) + a
        w[1] = uint(h[1]) + b
        w[2] = uint(h[2]) + c
        w[3] = uint(h[3]) + d
        w[4] = uint(h[4]) + e
        passes -= 1
        if passes == 0:
            break
        w[5] = uint(1) << 31
        i = 6
        while i < 15:
            w[i] = 0
            i += 1
        w[15] = (BLOCK + 20) * 8  # pad block + 20-byte inner digest
        h = ptr32(uint(st) + WORDS * 4)
    # Dynamic truncation (RFC 4226 5.3): 4 bytes at offset (last byte & 15) of the big-endian
    # digest, top bit cleared.
    o = int(uint(w[4]) & 15)
    j = o >> 2
    s = (o & 3) << 3
    v = uint(w[j])
    if s:
        v = (v << s) | (uint(w[j + 1]) >> (32 - s))
    v &= mask >> 1
    return int(v) % mod


def scratch():
    """The scratch array shared by all keys, made on first use."""
    global _scratch
    if _scratch is None:
        sc = array("I", bytes(4 * _SCRATCH_WORDS))
        sc[0] = 0x5A827999
        sc[1] = 0x6ED9EBA1
        sc[2] = 0x8F1BBCDC
        sc[3] = 0xCA62C1D6
        _scratch = sc
    return _scratch
