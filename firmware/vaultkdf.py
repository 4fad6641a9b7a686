"""PBKDF2-HMAC-SHA256 on the firmware's own viper SHA-256 core (vaultcrypt.pbkdf2 imports it
for one derivation and drops it afterwards: its native code is not kept in RAM).

    vaultkdf.pbkdf2(password, salt, iterations)   # 32 bytes (RFC 8018, one block)
    vaultkdf.release()                            # drop the reference to the core

The inner loop runs hmac_sha256.run with the password's HMAC midstates cached: two SHA-256
compressions per iteration, no allocation (the loop is viper too). On RV32 an iteration is
30,213 instructions.
"""

import struct

import micropython

_run = None  # hmac_sha256.run, bound on first use


def _core():
    global _run
    import hmac_sha256

    _run = hmac_sha256.run
    return hmac_sha256


@micropython.viper
def _iterate(sc, st, w, t, n: int):
    # n PBKDF2 iterations: U = HMAC(PIN, U), T ^= U. w[0:8] holds U on entry and exit, and
    # is the work state between; st holds the PIN's inner (0..7) and outer (8..15) midstates;
    # t accumulates T; sc is the core's message block (its scratch from RING on).
    p = ptr32(sc)
    s = ptr32(st)
    u = ptr32(w)
    acc = ptr32(t)
    run = _run
    while n > 0:
        half = 0
        while half < 16:  # the inner pass (midstate 0), then the outer (midstate 8)
            i = 0
            while i < 8:
                p[i] = u[i]  # the message: the last digest, 32 bytes
                u[i] = s[half + i]
                i += 1
            p[8] = uint(1) << 31  # padding
            while i < 15:
                i += 1
                p[i] = 0
            p[15] = (64 + 32) * 8  # bit length: the key block + 32 bytes
            run(w, 0, 0, 0)  # w[16] == 0: fold the block into w[0:8]
            half += 8
        i = 0
        while i < 8:
            acc[i] = acc[i] ^ u[i]
            i += 1
        n -= 1


def pbkdf2(password, salt, iterations):
    """PBKDF2-HMAC-SHA256 (RFC 8018) of 32 bytes: one block, so T_1 is the key."""
    from array import array

    import hmac_fast

    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    core = _core()
    st = hmac_fast.new(core, password, 0)  # modulus 0: the core folds blocks
    # U_1 = HMAC(P, salt || INT(1)): the general path, once.
    import mac

    u1 = mac.hmac_sha256(password, bytes(salt) + b"\x00\x00\x00\x01")
    w = array("I", struct.unpack(">8I", u1) + (0,) * 9)  # w[16] = 0: fold mode
    t = array("I", w[:8])
    _iterate(memoryview(core.scratch())[core.RING :], st, w, t, iterations - 1)
    out = struct.pack(">8I", *t)
    for i in range(8):  # the PIN's derived state and U: not left behind in RAM
        st[i] = st[8 + i] = w[i] = t[i] = 0
    return out


def release():
    global _run
    _run = None
