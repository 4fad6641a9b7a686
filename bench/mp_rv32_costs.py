# MicroPython side of the RV32 exact-cost table (bench/rv32.py runs it in QEMU and formats it):
# compiled to .mpy beside the firmware, then `import mp_rv32_costs; mp_rv32_costs.main(GROUP)`,
# one boot per group.
#
# Under QEMU's instruction counting, time.ticks_cpu() counts retired RV32IMC instructions, so
# every figure here is exact and the same on every run and machine. Each measurement calls
# only public firmware APIs (otp.Key, ui.UI, the SSD1306 driver, protocol.Codec, vault.Vault),
# so it survives refactors behind them; one that fails (an import, a renamed method) is
# reported as an error line and the others still run. Prints one line per figure:
#     @@COST name instructions heap_bytes        (heap_bytes "-" if it could not be measured)
#     @@COST name ERROR message
import gc
import time

_ticks = time.ticks_cpu
_diff = time.ticks_diff

SHA1_SEED = b"12345678901234567890"  # RFC 6238 Appendix B seeds
SHA256_SEED = SHA1_SEED + b"123456789012"
SHA512_SEED = SHA1_SEED * 3 + b"1234"
COUNTER = 59999999  # a time step of 2027, a small int on a 32-bit port
UNIX = 1800000000  # the same instant as Unix seconds: a big int on a 32-bit port
DAYS, SOD = 20833, 10800  # and as (days, second of day)
RUNS = 5


def _count(fn):
    best = None
    fn()  # warm-up: the VM's map caches fill on the first call
    for _ in range(RUNS):
        # A collected heap before each run: what an allocation costs depends on what the
        # first-fit allocator must scan past, so every run starts from the same heap.
        gc.collect()
        t0 = _ticks()
        fn()
        n = _diff(_ticks(), t0)
        if best is None or n < best:
            best = n
    return best


def _heap(fn):
    # Bytes the call allocates, with the collector off so nothing is freed in between.
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        fn()
        return gc.mem_alloc() - before
    except MemoryError:
        return None
    finally:
        gc.enable()


_EMPTY = []


def measure(name, make):
    """make() sets up and returns the function to measure (setup is not counted)."""
    try:
        fn = make()
        n = _count(fn) - _EMPTY[0]
        heap = _heap(fn)
        if heap is not None:
            heap -= _EMPTY[1]
        print("@@COST", name, n, "-" if heap is None else heap)
    except Exception as e:  # noqa: BLE001 - a broken measurement is reported, not fatal
        print("@@COST", name, "ERROR", "%s: %s" % (type(e).__name__, e))
    gc.collect()


def _nothing():
    pass


# ---- OTP


def _key(algorithm):
    import otp

    seed = {"sha1": SHA1_SEED, "sha256": SHA256_SEED, "sha512": SHA512_SEED}[algorithm]
    return otp.Key(seed, algorithm, 8)


# The arguments are bound as closure variables, like the entry point: a global lookup in the
# measuring lambda would be counted too, and its cost moves with memory layout.


def otp_hotp(algorithm):
    def make():
        hotp = _key(algorithm).hotp
        counter = COUNTER
        return lambda: hotp(counter)

    return make


def otp_totp(algorithm):
    def make():
        totp = _key(algorithm).totp
        unix = UNIX
        return lambda: totp(unix)

    return make


def otp_totp_at(algorithm):
    def make():
        totp_at = _key(algorithm).totp_at
        days, sod = DAYS, SOD
        return lambda: totp_at(days, sod)

    return make


def naive_hmac_sha1():
    # RFC 2104 + RFC 4226 as a textbook writes them, for scale: pads built and bytes joined
    # on every call.
    import hashlib

    def code(key, counter):
        if len(key) > 64:
            key = hashlib.sha1(key).digest()
        key = key + b"\x00" * (64 - len(key))
        inner = hashlib.sha1(bytes(k ^ 0x36 for k in key) + counter.to_bytes(8, "big")).digest()
        mac = hashlib.sha1(bytes(k ^ 0x5C for k in key) + inner).digest()
        at = mac[-1] & 0x0F
        return (int.from_bytes(mac[at : at + 4], "big") & 0x7FFFFFFF) % 100000000

    return lambda: code(SHA1_SEED, COUNTER)


def c_block(name):
    # The C hash's marginal cost of one 64-byte block: an update of 17 blocks less one of 1,
    # over 16 (the call's own cost cancels). Two such compressions per code (HMAC's inner and
    # outer hash, midstates cached) are the limit for any implementation.
    try:
        import hashlib

        data = memoryview(bytearray(17 * 64))
        first = data[:64]
        h = getattr(hashlib, name)()
        best = None
        for _ in range(RUNS + 1):
            t0 = _ticks()
            h.update(first)
            one = _diff(_ticks(), t0)
            t0 = _ticks()
            h.update(data)
            n = (_diff(_ticks(), t0) - one) // 16
            if best is None or n < best:
                best = n
        heap = _heap(lambda: h.update(data))
        print("@@COST", "c_%s_block" % name, best, "-" if heap is None else heap - _EMPTY[1])
    except Exception as e:  # noqa: BLE001 - a broken measurement is reported, not fatal
        print("@@COST", "c_%s_block" % name, "ERROR", "%s: %s" % (type(e).__name__, e))


# ---- screen


class _NullI2C:
    """An I2C bus that accepts every write: the SSD1306 driver's cost without a wire."""

    def writeto(self, addr, buf):
        return 1

    def writevto(self, addr, bufs):
        return 1


def _panel():
    from drivers.ssd1306 import SSD1306_I2C

    d = SSD1306_I2C(128, 64, _NullI2C())
    return (d,) + _totp_screen(d)


def _totp_screen(display):
    """(draw(code), whole(), show()): the TOTP screen of one account with that code, through
    whichever UI API the firmware has: ui.View (fields set once, then u.totp(view)) or
    positional arguments; whole() makes the next draw a whole frame (a UI that redraws only
    what changed forgets what it drew); show() sends the frame as the screen does."""
    import ui

    u = ui.UI(display)
    whole = getattr(u, "forget", _nothing)
    show = getattr(u, "show", display.show)
    if hasattr(ui, "View"):
        v = ui.View()
        v.top, v.bottom, v.position, v.step = "ACME", "alice@example.com", "2/7", 0
        v.digits, v.left_ms, v.period_ms, v.preview = 8, 20000, 30000, -1

        def draw(code):
            v.code = code
            u.totp(v)

        return draw, whole, show

    def draw_args(code):
        u.totp("ACME", "alice@example.com", 0, code, 8, 20000, 30000, "2/7", -1)

    return draw_args, whole, show


def screen_draw():
    # The frame drawn into the framebuffer alone (no show()): the part the UI module owns.
    d, draw, whole, show = _panel()

    def run():
        whole()
        draw(12345678)

    return run


def screen_full():
    d, draw, whole, show = _panel()

    def run():
        whole()
        draw(12345678)
        d.show(True)

    return run


def screen_one_digit():
    # The screen redrawn after one digit of the code changed: ui.totp() redraws the digit's
    # cell and marks it in the display's area, then the display's show() compares that area
    # with what the panel holds and sends the changed window (two writes: window, data).
    # Those writes go to the Python stand-in _NullI2C, where an ESP32's I2C is C: its cost is
    # included here and measured alone in screen_i2c_standin, to subtract.
    d, draw, whole, show = _panel()
    import ui

    if not hasattr(ui, "View") or hasattr(ui.UI, "show"):  # an older UI: through its API
        codes = (12345678, 12345679)
        flip = [0]

        def run_any():
            flip[0] ^= 1
            draw(codes[flip[0]])
            show()

        draw(codes[0])
        d.show(True)
        return run_any

    u = ui.UI(d)
    v = ui.View()
    v.top, v.bottom, v.position, v.step = "ACME", "alice@example.com", "2/7", 0
    v.digits, v.left_ms, v.period_ms, v.preview = 8, 20000, 30000, -1
    v.code = 12345678
    totp = u.totp
    send = d.show

    def run():
        v.code ^= 1  # 12345678 <-> 12345679: the last digit changes
        totp(v)
        send()

    totp(v)
    d.show(True)
    return run


def screen_second_tick():
    # The commonest frame: a second passed, the code is the same; the countdown bar shrinks
    # (by 4 or 5 columns) and the labels, long but at rest after their two scrolling passes,
    # stay. Sent through the stand-in, as screen_one_digit.
    d, draw, whole, show = _panel()
    import ui

    if not hasattr(ui, "View") or hasattr(ui.UI, "show"):
        raise ValueError("needs ui.View and a display that tracks the redrawn area")
    u = ui.UI(d)
    v = ui.View()
    v.top, v.bottom, v.position, v.step = "ACME", "alice@example.com", "2/7", 100
    v.digits, v.left_ms, v.period_ms, v.preview = 8, 29000, 30000, -1
    v.code = 12345678
    totp = u.totp
    send = d.show

    def run():
        v.step += 1
        v.left_ms -= 1000
        if v.left_ms < 3000:  # stays in one period, before the preview appears
            v.left_ms = 29000
        totp(v)
        send()

    totp(v)
    d.show(True)
    return run


def screen_i2c_standin():
    # The bench's I2C stand-in alone, called as a one-digit refresh calls it (a 7-byte window
    # command, then the control byte and a 48-byte cell): a cost of this harness that an
    # ESP32's I2C in C does not have, included in screen_one_digit.
    bus = _NullI2C()
    writeto = bus.writeto  # bound once, as the driver holds them
    writevto = bus.writevto
    cmd = bytearray(7)
    vec = [b"\x40", bytearray(32), bytearray(16)]

    def run():
        writeto(0x3C, cmd)
        writevto(0x3C, vec)

    return run


# ---- protocol


def protocol_decode():
    import protocol

    c = protocol.Codec()
    line = bytes(c.encode(0, 7, 0, 0x10, bytes(range(64))))
    feed = c.feed
    decode = c.decode

    def run():
        for b in line:
            if feed(b):
                if decode() is None:
                    raise ValueError("frame did not decode")

    return run


# ---- vault


def vault_load_64():
    import os

    import vault

    d = "/bench_vault"
    try:
        os.mkdir(d)
    except OSError:
        pass
    # A fresh Vault per account: one Vault taking all 64 in a row can fail with MemoryError on
    # this heap while most of it is free (its growing save buffers between the accounts'
    # objects fragment it), and the setup is not what is measured.
    i = 0
    while i < 64:
        v = vault.Vault(d)
        v.load()
        i = v.count
        if i < 64:
            v.add("Issuer%02d" % i, "user%02d@example.com" % i, SHA1_SEED, "sha1", 6, 30)
        v = None
        gc.collect()

    def run():
        w = vault.Vault(d)
        w.load()
        if w.count != 64:
            raise ValueError("loaded %d accounts" % w.count)

    return run


def _otp():
    for alg in ("sha1", "sha256", "sha512"):
        measure("%s_hotp" % alg, otp_hotp(alg))
        measure("%s_totp" % alg, otp_totp(alg))
        measure("%s_totp_at" % alg, otp_totp_at(alg))


def _reference():
    # Apart from the firmware: the naive HMAC allocates per code, and what that costs depends
    # on the heap the firmware's imports leave behind (up to 17% here), not on its own code.
    measure("naive_hmac_sha1", naive_hmac_sha1)
    c_block("sha1")
    c_block("sha256")


def _screen():
    measure("screen_draw_frame", screen_draw)
    measure("screen_full_redraw", screen_full)
    measure("screen_one_digit", screen_one_digit)
    measure("screen_second_tick", screen_second_tick)
    measure("screen_i2c_standin", screen_i2c_standin)


def _protocol():
    measure("protocol_decode_frame", protocol_decode)


def _vault():
    measure("vault_load_64", vault_load_64)


# Each group runs in its own boot (bench/rv32.py), so no group's objects shape another's heap.
GROUPS = {
    "otp": _otp,
    "reference": _reference,
    "screen": _screen,
    "protocol": _protocol,
    "vault": _vault,
}


def main(group):
    import sys

    print("@@INFO platform", sys.platform)
    print("@@INFO version", sys.version.replace(" ", "_"))
    _EMPTY.append(_count(_nothing))
    _EMPTY.append(_heap(_nothing) or 0)
    GROUPS[group]()
    print("@@INFO heap_free_at_end", gc.mem_free())
