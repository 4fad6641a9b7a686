# HMAC-SHA512 HOTP in viper: two SHA512 compressions per code, no heap allocation.
#
# The same design as hmac_sha1.py and hmac_sha256.py: a key keeps its HMAC inner and outer
# midstates (made by hmac_fast.new); the round constants and the message schedule are in one
# scratch array shared by all keys, and run() builds its blocks at the schedule's start.
#
# Speed: as in the other cores, the schedule (80 pairs) is expanded first and one pointer, the
# register parameter p, walks it with the round constants at a fixed distance.
#
# SHA512's words are 64 bits, an ESP32's machine words 32: every 64-bit word is a pair of
# 32-bit halves, high half first (so state, constants and schedule are big-endian words,
# the layout the other cores use too). A 64-bit rotation by n < 32 is
#   high = (high >> n) | (low << (32 - n)),  low = (low >> n) | (high << (32 - n))
# and by 32 + n the same with the halves swapped. A 64-bit sum adds the low halves one term
# at a time, counting a carry whenever the 32-bit result is below the previous one (an
# unsigned compare of viper uints, added as a number: no branch, which on a desktop CPU would
# be mispredicted half the time), then adds the high halves and the carries.
#
# Word size, as in hmac_sha1.py: on a 64-bit port, << and + leave garbage above bit 31. Every
# half that is shifted right or compared must be clean: `a` and `e` (both halves) are masked
# each round, each low-half partial sum is masked before its carry compare, and the schedule
# words load clean. On a 32-bit port the mask is all ones.

from array import array

import micropython
from micropython import const

RING = const(0)  # scratch word offset of the message block / 80-pair schedule
WORDS = const(16)  # state words (8 pairs); a key's outer midstate starts here
_MOD = const(32)  # in a key's state array: the code modulus (2 * WORDS)
_Q = const(33)  # TOTP state only (else 0): the steps per day, 86400 // period
_PERIOD = const(34)  # TOTP state only: the period in seconds
_DAY = const(86400)
BLOCK = const(128)
_K = const(160)  # round constants, 80 pairs
_TMP = const(320)  # 16 words: the working variables, added into the state after the rounds
_SCRATCH_WORDS = const(336)

IV = (
    0x6A09E667, 0xF3BCC908, 0xBB67AE85, 0x84CAA73B, 0x3C6EF372, 0xFE94F82B, 0xA54FF53A, 0x5F1D36F1,
    0x510E527F, 0xADE682D1, 0x9B05688C, 0x2B3E6C1F, 0x1F83D9AB, 0xFB41BD6B, 0x5BE0CD19, 0x137E2179,
)  # fmt: skip


@micropython.viper
def run(p: ptr32, x: uint, hi: uint) -> int:
    # p: a key's state array (st from here on), then the scratch array, this module's global
    # (one argument less to convert per code); counter (hi << 32) + x (see hmac_fast.py
    # for the two modes). Viper keeps only the first two locals in registers, the first two
    # parameters: p, which also walks the schedule and the rounds (round i's word at p[0:2],
    # its constant at p[160:162]; stepped back after each walk), and x, the counter's low
    # word and then the partial sum the carries are taken from.
    st = p
    p = ptr32(_scratch)
    mod = int(st[_MOD])
    mask = (uint(0xFFFF) << 16) | uint(0xFFFF)
    q = uint(st[_Q])
    if q:
        # TOTP at day x, second hi of the day (a key's TOTP state, see hmac_fast.for_totp):
        # the step x * q + hi // period (q = 86400 // period) as a 47-bit counter (hi, x),
        # checked and computed here where it is cheap. x below 2**30 is split at bit 15 so
        # that each product fits 32 bits; on a 64-bit port the high bits are just kept.
        if (x >> 30) or hi >= uint(_DAY):
            raise ValueError("days must be 0 .. 2**30 - 1 and second_of_day 0 .. 86399")
        stepa = (x >> 15) * q
        stepb = (x & 0x7FFF) * q + uint(int(hi) // int(st[_PERIOD]))
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
        i = 3
        while i < 31:
            p[i] = 0
            i += 1
        p[31] = (BLOCK + 8) * 8
    while True:
        # Message schedule, p at pair i - 16:
        # w[i] = w[i-16] + s0(w[i-15]) + w[i-7] + s1(w[i-2]),
        # s0 = rotr 1 ^ rotr 8 ^ shr 7, s1 = rotr 19 ^ rotr 61 ^ shr 6.
        i = 0
        while i < 64:
            yh = uint(p[2])
            yl = uint(p[3])
            th = ((yh >> 1) | (yl << 31)) ^ ((yh >> 8) | (yl << 24)) ^ (yh >> 7)
            tl = ((yl >> 1) | (yh << 31)) ^ ((yl >> 8) | (yh << 24)) ^ ((yl >> 7) | (yh << 25))
            yh = uint(p[28])
            yl = uint(p[29])
            uh = ((yh >> 19) | (yl << 13)) ^ ((yl >> 29) | (yh << 3)) ^ (yh >> 6)
            ul = ((yl >> 19) | (yh << 13)) ^ ((yh >> 29) | (yl << 3))
            ul ^= (yl >> 6) | (yh << 26)
            carry = uint(0)
            xl = uint(p[1])
            x = (xl + tl) & mask
            carry += uint(x < xl)
            m = (x + ul) & mask
            carry += uint(m < x)
            xl = (m + uint(p[19])) & mask
            carry += uint(xl < m)
            p[32] = uint(p[0]) + th + uh + uint(p[18]) + carry
            p[33] = xl
            p = ptr32(uint(p) + 8)
            i += 1
        p = ptr32(uint(p) - 512)
        ah = uint(s[0])
        al = uint(s[1])
        bh = uint(s[2])
        bl = uint(s[3])
        ch = uint(s[4])
        cl = uint(s[5])
        dh = uint(s[6])
        dl = uint(s[7])
        eh = uint(s[8])
        el = uint(s[9])
        fh = uint(s[10])
        fl = uint(s[11])
        gh = uint(s[12])
        gl = uint(s[13])
        hh = uint(s[14])
        hl = uint(s[15])
        i = 0
        while i < 80:
            # t1 = h + S1(e) + ch(e, f, g) + K[i] + w[i], S1 = rotr 14 ^ rotr 18 ^ rotr 41
            th = ((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))
            tl = ((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14)) ^ ((eh >> 9) | (el << 23))
            carry = uint(0)
            x = (hl + tl) & mask
            carry += uint(x < hl)
            m = (x + (((fl ^ gl) & el) ^ gl)) & mask
            carry += uint(m < x)
            x = (m + uint(p[161])) & mask
            carry += uint(x < m)
            tl = (x + uint(p[1])) & mask
            carry += uint(tl < x)
            th = th + hh + (((fh ^ gh) & eh) ^ gh) + uint(p[160]) + uint(p[0]) + carry
            # t2 = S0(a) + maj(a, b, c), S0 = rotr 28 ^ rotr 34 ^ rotr 39
            uh = ((ah >> 28) | (al << 4)) ^ ((al >> 2) | (ah << 30)) ^ ((al >> 7) | (ah << 25))
            ul = ((al >> 28) | (ah << 4)) ^ ((ah >> 2) | (al << 30)) ^ ((ah >> 7) | (al << 25))
            m = ((al | bl) & cl) | (al & bl)
            ul = (ul + m) & mask
            carry = uint(ul < m)
            uh = uh + (((ah | bh) & ch) | (ah & bh)) + carry
            hh = gh
            hl = gl
            gh = fh
            gl = fl
            fh = eh
            fl = el
            el = (dl + tl) & mask
            carry = uint(el < dl)
            eh = (dh + th + carry) & mask
            dh = ch
            dl = cl
            ch = bh
            cl = bl
            bh = ah
            bl = al
            al = (tl + ul) & mask
            carry = uint(al < tl)
            ah = (th + uh + carry) & mask
            p = ptr32(uint(p) + 8)
            i += 1
        p = ptr32(uint(p) - 640)
        # Add the working variables into the state, pair by pair, through tmp. After the
        # inner pass the digest is the outer message block; after the outer pass it is the
        # MAC to truncate. In key setup it is the new midstate.
        tmp = ptr32(uint(p) + _TMP * 4)
        tmp[0] = ah
        tmp[1] = al
        tmp[2] = bh
        tmp[3] = bl
        tmp[4] = ch
        tmp[5] = cl
        tmp[6] = dh
        tmp[7] = dl
        tmp[8] = eh
        tmp[9] = el
        tmp[10] = fh
        tmp[11] = fl
        tmp[12] = gh
        tmp[13] = gl
        tmp[14] = hh
        tmp[15] = hl
        out = s if mod == 0 else p
        i = 0
        while i < 16:
            m = uint(tmp[i + 1])
            x = (uint(s[i + 1]) + m) & mask
            carry = uint(x < m)
            out[i] = uint(s[i]) + uint(tmp[i]) + carry
            out[i + 1] = x
            i += 2
        passes -= 1
        if passes == 0:
            break
        # Outer block padding and bit length (pad block + 64-byte inner digest).
        p[16] = uint(1) << 31
        i = 17
        while i < 31:
            p[i] = 0
            i += 1
        p[31] = (BLOCK + 64) * 8
        s = ptr32(uint(s) + WORDS * 4)
    if mod == 0:
        return 0
    # Dynamic truncation (RFC 4226 5.3): 4 bytes at offset (last byte & 15) of the big-endian
    # digest, top bit cleared.
    o = int(uint(p[15]) & 15)
    j = o >> 2
    r = (o & 3) << 3
    v = uint(p[j])
    if r:
        v = (v << r) | (uint(p[j + 1]) >> (32 - r))
    v &= mask >> 1
    return int(v) % mod


def _make_scratch():
    # Round constants as (high, low) halves: the first 64 bits of the fractional parts of
    # the cube roots of the first 80 primes (FIPS 180-4 4.2.3).
    sc = array("I", bytes(4 * _SCRATCH_WORDS))
    for i, k in enumerate((
        0x428A2F98, 0xD728AE22, 0x71374491, 0x23EF65CD, 0xB5C0FBCF, 0xEC4D3B2F, 0xE9B5DBA5,
        0x8189DBBC, 0x3956C25B, 0xF348B538, 0x59F111F1, 0xB605D019, 0x923F82A4, 0xAF194F9B,
        0xAB1C5ED5, 0xDA6D8118, 0xD807AA98, 0xA3030242, 0x12835B01, 0x45706FBE, 0x243185BE,
        0x4EE4B28C, 0x550C7DC3, 0xD5FFB4E2, 0x72BE5D74, 0xF27B896F, 0x80DEB1FE, 0x3B1696B1,
        0x9BDC06A7, 0x25C71235, 0xC19BF174, 0xCF692694, 0xE49B69C1, 0x9EF14AD2, 0xEFBE4786,
        0x384F25E3, 0x0FC19DC6, 0x8B8CD5B5, 0x240CA1CC, 0x77AC9C65, 0x2DE92C6F, 0x592B0275,
        0x4A7484AA, 0x6EA6E483, 0x5CB0A9DC, 0xBD41FBD4, 0x76F988DA, 0x831153B5, 0x983E5152,
        0xEE66DFAB, 0xA831C66D, 0x2DB43210, 0xB00327C8, 0x98FB213F, 0xBF597FC7, 0xBEEF0EE4,
        0xC6E00BF3, 0x3DA88FC2, 0xD5A79147, 0x930AA725, 0x06CA6351, 0xE003826F, 0x14292967,
        0x0A0E6E70, 0x27B70A85, 0x46D22FFC, 0x2E1B2138, 0x5C26C926, 0x4D2C6DFC, 0x5AC42AED,
        0x53380D13, 0x9D95B3DF, 0x650A7354, 0x8BAF63DE, 0x766A0ABB, 0x3C77B2A8, 0x81C2C92E,
        0x47EDAEE6, 0x92722C85, 0x1482353B, 0xA2BFE8A1, 0x4CF10364, 0xA81A664B, 0xBC423001,
        0xC24B8B70, 0xD0F89791, 0xC76C51A3, 0x0654BE30, 0xD192E819, 0xD6EF5218, 0xD6990624,
        0x5565A910, 0xF40E3585, 0x5771202A, 0x106AA070, 0x32BBD1B8, 0x19A4C116, 0xB8D2D0C8,
        0x1E376C08, 0x5141AB53, 0x2748774C, 0xDF8EEB99, 0x34B0BCB5, 0xE19B48A8, 0x391C0CB3,
        0xC5C95A63, 0x4ED8AA4A, 0xE3418ACB, 0x5B9CCA4F, 0x7763E373, 0x682E6FF3, 0xD6B2B8A3,
        0x748F82EE, 0x5DEFB2FC, 0x78A5636F, 0x43172F60, 0x84C87814, 0xA1F0AB72, 0x8CC70208,
        0x1A6439EC, 0x90BEFFFA, 0x23631E28, 0xA4506CEB, 0xDE82BDE9, 0xBEF9A3F7, 0xB2C67915,
        0xC67178F2, 0xE372532B, 0xCA273ECE, 0xEA26619C, 0xD186B8C7, 0x21C0C207, 0xEADA7DD6,
        0xCDE0EB1E, 0xF57D4F7F, 0xEE6ED178, 0x06F067AA, 0x72176FBA, 0x0A637DC5, 0xA2C898A6,
        0x113F9804, 0xBEF90DAE, 0x1B710B35, 0x131C471B, 0x28DB77F5, 0x23047D84, 0x32CAAB7B,
        0x40C72493, 0x3C9EBE0A, 0x15C9BEBC, 0x431D67C4, 0x9C100D4C, 0x4CC5D4BE, 0xCB3E42B6,
        0x597F299C, 0xFC657E2A, 0x5FCB6FAB, 0x3AD6FAEC, 0x6C44198C, 0x4A475817,
    )):  # fmt: skip
        sc[_K + i] = k
    return sc


_scratch = _make_scratch()  # run() reads it as a global: made with the module


def scratch():
    """The scratch array shared by all keys."""
    return _scratch
