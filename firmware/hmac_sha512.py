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

IV = (  # big-endian words: no big-int objects
    b"\x6a\x09\xe6\x67\xf3\xbc\xc9\x08\xbb\x67\xae\x85\x84\xca\xa7\x3b"
    b"\x3c\x6e\xf3\x72\xfe\x94\xf8\x2b\xa5\x4f\xf5\x3a\x5f\x1d\x36\xf1"
    b"\x51\x0e\x52\x7f\xad\xe6\x82\xd1\x9b\x05\x68\x8c\x2b\x3e\x6c\x1f"
    b"\x1f\x83\xd9\xab\xfb\x41\xbd\x6b\x5b\xe0\xcd\x19\x13\x7e\x21\x79"
)


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
    # Round constants as (high, low) halves: the first 64 bits of the fractional parts of the cube
    # roots of the first 80 primes (FIPS 180-4 4.2.3). Big-endian bytes: a literal of 2**30 or more
    # is a heap object on a 32-bit port, kept as long as the module (as int literals these cost
    # 4,448 bytes more heap, RV32), and bytes are half the size of hex text (import on the 32-bit
    # build, .mpy: 3,760 -> 3,120 bytes of heap).
    sc = array("I", bytes(4 * _SCRATCH_WORDS))
    k = (
        b"\x42\x8a\x2f\x98\xd7\x28\xae\x22\x71\x37\x44\x91\x23\xef\x65\xcd"
        b"\xb5\xc0\xfb\xcf\xec\x4d\x3b\x2f\xe9\xb5\xdb\xa5\x81\x89\xdb\xbc"
        b"\x39\x56\xc2\x5b\xf3\x48\xb5\x38\x59\xf1\x11\xf1\xb6\x05\xd0\x19"
        b"\x92\x3f\x82\xa4\xaf\x19\x4f\x9b\xab\x1c\x5e\xd5\xda\x6d\x81\x18"
        b"\xd8\x07\xaa\x98\xa3\x03\x02\x42\x12\x83\x5b\x01\x45\x70\x6f\xbe"
        b"\x24\x31\x85\xbe\x4e\xe4\xb2\x8c\x55\x0c\x7d\xc3\xd5\xff\xb4\xe2"
        b"\x72\xbe\x5d\x74\xf2\x7b\x89\x6f\x80\xde\xb1\xfe\x3b\x16\x96\xb1"
        b"\x9b\xdc\x06\xa7\x25\xc7\x12\x35\xc1\x9b\xf1\x74\xcf\x69\x26\x94"
        b"\xe4\x9b\x69\xc1\x9e\xf1\x4a\xd2\xef\xbe\x47\x86\x38\x4f\x25\xe3"
        b"\x0f\xc1\x9d\xc6\x8b\x8c\xd5\xb5\x24\x0c\xa1\xcc\x77\xac\x9c\x65"
        b"\x2d\xe9\x2c\x6f\x59\x2b\x02\x75\x4a\x74\x84\xaa\x6e\xa6\xe4\x83"
        b"\x5c\xb0\xa9\xdc\xbd\x41\xfb\xd4\x76\xf9\x88\xda\x83\x11\x53\xb5"
        b"\x98\x3e\x51\x52\xee\x66\xdf\xab\xa8\x31\xc6\x6d\x2d\xb4\x32\x10"
        b"\xb0\x03\x27\xc8\x98\xfb\x21\x3f\xbf\x59\x7f\xc7\xbe\xef\x0e\xe4"
        b"\xc6\xe0\x0b\xf3\x3d\xa8\x8f\xc2\xd5\xa7\x91\x47\x93\x0a\xa7\x25"
        b"\x06\xca\x63\x51\xe0\x03\x82\x6f\x14\x29\x29\x67\x0a\x0e\x6e\x70"
        b"\x27\xb7\x0a\x85\x46\xd2\x2f\xfc\x2e\x1b\x21\x38\x5c\x26\xc9\x26"
        b"\x4d\x2c\x6d\xfc\x5a\xc4\x2a\xed\x53\x38\x0d\x13\x9d\x95\xb3\xdf"
        b"\x65\x0a\x73\x54\x8b\xaf\x63\xde\x76\x6a\x0a\xbb\x3c\x77\xb2\xa8"
        b"\x81\xc2\xc9\x2e\x47\xed\xae\xe6\x92\x72\x2c\x85\x14\x82\x35\x3b"
        b"\xa2\xbf\xe8\xa1\x4c\xf1\x03\x64\xa8\x1a\x66\x4b\xbc\x42\x30\x01"
        b"\xc2\x4b\x8b\x70\xd0\xf8\x97\x91\xc7\x6c\x51\xa3\x06\x54\xbe\x30"
        b"\xd1\x92\xe8\x19\xd6\xef\x52\x18\xd6\x99\x06\x24\x55\x65\xa9\x10"
        b"\xf4\x0e\x35\x85\x57\x71\x20\x2a\x10\x6a\xa0\x70\x32\xbb\xd1\xb8"
        b"\x19\xa4\xc1\x16\xb8\xd2\xd0\xc8\x1e\x37\x6c\x08\x51\x41\xab\x53"
        b"\x27\x48\x77\x4c\xdf\x8e\xeb\x99\x34\xb0\xbc\xb5\xe1\x9b\x48\xa8"
        b"\x39\x1c\x0c\xb3\xc5\xc9\x5a\x63\x4e\xd8\xaa\x4a\xe3\x41\x8a\xcb"
        b"\x5b\x9c\xca\x4f\x77\x63\xe3\x73\x68\x2e\x6f\xf3\xd6\xb2\xb8\xa3"
        b"\x74\x8f\x82\xee\x5d\xef\xb2\xfc\x78\xa5\x63\x6f\x43\x17\x2f\x60"
        b"\x84\xc8\x78\x14\xa1\xf0\xab\x72\x8c\xc7\x02\x08\x1a\x64\x39\xec"
        b"\x90\xbe\xff\xfa\x23\x63\x1e\x28\xa4\x50\x6c\xeb\xde\x82\xbd\xe9"
        b"\xbe\xf9\xa3\xf7\xb2\xc6\x79\x15\xc6\x71\x78\xf2\xe3\x72\x53\x2b"
        b"\xca\x27\x3e\xce\xea\x26\x61\x9c\xd1\x86\xb8\xc7\x21\xc0\xc2\x07"
        b"\xea\xda\x7d\xd6\xcd\xe0\xeb\x1e\xf5\x7d\x4f\x7f\xee\x6e\xd1\x78"
        b"\x06\xf0\x67\xaa\x72\x17\x6f\xba\x0a\x63\x7d\xc5\xa2\xc8\x98\xa6"
        b"\x11\x3f\x98\x04\xbe\xf9\x0d\xae\x1b\x71\x0b\x35\x13\x1c\x47\x1b"
        b"\x28\xdb\x77\xf5\x23\x04\x7d\x84\x32\xca\xab\x7b\x40\xc7\x24\x93"
        b"\x3c\x9e\xbe\x0a\x15\xc9\xbe\xbc\x43\x1d\x67\xc4\x9c\x10\x0d\x4c"
        b"\x4c\xc5\xd4\xbe\xcb\x3e\x42\xb6\x59\x7f\x29\x9c\xfc\x65\x7e\x2a"
        b"\x5f\xcb\x6f\xab\x3a\xd6\xfa\xec\x6c\x44\x19\x8c\x4a\x47\x58\x17"
    )
    for i in range(len(k) // 4):
        sc[_K + i] = int.from_bytes(k[4 * i : 4 * i + 4], "big")
    return sc


_scratch = _make_scratch()  # run() reads it as a global: made with the module
del _make_scratch  # its code and constants are not needed again: freed


def scratch():
    """The scratch array shared by all keys."""
    return _scratch
