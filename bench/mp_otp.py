# MicroPython side of `make bench` (bench/run.py runs it and formats the figures).
#
# For SHA1, SHA256 and SHA512: times the OTP core (otp.Key.hotp) against a textbook HMAC HOTP
# written the naive way on the same interpreter, measures heap bytes allocated per code for
# both, proves the core allocates nothing (heap_lock), and repeats the timings on a fragmented
# heap. Prints one "name value" line per figure.
import gc
import hashlib
import sys
import time

import micropython
import otp
import sha512

ALGORITHMS = ("sha1", "sha256", "sha512")
SECRETS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890" * 6 + b"1234",
}
BLOCK = {"sha1": 64, "sha256": 64, "sha512": 128}
# Codes per timing run (core, naive), codes for the naive bytes-per-code count (pure-Python
# SHA512 allocates about a megabyte per code, counted with the collector off), timing runs per
# figure. Short core runs (well under a millisecond) are mostly spared by the scheduler on a
# shared machine, so their median is close to the undisturbed speed. Naive runs are long
# enough to include the garbage collections their allocations cause, as on a device.
CODES = {"sha1": (200, 1000, 50), "sha256": (200, 1000, 50), "sha512": (100, 2, 1)}
RUNS = 101
NAIVE_RUNS = 31


def _digest(algorithm, data):
    if algorithm == "sha512":
        return sha512.digest(data)  # neither port's hashlib has SHA512
    return (hashlib.sha1 if algorithm == "sha1" else hashlib.sha256)(data).digest()


def naive_hotp(algorithm, secret, counter, digits):
    # Textbook RFC 2104 + RFC 4226: pads XORed and bytes concatenated on every call.
    block = BLOCK[algorithm]
    key = secret + bytes(block - len(secret))
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    msg = counter.to_bytes(8, "big")
    inner = _digest(algorithm, ipad + msg)
    mac = _digest(algorithm, opad + inner)
    o = mac[-1] & 15
    return (int.from_bytes(mac[o : o + 4], "big") & 0x7FFFFFFF) % 10**digits


def time_core(key, n):
    hotp = key.hotp
    t0 = time.ticks_us()
    for c in range(n):
        hotp(c)
    return time.ticks_diff(time.ticks_us(), t0)


def naive_timer(algorithm):
    secret = SECRETS[algorithm]

    def run(n):
        t0 = time.ticks_us()
        for c in range(n):
            naive_hotp(algorithm, secret, c, 6)
        return time.ticks_diff(time.ticks_us(), t0)

    return run


def median_us(fn, n, runs):
    # fn(n) times n codes and returns microseconds; the median run, per code, is reported
    # (and the fastest, which is less disturbed by other processes on a shared machine).
    fn(n)  # warm up (caches, CPU clock) before the measured runs
    per_code = []
    for _ in range(runs):
        gc.collect()
        per_code.append(fn(n) / n)
    per_code.sort()
    return "%.3f %.3f" % (per_code[len(per_code) // 2], per_code[0])


def allocated(fn, n):
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    fn(n)
    after = gc.mem_alloc()
    gc.enable()
    return after - before


def alloc_per_code(fn, n):
    # Bytes allocated per code: gc.mem_alloc() before and after n codes, with the collector
    # off so nothing is freed in between, less the same for 0 codes (the timing function's
    # own frame, if the VM put it on the heap).
    return (allocated(fn, n) - allocated(fn, 0)) / n


def heap_locked_codes(key, n):
    # The direct proof: n codes with every heap allocation forbidden, through every entry
    # point (t and the counters stay small ints on every port).
    micropython.heap_lock()
    try:
        for c in range(n):
            key.hotp(c)
            key.totp(c)
            key.totp_at(20780, c)
    except MemoryError:
        return False
    finally:
        micropython.heap_unlock()
    return True


def fragment():
    # Many small live objects with holes between them, as on a device that has run for a
    # while: a first-fit allocator scans past them for every multi-block allocation.
    keep = []
    holes = []
    gc.collect()
    while gc.mem_free() > gc.mem_alloc():
        holes.append(bytearray(40))
        keep.append(bytearray(8))
    holes = None
    gc.collect()
    return keep


def report(name, value):
    print(name, value)


def main():
    keys = {}
    for algorithm in ALGORITHMS:
        secret = SECRETS[algorithm]
        key = otp.Key(secret, algorithm)
        for c in range(20):
            if key.hotp(c) != naive_hotp(algorithm, secret, c, 6):
                raise SystemExit("%s: core and naive disagree at counter %d" % (algorithm, c))
        keys[algorithm] = key
    report("interpreter", "%s/%d-bit" % (sys.platform, 64 if sys.maxsize > 2**32 else 32))
    report("viper", 1 if otp.Key(b"k")._st is not None else 0)

    def timers(algorithm):
        key = keys[algorithm]
        return (lambda n: time_core(key, n)), naive_timer(algorithm)

    for algorithm in ALGORITHMS:
        core, naive = timers(algorithm)
        n_core, n_naive, n_bytes = CODES[algorithm]
        report(algorithm + "_core_us", median_us(core, n_core, RUNS))
        report(algorithm + "_naive_us", median_us(naive, n_naive, NAIVE_RUNS))
        report(algorithm + "_core_bytes", alloc_per_code(core, 200))
        report(algorithm + "_naive_bytes", alloc_per_code(naive, n_bytes))
        report(algorithm + "_heap_locked_ok", 1 if heap_locked_codes(keys[algorithm], 300) else 0)
    keep = fragment()
    report("frag_live_objects", len(keep))
    for algorithm in ALGORITHMS:
        core, naive = timers(algorithm)
        n_core, n_naive, _ = CODES[algorithm]
        report(algorithm + "_frag_core_us", median_us(core, n_core, RUNS))
        report(algorithm + "_frag_naive_us", median_us(naive, n_naive, NAIVE_RUNS))
    keep = None


main()
