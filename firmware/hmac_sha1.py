# HMAC-SHA1 HOTP in viper: two SHA1 compressions per code, no heap allocation.
#
# Used by otp.Key for SHA1 keys; otp.py falls back to hashlib when this module cannot be
# compiled (a port built without the native emitters raises SyntaxError on import).
#
# Each key keeps only its HMAC inner and outer midstates (SHA1 state after the key XOR ipad /
# opad block, computed once by hmac_fast.new()) and its code modulus: 11 words in an
# array('I'). The 80-word message schedule and the round constants are in one scratch array
# shared by all keys (scratch()): run() never yields, so no two codes are ever computed at
# once. hmac_sha256.py and hmac_sha512.py follow the same design and the same interface (see
# hmac_fast.py).
# A code costs:
#   compress(inner midstate, counter block)   -> inner digest, written straight into w[0:5]
#   compress(outer midstate, digest block)    -> MAC, truncated as RFC 4226 says
# Both blocks are built in place: nothing is allocated, so codes can be computed under
# micropython.heap_lock().
#
# Word size. The same code must be right with 32-bit machine words (ESP32) and 64-bit (unix):
# - no literal >= 2**30 inside viper (it would be an object on a 32-bit target and the code
#   would not compile): round constants live in the scratch array (the IV is used only by
#   hmac_fast's key setup, in Python); 0x80000000 is
#   built as uint(1) << 31 and the 32-bit mask as (0xFFFF << 16) | 0xFFFF.
# - ptr32 loads are signed on a 32-bit target: every load is cast with uint() before a >>.
# - on 64-bit, << and + leave garbage above bit 31, harmless except where a right shift
#   brings it down. Each round's new word is masked: it is shifted right in the next round
#   (rotl 5) and, still untouched, two rounds later (rotl 30). Bitwise functions and sums of
#   dirty words only spoil the bits above 31, which the next mask or 32-bit store drops;
#   schedule words load clean. On 32-bit the mask is all ones and costs one AND.
# - the TOTP step (see run) is split so that no product needs more than 32 bits.
#
# Speed (chosen by measurement: RV32 instruction counts, both unix ports). The schedule is
# expanded into all 80 words first, so every load in the rounds has a constant offset from a
# pointer stepped 5 words at a time; the rounds are unrolled five at a time, renaming the
# variables instead of moving them (e += ...; b = rotl30(b); then d += ... with e as `a`).
# One loop per 20-round stage: no branch per group (measured cheaper than sharing the parity
# body between rounds 20-39 and 60-79, at about 900 more bytes of code).
# Expressions are shaped for the viper emitter, which keeps a running value in one register
# and spills it around every operand that is itself an operation, except for the register
# locals p and x. So each round is two left-leaning chains with x, the work word, as the
# temporary: x = rotl5-part + e + k + w, then e = f(b, c, d) + x + rest-of-rotl5; and
# rotl30(b) is x = b << 30, b = (b >> 2) | x. The schedule's rotl1 is (x >> 31) + x + x
# (the carry out of bit 31 lands above it, dropped by the 32-bit store). On RV32 this cut
# 50 instructions a round to 46 and 25 a schedule word to 20 (a code: 13,100 -> 11,800).

from array import array

import micropython
from micropython import const

RING = const(0)  # scratch word offset of the message block / 80-word schedule
WORDS = const(5)  # state words; a key's outer midstate starts here
BLOCK = const(64)
_MOD = const(10)  # in a key's state array: the code modulus (2 * WORDS)
_DAY = const(86400)
_K = const(80)  # round constants, 4 words
_SCRATCH_WORDS = const(84)

IV = (  # big-endian words: no big-int objects
    b"\x67\x45\x23\x01\xef\xcd\xab\x89\x98\xba\xdc\xfe\x10\x32\x54\x76\xc3\xd2\xe1\xf0"
)


@micropython.viper
def run(p: ptr32, x: uint, hi: uint, q: uint) -> int:
    # p: a key's state array (h from here on); then the scratch array (its first 80 words are
    # the schedule), taken from this module's global.
    # Codes: the HOTP code for the counter (hi << 32) + x (each below 2**32), modulo the key's
    # h[_MOD]. otp's hotp() splits the counter without allocating while it is a small int.
    # With q: the TOTP code of day x, second hi, period 86400 // q (otp's totp_at()).
    # Key setup (h[_MOD] still 0): fold the block in scratch()[0:16] into the state at h[hi:].
    # Viper keeps only the first two locals in registers, and those are the first two
    # parameters: p, which walks the schedule and the round groups (it is stepped back after
    # each walk), and x, the counter's low word and then the schedule's work word.
    h = p
    p = ptr32(_scratch)
    mod = int(h[_MOD])
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
        h = ptr32(uint(h) + hi * 4)
        passes = 1
    else:
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
        # Message schedule: w[i] = rotl1(w[i-3] ^ w[i-8] ^ w[i-14] ^ w[i-16]), p at i - 16.
        i = 0
        while i < 64:  # eight words a step (a loop step costs as much as two XORs)
            x = uint(p[13]) ^ uint(p[8]) ^ uint(p[2]) ^ uint(p[0])
            p[16] = (x >> 31) + x + x
            x = uint(p[14]) ^ uint(p[9]) ^ uint(p[3]) ^ uint(p[1])
            p[17] = (x >> 31) + x + x
            x = uint(p[15]) ^ uint(p[10]) ^ uint(p[4]) ^ uint(p[2])
            p[18] = (x >> 31) + x + x
            x = uint(p[16]) ^ uint(p[11]) ^ uint(p[5]) ^ uint(p[3])
            p[19] = (x >> 31) + x + x
            x = uint(p[17]) ^ uint(p[12]) ^ uint(p[6]) ^ uint(p[4])
            p[20] = (x >> 31) + x + x
            x = uint(p[18]) ^ uint(p[13]) ^ uint(p[7]) ^ uint(p[5])
            p[21] = (x >> 31) + x + x
            x = uint(p[19]) ^ uint(p[14]) ^ uint(p[8]) ^ uint(p[6])
            p[22] = (x >> 31) + x + x
            x = uint(p[20]) ^ uint(p[15]) ^ uint(p[9]) ^ uint(p[7])
            p[23] = (x >> 31) + x + x
            p = ptr32(uint(p) + 32)
            i += 8
        p = ptr32(uint(p) - 256)
        a = uint(h[0])
        b = uint(h[1])
        c = uint(h[2])
        d = uint(h[3])
        e = uint(h[4])
        # Groups of five rounds, their schedule words at p[0:5]; a stage's 20 rounds end where
        # p has walked 20 words (no counter to keep). Stage s starts with p at word 20 s, so
        # its round constant K[s] is at p[_K - 19 s].
        # Rounds 0-19: choose.
        k = uint(p[_K])
        stop = uint(p) + 80
        while uint(p) < stop:
            x = (a << 5) + e + k + uint(p[0])
            e = ((((c ^ d) & b) ^ d) + x + (a >> 27)) & mask
            x = b << 30
            b = (b >> 2) | x
            x = (e << 5) + d + k + uint(p[1])
            d = ((((b ^ c) & a) ^ c) + x + (e >> 27)) & mask
            x = a << 30
            a = (a >> 2) | x
            x = (d << 5) + c + k + uint(p[2])
            c = ((((a ^ b) & e) ^ b) + x + (d >> 27)) & mask
            x = e << 30
            e = (e >> 2) | x
            x = (c << 5) + b + k + uint(p[3])
            b = ((((e ^ a) & d) ^ a) + x + (c >> 27)) & mask
            x = d << 30
            d = (d >> 2) | x
            x = (b << 5) + a + k + uint(p[4])
            a = ((((d ^ e) & c) ^ e) + x + (b >> 27)) & mask
            x = c << 30
            c = (c >> 2) | x
            p = ptr32(uint(p) + 20)
        # Rounds 20-39: parity.
        k = uint(p[_K - 19])
        stop = uint(p) + 80
        while uint(p) < stop:
            x = (a << 5) + e + k + uint(p[0])
            e = ((b ^ c ^ d) + x + (a >> 27)) & mask
            x = b << 30
            b = (b >> 2) | x
            x = (e << 5) + d + k + uint(p[1])
            d = ((a ^ b ^ c) + x + (e >> 27)) & mask
            x = a << 30
            a = (a >> 2) | x
            x = (d << 5) + c + k + uint(p[2])
            c = ((e ^ a ^ b) + x + (d >> 27)) & mask
            x = e << 30
            e = (e >> 2) | x
            x = (c << 5) + b + k + uint(p[3])
            b = ((d ^ e ^ a) + x + (c >> 27)) & mask
            x = d << 30
            d = (d >> 2) | x
            x = (b << 5) + a + k + uint(p[4])
            a = ((c ^ d ^ e) + x + (b >> 27)) & mask
            x = c << 30
            c = (c >> 2) | x
            p = ptr32(uint(p) + 20)
        # Rounds 40-59: majority.
        k = uint(p[_K - 38])
        stop = uint(p) + 80
        while uint(p) < stop:
            x = (a << 5) + e + k + uint(p[0])
            e = ((((b | c) & d) | (b & c)) + x + (a >> 27)) & mask
            x = b << 30
            b = (b >> 2) | x
            x = (e << 5) + d + k + uint(p[1])
            d = ((((a | b) & c) | (a & b)) + x + (e >> 27)) & mask
            x = a << 30
            a = (a >> 2) | x
            x = (d << 5) + c + k + uint(p[2])
            c = ((((e | a) & b) | (e & a)) + x + (d >> 27)) & mask
            x = e << 30
            e = (e >> 2) | x
            x = (c << 5) + b + k + uint(p[3])
            b = ((((d | e) & a) | (d & e)) + x + (c >> 27)) & mask
            x = d << 30
            d = (d >> 2) | x
            x = (b << 5) + a + k + uint(p[4])
            a = ((((c | d) & e) | (c & d)) + x + (b >> 27)) & mask
            x = c << 30
            c = (c >> 2) | x
            p = ptr32(uint(p) + 20)
        # Rounds 60-79: parity again (one loop per stage: no branch per group).
        k = uint(p[_K - 57])
        stop = uint(p) + 80
        while uint(p) < stop:
            x = (a << 5) + e + k + uint(p[0])
            e = ((b ^ c ^ d) + x + (a >> 27)) & mask
            x = b << 30
            b = (b >> 2) | x
            x = (e << 5) + d + k + uint(p[1])
            d = ((a ^ b ^ c) + x + (e >> 27)) & mask
            x = a << 30
            a = (a >> 2) | x
            x = (d << 5) + c + k + uint(p[2])
            c = ((e ^ a ^ b) + x + (d >> 27)) & mask
            x = e << 30
            e = (e >> 2) | x
            x = (c << 5) + b + k + uint(p[3])
            b = ((d ^ e ^ a) + x + (c >> 27)) & mask
            x = d << 30
            d = (d >> 2) | x
            x = (b << 5) + a + k + uint(p[4])
            a = ((c ^ d ^ e) + x + (b >> 27)) & mask
            x = c << 30
            c = (c >> 2) | x
            p = ptr32(uint(p) + 20)
        p = ptr32(uint(p) - 320)
        if mod == 0:
            h[0] = uint(h[0]) + a
            h[1] = uint(h[1]) + b
            h[2] = uint(h[2]) + c
            h[3] = uint(h[3]) + d
            h[4] = uint(h[4]) + e
            return 0
        # The digest goes into the message block: after the inner pass it is the outer
        # message, after the outer pass it is the MAC to truncate.
        p[0] = uint(h[0]) + a
        p[1] = uint(h[1]) + b
        p[2] = uint(h[2]) + c
        p[3] = uint(h[3]) + d
        p[4] = uint(h[4]) + e
        passes -= 1
        if passes == 0:
            break
        # Outer block padding and bit length (pad block + 20-byte inner digest).
        p[5] = uint(1) << 31
        p[6] = 0
        p[7] = 0
        p[8] = 0
        p[9] = 0
        p[10] = 0
        p[11] = 0
        p[12] = 0
        p[13] = 0
        p[14] = 0
        p[15] = (BLOCK + 20) * 8
        h = ptr32(uint(h) + WORDS * 4)
    # Dynamic truncation (RFC 4226 5.3): 4 bytes at offset (last byte & 15) of the big-endian
    # digest, top bit cleared.
    o = int(uint(p[4]) & 15)
    j = o >> 2
    s = (o & 3) << 3
    v = uint(p[j])
    if s:
        v = (v << s) | (uint(p[j + 1]) >> (32 - s))
    v &= mask >> 1
    return int(v) % mod


def _make_scratch():
    sc = array("I", bytes(4 * _SCRATCH_WORDS))
    sc[_K] = 0x5A827999
    sc[_K + 1] = 0x6ED9EBA1
    sc[_K + 2] = 0x8F1BBCDC
    sc[_K + 3] = 0xCA62C1D6
    return sc


_scratch = _make_scratch()  # run() reads it as a global: made with the module
del _make_scratch  # its code and constants are not needed again: freed


def scratch():
    """The scratch array shared by all keys."""
    return _scratch
