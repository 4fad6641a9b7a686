# HMAC keys and whole-message hashes over the viper compression cores (hmac_sha1,
# hmac_sha256, hmac_sha512). Only key setup runs here, once per key: codes are computed by
# the core's run() alone, without allocating (see otp.py).
#
# Every core module has the same shape:
#   run(st, lo, hi, 0)    the HOTP code for counter (hi << 32) + lo, modulo st[2 * WORDS];
#                         while that is 0 (key setup): fold the block at scratch()[RING:]
#                         into st[hi:]
#   run(st, days, sod, q) the TOTP code at days * 86400 + sod for the period 86400 // q
#                         (a divisor of a day): the core checks both and computes the step
#   scratch()             the shared array (made with the module, which run() reads as a
#                         global): message schedule, round constants, work words
#   RING, WORDS, BLOCK   message block offset in scratch(), state words, block bytes
#   IV                   the initial state as big-endian bytes (WORDS 32-bit words)
# A key's state array: inner midstate, outer midstate (WORDS words each), code modulus.
# The bit length at the end of the last block takes BLOCK // 8 bytes: 8 for SHA1/SHA256, 16
# for SHA512.

import struct
from array import array


def _state(core):
    # A state array: the IV twice (the inner and outer midstates to be), then the code modulus
    # 0. The IV is bytes: as a tuple of ints most words would be big-int objects, kept with
    # the core.
    iv = struct.unpack(">%dI" % core.WORDS, core.IV)
    return array("I", iv + iv + (0,))


def _fold(core, st, slot, data, off, x=0):
    # The block at data[off:] as big-endian 32-bit words, each XOR x, into the scratch array,
    # then compressed into st[slot:] (unpacked as a tuple: setup only, it may allocate).
    words = struct.unpack_from(">16I" if core.BLOCK == 64 else ">32I", data, off)
    sc = core.scratch()
    ring = core.RING
    for i in range(len(words)):
        sc[ring + i] = words[i] ^ x
    core.run(st, 0, slot, 0)


def digest(core, data):
    """The hash of `data` (bytes-like), e.g. of an HMAC key longer than the block."""
    block = core.BLOCK
    st = _state(core)  # modulus 0: fold blocks into st[0:]
    n = len(data)
    whole = n - n % block
    for off in range(0, whole, block):
        _fold(core, st, 0, data, off)
    tail = bytearray(data[whole:])
    tail.append(0x80)
    size = block // 8
    while len(tail) % block != block - size:
        tail.append(0)
    tail.extend((n * 8).to_bytes(size, "big"))
    for off in range(0, len(tail), block):
        _fold(core, st, 0, tail, off)
    out = bytearray()
    for i in range(core.WORDS):
        out.extend(st[i].to_bytes(4, "big"))
    return bytes(out)


def new(core, key, mod):
    """A key's state array: HMAC inner midstate (key XOR ipad folded into the IV) at 0, outer
    (key XOR opad) at core.WORDS, then the code modulus `mod`. Keys longer than the block are
    hashed first (RFC 2104)."""
    block = core.BLOCK
    if len(key) > block:
        key = digest(core, key)
    words = core.WORDS
    st = _state(core)
    padded = bytearray(block)
    padded[: len(key)] = key
    _fold(core, st, 0, padded, 0, 0x36363636)  # key XOR ipad, four bytes at a time
    _fold(core, st, words, padded, 0, 0x5C5C5C5C)  # key XOR opad
    st[2 * words] = mod
    return st
