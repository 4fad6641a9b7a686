# Firmware tests of the OTP core (firmware/otp.py). Expected values come from the RFC tables
# (RFC 4226 Appendix D, RFC 6238 Appendix B, RFC 4648 section 10) or were computed with
# CPython's hmac/hashlib/datetime, never with the code under test.
import gc
import sys

import micropython
import mptest
import otp

SEED20 = b"12345678901234567890"
SEED32 = SEED20 + b"123456789012"
SEED64 = SEED20 * 3 + b"1234"

# RFC 4226 Appendix D: HOTP (6 digits) of SEED20 for counters 0-9.
RFC4226 = (755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489)

# RFC 6238 Appendix B: TOTP, 8 digits, 30 s; each mode uses its own seed (RFC erratum).
RFC6238_TIMES = (59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000)
RFC6238 = (
    ("sha1", SEED20, ("94287082", "07081804", "14050471", "89005924", "69279037", "65353130")),
    ("sha256", SEED32, ("46119246", "68084774", "67062674", "91819424", "90698825", "77737706")),
    ("sha512", SEED64, ("90693936", "25091201", "99943326", "93441116", "38618901", "47863826")),
)


ALGORITHMS = ("sha1", "sha256", "sha512")
SEEDS = {"sha1": SEED20, "sha256": SEED32, "sha512": SEED64}


def hashlib_key(*args):
    """A Key on the slow path (hashlib, sha512.py), the one used when viper is unavailable."""
    otp._NO_VIPER = True
    try:
        return otp.Key(*args)
    finally:
        otp._NO_VIPER = False


def single_precision():
    # 2**24 + 1 is the first whole number a single-precision float cannot hold.
    return float(16777217) == float(16777216)


def test_rfc4226_hotp():
    key = otp.Key(SEED20)
    for c in range(10):
        assert key.hotp(c) == RFC4226[c], c


def test_rfc6238_totp_all_modes():
    for algorithm, seed, codes in RFC6238:
        for key in (otp.Key(seed, algorithm, 8), hashlib_key(seed, algorithm, 8)):
            for i in range(len(RFC6238_TIMES)):
                t = RFC6238_TIMES[i]
                assert key.format(key.totp(t)) == codes[i], (algorithm, t)
                assert key.format(key.totp_at(t // 86400, t % 86400)) == codes[i], (algorithm, t)


def test_fast_path_in_use():
    # Every algorithm runs on its viper core on these ports (the slow path is a fallback).
    for algorithm in ALGORITHMS:
        assert otp.Key(SEED20, algorithm)._st is not None, algorithm
        assert hashlib_key(SEED20, algorithm)._st is None, algorithm


def test_rfc6238_erratum_seed_matters():
    # REFERENCE.md: with the 20-byte seed SHA256 at t=59 gives 32247374, not the table's value.
    assert otp.Key(SEED20, "sha256", 8).totp(59) == 32247374


def test_algorithm_name_case_insensitive():
    key = otp.Key(SEED64, "SHA512", 8)
    assert key.algorithm == "sha512"
    assert key.format(key.totp(59)) == "90693936"


def test_totp_accepts_float_time():
    key = otp.Key(SEED20, digits=8)
    assert key.totp(59.99) == 94287082
    # CPython hmac: SHA1 of SEED20, step 16777215 // 30, the last whole second below 2**24.
    assert key.totp(16777215.0) == 63144685
    if not single_precision():
        assert key.totp(1111111109.5) == 7081804  # RFC 6238 Appendix B at 1111111109
        return
    # With single-precision floats (ESP32, RV32 build) 1111111109.5 is 1111111168.0, another
    # period: refused with a clear error instead of a wrong code.
    e = mptest.raises(ValueError, key.totp, 1111111109.5)
    assert "float" in str(e) and "int" in str(e), str(e)
    mptest.raises(ValueError, key.totp, 16777216.0)


def test_totp_float_limit_on_this_port():
    # Floats are refused exactly from the first value that cannot hold every whole second.
    key = otp.Key(SEED20, digits=8)
    limit = 2**24 if single_precision() else 2**53
    mptest.raises(ValueError, key.totp, float(limit))
    assert key.totp(float(limit - 30)) == key.totp(limit - 30)


def test_hashlib_sha1_path_matches_rfc():
    key = hashlib_key(SEED20)
    assert key._st is None
    for c in range(10):
        assert key.hotp(c) == RFC4226[c], c


# CPython hmac, 8 digits, each algorithm with its RFC 6238 seed, at counters 0, 2**30 - 1
# (the largest small int on a 32-bit port), 2**30, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1.
COUNTERS = (0, 2**30 - 1, 2**30, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1)
COUNTER_CODES = {
    "sha1": (84755224, 54812922, 7308829, 4197202, 57117190, 55999456, 17959616, 63094451),
    "sha256": (18920136, 12483211, 64668259, 37597482, 40114512, 66351443, 73107488, 40635627),
    "sha512": (53550594, 27306156, 46022779, 75577151, 69006271, 82894678, 33958812, 44226760),
}


def test_counters_to_64_bits():
    for algorithm in ALGORITHMS:
        seed = SEEDS[algorithm]
        for key in (otp.Key(seed, algorithm, 8), hashlib_key(seed, algorithm, 8)):
            for i in range(len(COUNTERS)):
                assert key.hotp(COUNTERS[i]) == COUNTER_CODES[algorithm][i], (algorithm, i)


def test_counters_beyond_32_bits():
    # CPython hmac: SHA256 of SEED20, 6 digits.
    key = otp.Key(SEED20, "sha256")
    assert key.hotp(2**32) == 111431
    assert key.hotp(2**64 - 1) == 790413


def test_long_keys_hashed_first():
    # CPython hmac with keys longer than the block (RFC 2104).
    key = otp.Key(bytes(range(100)))
    assert (key.hotp(0), key.hotp(1), key.hotp(2**32)) == (61198, 695482, 982483)
    key = otp.Key(bytes(range(100)), "sha256", 8)
    assert (key.hotp(0), key.hotp(1)) == (59666317, 59501496)
    key = otp.Key(bytes((i * 7 + 3) & 255 for i in range(200)), "sha512", 8)
    assert (key.hotp(0), key.hotp(1)) == (24109086, 24093104)


def test_long_keys_all_algorithms_both_paths():
    # CPython hmac, 8 digits, counters 0, 1, 2**32: a 100-byte key (longer than SHA1's and
    # SHA256's block) and a 200-byte key (longer than SHA512's too).
    k100 = bytes(range(100))
    k200 = bytes((i * 7 + 3) & 255 for i in range(200))
    expected = (
        ("sha1", k100, (22061198, 65695482, 71982483)),
        ("sha1", k200, (71644704, 18865133, 79771316)),
        ("sha256", k100, (59666317, 59501496, 51400454)),
        ("sha256", k200, (62706189, 97395742, 22676914)),
        ("sha512", k100, (97815520, 15555944, 22770551)),
        ("sha512", k200, (24109086, 24093104, 68936480)),
    )
    for algorithm, secret, codes in expected:
        for key in (otp.Key(secret, algorithm, 8), hashlib_key(secret, algorithm, 8)):
            got = (key.hotp(0), key.hotp(1), key.hotp(2**32))
            assert got == codes, (algorithm, len(secret), got)


def test_block_size_boundaries():
    # CPython hmac: exactly one block is used as is, one byte more is hashed.
    assert otp.Key(bytes(range(64))).hotp(0) == 817747
    assert otp.Key(bytes(range(65))).hotp(0) == 337508
    assert otp.Key(bytes(range(128)), "sha512", 8).hotp(0) == 53326914
    assert otp.Key(bytes(range(129)), "sha512", 8).hotp(0) == 52217035


def test_format_pads_to_digits():
    assert otp.Key(SEED20).format(7) == "000007"
    assert otp.Key(SEED20, digits=7).format(1234) == "0001234"
    assert otp.Key(SEED20, digits=8).format(99999999) == "99999999"


def test_b32decode_rfc4648_vectors():
    vectors = (
        ("MY======", b"f"),
        ("MZXQ====", b"fo"),
        ("MZXW6===", b"foo"),
        ("MZXW6YQ=", b"foob"),
        ("MZXW6YTB", b"fooba"),
        ("MZXW6YTBOI======", b"foobar"),
    )
    for text, raw in vectors:
        assert otp.b32decode(text) == raw, text


def test_b32decode_lenient_input():
    assert otp.b32decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") == SEED20
    assert otp.b32decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq") == SEED20
    assert otp.b32decode("GEZDG-NBVGY-3TQOJ-QGEZD-GNBVG-Y3TQO-JQ") == SEED20
    assert otp.b32decode("mzxw6ytboi") == b"foobar"  # no padding
    assert otp.b32decode(" MZXW6YTBOI====== ") == b"foobar"
    assert otp.b32decode(b"MZXW6YQ") == b"foob"


def test_b32decode_errors_do_not_echo_input():
    cases = (
        ("MZXW1YTB", "character"),  # 1 is not base32
        ("MZXW6YTB!", "character"),
        ("MY==MZXQ", "padding"),
        ("M", "length"),
        ("MZX", "length"),
        ("MZXW6Y", "length"),
        ("MZXW6===" + "=", "padding"),
        ("", "empty"),
        ("  - ", "empty"),
    )
    for text, word in cases:
        e = mptest.raises(ValueError, otp.b32decode, text)
        msg = str(e)
        assert word in msg, (text, msg)
        if text.strip(" -="):
            assert text.strip(" -=") not in msg, msg
    mptest.raises(ValueError, otp.b32decode, 12345)


def test_key_parameter_errors():
    bad = (
        ((SEED20, "md5"), "algorithm"),
        ((SEED20, None), "algorithm"),
        ((SEED20, "sha1", 5), "digits"),
        ((SEED20, "sha1", 9), "digits"),
        ((SEED20, "sha1", "6"), "digits"),
        ((SEED20, "sha1", 6.0), "digits"),
        ((SEED20, "sha1", 6, 0), "period"),
        ((SEED20, "sha1", 6, -30), "period"),
        ((SEED20, "sha1", 6, 1.5), "period"),
        ((SEED20, "sha1", 6, "30"), "period"),
        ((b"", "sha1"), "empty"),
        (("GEZDGNBV", "sha1"), "bytes"),
    )
    for args, word in bad:
        e = mptest.raises(ValueError, otp.Key, *args)
        assert word in str(e), (args, str(e))
    assert otp.Key(SEED20, period=60.0).period == 60


def test_code_argument_errors():
    key = otp.Key(SEED20)
    mptest.raises(ValueError, key.hotp, -1)
    mptest.raises(ValueError, key.hotp, 2**64)
    mptest.raises(ValueError, key.hotp, 1.0)
    mptest.raises(ValueError, key.totp, -1)
    mptest.raises(ValueError, key.totp, "59")
    mptest.raises(ValueError, key.totp, float("inf"))
    mptest.raises(ValueError, key.totp, float("nan"))
    mptest.raises(ValueError, key.totp, 2.0**80)
    mptest.raises(ValueError, key.format, 1000000)
    mptest.raises(ValueError, key.format, -1)
    mptest.raises(ValueError, key.totp_at, -1, 0)
    mptest.raises(ValueError, key.totp_at, 0, 86400)
    mptest.raises(ValueError, otp.counter, 0, -1, 30)
    mptest.raises(ValueError, otp.counter, 0, 0, 0)
    mptest.raises(ValueError, otp.elapsed, 0, 0, 0)


def test_keys_and_codes_leave_the_rarely_used_half_unloaded():
    # What an idle token runs (building keys with the usual periods, codes by hotp, totp and
    # totp_at, counter() and elapsed()) must not import otp_more.py: its code would stay on
    # the heap for good.
    sys.modules.pop("otp_more", None)
    for algorithm in ALGORITHMS:
        key = otp.Key(SEEDS[algorithm], algorithm, 8, 30)
        key.hotp(1)
        key.totp(1111111109)
        key.totp_at(20780, 50000)
    otp.Key(SEED20, "sha1", 5, 30, True).hotp(0)  # Steam
    otp.counter(20780, 50000, 30)
    otp.elapsed(20780, 50000, 30)
    assert "otp_more" not in sys.modules
    otp.Key(SEED20).format(7)  # the rest loads it, as it should
    assert "otp_more" in sys.modules


def test_repr_hides_secret():
    key = otp.Key(SEED20)
    text = repr(key) + str(key)
    assert "sha1" in text
    assert "1234567890" not in text


def test_counter_helper_matches_unix_division():
    # Big-int reference: (days * 86400 + sod) // period, including periods that do not
    # divide a day and times beyond 2**32.
    for period in (1, 7, 15, 30, 45, 60, 86399, 86400, 100000):
        for days in (0, 1, 12859, 20780, 49710, 231481, 2932896):
            for sod in (0, 1, 29, 30, 59, 43199, 86399):
                t = days * 86400 + sod
                assert otp.counter(days, sod, period) == t // period, (period, days, sod)
                assert otp.elapsed(days, sod, period) == t % period, (period, days, sod)


def test_totp_at_matches_totp():
    key = otp.Key(SEED20, digits=8)
    for t in RFC6238_TIMES:
        assert key.totp_at(t // 86400, t % 86400) == key.totp(t), t
    key = otp.Key(SEED32, "sha256", 8, 45)
    assert key.totp_at(20780, 50000) == key.totp(20780 * 86400 + 50000)


def test_totp_at_matches_totp_for_every_period_and_path():
    # totp_at (the step computed in the viper core for periods dividing a day, by counter()
    # otherwise and on the hashlib path) against totp at the same Unix time, up to the last
    # day it takes, 2**30 - 1 (a step beyond 2**32 for periods up to 21600 s).
    for make in (otp.Key, hashlib_key):
        for algorithm in ALGORITHMS:
            for period in (1, 7, 30, 45, 3600, 86400):
                key = make(SEED20, algorithm, 8, period)
                for days in (0, 20833, 32768, 2932896, 2**30 - 1):
                    for sod in (0, 29, 86399):
                        want = key.totp(days * 86400 + sod)
                        got = key.totp_at(days, sod)
                        assert got == want, (make, algorithm, period, days, sod)
                for days, sod in ((-1, 0), (0, -1), (0, 86400), (2**30, 0), (2**40, 5)):
                    mptest.raises(ValueError, key.totp_at, days, sod)


def test_days_from_civil():
    # CPython datetime.date differences from 1970-01-01.
    dates = (
        ((1970, 1, 1), 0),
        ((2000, 1, 1), 10957),
        ((2024, 2, 29), 19782),
        ((2038, 1, 19), 24855),
        ((2026, 11, 23), 20780),
        ((2603, 10, 11), 231481),
        ((9999, 12, 31), 2932896),
    )
    for ymd, days in dates:
        assert otp.days_from_civil(*ymd) == days, ymd
    mptest.raises(ValueError, otp.days_from_civil, 1969, 12, 31)
    mptest.raises(ValueError, otp.days_from_civil, 2026, 13, 1)


def _codes_locked(key, counters, times, out):
    # Everything the locked region needs exists before the lock: `out` is preallocated.
    micropython.heap_lock()
    try:
        for i in range(len(counters)):
            out[i] = key.hotp(counters[i])
        n = len(counters)
        out[n] = key.totp_at(20780, 45296)
        out[n + 1] = key.totp_at(231481, 86399)
        for i in range(len(times)):
            out[n + 2 + i] = key.totp(times[i])
    finally:
        micropython.heap_unlock()


# 2**30 - 1 is the largest small int on a 32-bit port.
LOCK_COUNTERS = (0, 1, 9, 59000000, 2**30 - 1)
# CPython hmac, 6 digits, each algorithm with its RFC 6238 seed: hotp at LOCK_COUNTERS, then
# totp_at(20780, 45296) and totp_at(231481, 86399), then totp(2**30 - 1) and, where it is a
# small int (64-bit port), totp(1111111109).
LOCK_CODES = {
    "sha1": (755224, 287082, 520489, 561009, 812922, 134656, 396350, 320531, 81804),
    "sha256": (920136, 119246, 242340, 492073, 483211, 719408, 94380, 364896, 84774),
    "sha512": (550594, 693936, 467051, 550432, 306156, 483945, 918303, 577259, 91201),
}


def _check_allocates_nothing(algorithm):
    key = otp.Key(SEEDS[algorithm], algorithm)
    times = (2**30 - 1, 1111111109) if sys.maxsize > 2**32 else (2**30 - 1,)
    out = [0] * (len(LOCK_COUNTERS) + 2 + len(times))
    _codes_locked(key, LOCK_COUNTERS, times, out)
    assert out == list(LOCK_CODES[algorithm][: len(out)]), (algorithm, out)


def test_sha1_codes_allocate_nothing():
    _check_allocates_nothing("sha1")


def test_sha256_codes_allocate_nothing():
    _check_allocates_nothing("sha256")


def test_sha512_codes_allocate_nothing():
    _check_allocates_nothing("sha512")


def _allocated(fn, arg, n):
    # Heap bytes allocated by n calls fn(arg) with the collector off. heap_lock() alone misses
    # one kind of allocation: a bytecode frame that does not fit the C stack budget is taken
    # from the heap when it can be and silently from the C stack under the lock.
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(n):
            fn(arg)
        return gc.mem_alloc() - before
    finally:
        gc.enable()


def test_codes_allocate_no_bytes():
    # The same as the heap-lock tests, counted in bytes without the lock: 0 for 200 codes
    # (less the loop's own allocation, measured with 0 codes) through every entry point.
    t = 2**30 - 1  # a small int on every port
    for algorithm in ALGORITHMS:
        key = otp.Key(SEEDS[algorithm], algorithm)
        for name, fn, arg in (
            ("hotp", key.hotp, 59000000),
            ("totp", key.totp, t),
            ("totp_at", lambda sod, key=key: key.totp_at(20780, sod), 45296),
        ):
            fn(arg)
            extra = _allocated(fn, arg, 200) - _allocated(fn, arg, 0)
            assert extra == 0, (algorithm, name, extra)


def test_errors_name_no_secret():
    # Bad arguments on every entry point: ValueError, and the secret is in no message.
    for algorithm in ALGORITHMS:
        key = otp.Key(SEED20, algorithm)
        for fn, args in (
            (key.hotp, (-1,)),
            (key.hotp, (2**64,)),
            (key.hotp, ("1",)),
            (key.totp, (-5,)),
            (key.totp, (None,)),
            (key.totp, (1e30,)),
            (key.totp_at, (0, -1)),
        ):
            msg = str(mptest.raises(ValueError, fn, *args))
            assert "1234567890" not in msg and "GEZDGNBV" not in msg, msg


def test_heap_lock_is_real():
    # The lock test above only proves something if allocation fails under the lock.
    micropython.heap_lock()
    try:
        try:
            bytearray(16)
        except MemoryError:
            return
    finally:
        micropython.heap_unlock()
    raise AssertionError("heap_lock did not stop an allocation")


if __name__ == "__main__":
    mptest.main(globals())
