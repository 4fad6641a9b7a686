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
def run(p: ptr32, x: uint, hi: uint, q: uint) -> int:
    # p: a key's state array (st from here on), then the scratch array, this module's global;
    # counter (hi << 32) + x, or with q the TOTP step of day x, second hi (see hmac_fast.py
    # for the modes). Viper keeps only the first two locals in registers, the first two
    # parameters: p, which also walks the schedule and the rounds (round i's word at p[0:2],
    # its constant at p[160:162]; stepped back after each walk), and x, the counter's low
    # word and then the partial sum the carries are taken from.
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
    # Round constants as (high, low) halves: the first 64 bits of the fractional parts of the
    # cube roots of the first 80 primes (FIPS 180-4 4.2.3). Hex text, because a literal of
    # 2**30 or more is a heap object on a 32-bit port, kept as long as the module: as int
    # literals these cost 4,448 bytes more heap (RV32).
    sc = array("I", bytes(4 * _SCRATCH_WORDS))
    k = (
        "428A2F98D728AE227137449123EF65CDB5C0FBCFEC4D3B2FE9B5DBA58189DBBC3956C25BF348B53859F111F1"
        "B605D019923F82A4AF194F9BAB1C5ED5DA6D8118D807AA98A303024212835B0145706FBE243185BE4EE4B28C"
        "550C7DC3D5FFB4E272BE5D74F27B896F80DEB1FE3B1696B19BDC06A725C71235C19BF174CF692694E49B69C1"
        "9EF14AD2EFBE4786384F25E30FC19DC68B8CD5B5240CA1CC77AC9C652DE92C6F592B02754A7484AA6EA6E483"
        "5CB0A9DCBD41FBD476F988DA831153B5983E5152EE66DFABA831C66D2DB43210B00327C898FB213FBF597FC7"
        "BEEF0EE4C6E00BF33DA88FC2D5A79147930AA72506CA6351E003826F142929670A0E6E7027B70A8546D22FFC"
        "2E1B21385C26C9264D2C6DFC5AC42AED53380D139D95B3DF650A73548BAF63DE766A0ABB3C77B2A881C2C92E"
        "47EDAEE692722C851482353BA2BFE8A14CF10364A81A664BBC423001C24B8B70D0F89791C76C51A30654BE30"
        "D192E819D6EF5218D69906245565A910F40E35855771202A106AA07032BBD1B819A4C116B8D2D0C81E376C08"
        "5141AB532748774CDF8EEB9934B0BCB5E19B48A8391C0CB3C5C95A634ED8AA4AE3418ACB5B9CCA4F7763E373"
        "682E6FF3D6B2B8A3748F82EE5DEFB2FC78A5636F43172F6084C87814A1F0AB728CC702081A6439EC90BEFFFA"
        "23631E28A4506CEBDE82BDE9BEF9A3F7B2C67915C67178F2E372532BCA273ECEEA26619CD186B8C721C0C207"
        "EADA7DD6CDE0EB1EF57D4F7FEE6ED17806F067AA72176FBA0A637DC5A2C898A6113F9804BEF90DAE1B710B35"
        "131C471B28DB77F523047D8432CAAB7B40C724933C9EBE0A15C9BEBC431D67C49C100D4C4CC5D4BECB3E42B6"
        "597F299CFC657E2A5FCB6FAB3AD6FAEC6C44198C4A475817"
    )
    for i in range(len(k) // 8):
        sc[_K + i] = int(k[8 * i : 8 * i + 8], 16)
    return sc


_scratch = _make_scratch()  # run() reads it as a global: made with the module


def scratch():
    """The scratch array shared by all keys."""
    return _scratch
