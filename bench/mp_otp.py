# MicroPython side of `make bench` (bench/run.py runs it and formats the figures).
#
# Times the OTP core's SHA1 path against a textbook HMAC-SHA1 HOTP written the naive way on the
# same interpreter, measures heap bytes allocated per code for both, and repeats the timings on
# a fragmented heap. Prints one "name value" line per figure.
import gc
import hashlib
import sys
import time

import micropython
import otp

SECRET = b"12345678901234567890"
CODES = 2000  # per timing run
RUNS = 31  # timing runs; the median is reported


def naive_hotp(secret, counter, digits):
    # Textbook RFC 2104 + RFC 4226: pads XORed and bytes concatenated on every call.
    key = secret + bytes(64 - len(secret))
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    msg = counter.to_bytes(8, "big")
    inner = hashlib.sha1(ipad + msg).digest()
    mac = hashlib.sha1(opad + inner).digest()
    o = mac[19] & 15
    return (int.from_bytes(mac[o : o + 4], "big") & 0x7FFFFFFF) % 10**digits


def time_core(key, n):
    hotp = key.hotp
    t0 = time.ticks_us()
    for c in range(n):
        hotp(c)
    return time.ticks_diff(time.ticks_us(), t0)


def time_naive(n):
    t0 = time.ticks_us()
    for c in range(n):
        naive_hotp(SECRET, c, 6)
    return time.ticks_diff(time.ticks_us(), t0)


def time_empty(n):
    t0 = time.ticks_us()
    for _c in range(n):
        pass
    return time.ticks_diff(time.ticks_us(), t0)


def median_us(fn, n):
    # fn(n) times n codes and returns microseconds; the median run, per code, is reported
    # (and the fastest, which is less disturbed by other processes on a shared machine).
    fn(n)  # warm up (caches, CPU clock) before the measured runs
    runs = []
    for _ in range(RUNS):
        gc.collect()
        runs.append(fn(n) / n)
    runs.sort()
    return "%.3f %.3f" % (runs[len(runs) // 2], runs[0])


def allocated(fn, n):
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    fn(n)
    after = gc.mem_alloc()
    gc.enable()
    return after - before


def alloc_per_code(fn):
    # Bytes allocated per code: gc.mem_alloc() before and after 200 codes, with the collector
    # off so nothing is freed in between (200 naive codes fit in any heap here), less the same
    # for 0 codes (the timing function's own frame, if the VM put it on the heap).
    return (allocated(fn, 200) - allocated(fn, 0)) / 200


def heap_locked_codes(key, n):
    # The direct proof: n codes with every heap allocation forbidden.
    micropython.heap_lock()
    try:
        for c in range(n):
            key.hotp(c)
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
    key = otp.Key(SECRET)
    for c in range(50):
        if key.hotp(c) != naive_hotp(SECRET, c, 6):
            raise SystemExit("core and naive baseline disagree at counter %d" % c)

    def core(n):
        return time_core(key, n)

    report("interpreter", "%s/%d-bit" % (sys.platform, 64 if sys.maxsize > 2**32 else 32))
    report("viper", 0 if otp._fast is None else 1)
    report("empty_loop_us", median_us(time_empty, CODES))
    report("core_us", median_us(core, CODES))
    report("naive_us", median_us(time_naive, CODES))
    report("core_bytes", alloc_per_code(core))
    report("naive_bytes", alloc_per_code(time_naive))
    report("core_heap_locked_ok", 1 if heap_locked_codes(key, 1000) else 0)
    sha256 = otp.Key(SECRET + bytes(12), "sha256")
    report("sha256_us", median_us(lambda n: time_core(sha256, n), 200))
    sha512 = otp.Key(SECRET * 3 + bytes(4), "sha512")
    report("sha512_us", "%.3f" % (time_core(sha512, 20) / 20))
    keep = fragment()
    report("frag_live_objects", len(keep))
    report("frag_core_us", median_us(core, CODES))
    report("frag_naive_us", median_us(time_naive, CODES))
    keep = None

main()
