# HMAC-SHA1 HOTP in viper: two SHA1 compressions per code, no heap allocation.
#
# Used by otp.Key for SHA1 keys; otp.py falls back to hashlib when this module cannot be
# compiled (a port built without the native emitters raises SyntaxError on import).
#
# A key's state is one array('I') of _WORDS 32-bit words (see new()): the HMAC inner and outer
# midstates (SHA1 state after the key XOR ipad / opad block, computed once per key), the round
# constants, the SHA1 IV and a 16-word message schedule ring. A code then costs:
#   compress(inner midstate, counter block)   -> inner digest, written straight into the ring
#   compress(outer midstate, digest block)    -> MAC, truncated as RFC 4226 says
# Both blocks are built in place: nothing is allocated, so codes can be computed under
# micropython.heap_lock().
#
# Word size. The same code must be right with 32-bit machine words (ESP32) and 64-bit (unix):
# - no literal >= 2**30 inside viper (it would be an object on a 32-bit target and the code
#   would not compile): round constants and the IV live in the state array; 0x80000000 is
#   built as uint(1) << 31 and the 32-bit mask as (0xFFFF << 16) | 0xFFFF.
# - ptr32 loads are signed on a 32-bit target: every load is cast with uint() before a >>.
# - on 64-bit, << and + leave garbage above bit 31, harmless except where a right shift
#   brings it down. The words shifted right are `a` and `b` (last round's `a`), so `a` is
#   masked each round; the rest is truncated by the 32-bit stores, and ring words load clean.
#   On 32-bit the mask is all ones and costs one AND.

from array import array

import micropython
from micropython import const

_HI = const(0)  # inner midstate, 5 words
_HO = const(5)  # outer midstate, 5 words
_K = const(10)  # round constants, 4 words
_IV = const(14)  # SHA1 initial state, 5 words
_W = const(20)  # message schedule ring, 16 words
_WORDS = const(36)

_BLOCK = const(64)


@micropython.viper
def run(st: ptr32, hi: uint, lo: uint, mod: int) -> int:
    # mod > 0: HOTP for the counter (hi << 32) + lo (each below 2**32), returns the code mod
    # `mod`. otp.Key.hotp splits the counter without allocating while it is a small int.
    # mod == 0: key setup: compress the block already in the ring from the IV into slot `hi`.
    mask = (uint(0xFFFF) << 16) | uint(0xFFFF)
    w = ptr32(uint(st) + _W * 4)
    if mod == 0:
        base = _IV
        passes = 1
    else:
        base = _HI
        passes = 2
        w[0] = hi
        w[1] = lo
        w[2] = uint(1) << 31
        i = 3
        while i < 15:
            w[i] = 0
            i += 1
        w[15] = (_BLOCK + 8) * 8  # message bit length: pad block + 8-byte counter
    k0 = uint(st[_K])
    k1 = uint(st[_K + 1])
    k2 = uint(st[_K + 2])
    k3 = uint(st[_K + 3])
    while True:
        a = uint(st[base])
        b = uint(st[base + 1])
        c = uint(st[base + 2])
        d = uint(st[base + 3])
        e = uint(st[base + 4])
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
            st[hi] = uint(st[base]) + a
            st[hi + 1] = uint(st[base + 1]) + b
            st[hi + 2] = uint(st[base + 2]) + c
            st[hi + 3] = uint(st[base + 3]) + d
            st[hi + 4] = uint(st[base + 4]) + e
            return 0
        # The digest goes into the ring: after the inner pass it is the outer message block,
        # after the outer pass it is the MAC to truncate.
        w[0] = uint(st[base]) + a
        w[1] = uint(st[base + 1]) + b
        w[2] = uint(st[base + 2]) + c
        w[3] = uint(st[base + 3]) + d
        w[4] = uint(st[base + 4]) + e
        passes -= 1
        if passes == 0:
            break
        w[5] = uint(1) << 31
        i = 6
        while i < 15:
            w[i] = 0
            i += 1
        w[15] = (_BLOCK + 20) * 8  # pad block + 20-byte inner digest
        base = _HO
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


def new(key):
    """State array for a key already hashed to at most 64 bytes (RFC 2104)."""
    st = array("I", [0] * _WORDS)
    st[_K] = 0x5A827999
    st[_K + 1] = 0x6ED9EBA1
    st[_K + 2] = 0x8F1BBCDC
    st[_K + 3] = 0xCA62C1D6
    st[_IV] = 0x67452301
    st[_IV + 1] = 0xEFCDAB89
    st[_IV + 2] = 0x98BADCFE
    st[_IV + 3] = 0x10325476
    st[_IV + 4] = 0xC3D2E1F0
    for slot, pad in ((_HI, 0x36), (_HO, 0x5C)):
        for i in range(16):
            word = 0
            for j in range(4 * i, 4 * i + 4):
                word = (word << 8) | ((key[j] if j < len(key) else 0) ^ pad)
            st[_W + i] = word
        run(st, slot, 0, 0)
    return st

