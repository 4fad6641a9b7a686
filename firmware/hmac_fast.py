# HMAC keys and whole-message hashes over the viper compression cores (hmac_sha1,
# hmac_sha256, hmac_sha512), and otp.Key's setup (init_key). Only key setup runs here, once
# per key: codes are computed by the core's run() alone, without allocating (see otp.py).
# The app drops this module once the key of the shown account is built.
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

from micropython import const

_DAY = const(86400)
_STEAM_DIGITS = const(5)
_STEAM_MOD = const(11881376)  # 26**5: five Steam characters
_ALGORITHMS = ("sha1", "sha256", "sha512")  # index + 1: the kind (1 SHA1, 2 SHA256, 3 SHA512)


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


def init_key(key, secret, algorithm, digits, period, steam):
    """otp.Key(...)'s setup (`key` is the new Key): checks the arguments, makes the HMAC
    midstates and the per-code entry points. Once per key, when an account is shown."""
    import otp

    if isinstance(period, float) and period % 1 == 0:  # not NaN or infinity either
        period = int(period)
    name = algorithm.lower() if isinstance(algorithm, str) else None
    kind = _ALGORITHMS.index(name) + 1 if name in _ALGORITHMS else 0
    # type() is int: not a bool, not a float (a big int is an int too)
    if not (
        isinstance(secret, (bytes, bytearray))
        and secret
        and kind
        and type(digits) is int
        and (digits == _STEAM_DIGITS if steam else 6 <= digits <= 8)
        and type(period) is int
        and period >= 1
    ):
        import otp_more

        otp_more.key_error(secret, kind, digits, period, steam)  # says which one
    key.algorithm = name
    key.digits = digits
    key.period = period
    # A Steam key is known by its modulus (no attribute more: the hot path's attribute
    # lookups stay as they were).
    key._mod = _STEAM_MOD if steam else 10**digits
    core = None  # the viper core module, imported on first use; None without viper
    if not otp._NO_VIPER:
        try:
            if kind == 1:
                import hmac_sha1 as core
            elif kind == 2:
                import hmac_sha256 as core
            else:
                import hmac_sha512 as core
        except SyntaxError:  # no viper emitter: the slow path (hashlib, sha512.py)
            pass
    if core is None:
        import otp_more

        key._st = None
        run = otp_more.slow_run(kind, secret, key._mod)
    else:
        key._st = new(core, secret, key._mod)
        run = core.run
    # The per-code entry points, as closures over what they need (otp._entry_points_maker):
    # instance attributes, so key.hotp(c) and key.totp_at(d, s) reach them without a
    # lookup in the class.
    q = 0 if key._st is None or _DAY % period else _DAY // period
    key.hotp, key.totp, key.totp_at = otp._entry_points(run, key._st, q, period)
    if not q:  # no viper core, or a period that does not divide a day
        import otp_more

        key.totp_at = otp_more.any_period(key.hotp, period)
