"""`make bench`: speed and memory of the OTP core's SHA1 path, side by side with baselines.

Runs bench/mp_otp.py in MicroPython ($MICROPYTHON, else the venv's `micropython`; also the
32-bit ../shared/bin/micropython32 when it exists) and times CPython pyotp here, then prints
one table: median µs per code (fastest run in brackets) for the core and for a textbook naive
HMAC-SHA1 on the same interpreter, the ratio, heap bytes per code, the heap_lock proof, and
the same timings on a fragmented heap.
"""

from __future__ import annotations

import base64
import importlib.metadata
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyotp

from host_tools.errors import HostToolsError
from host_tools.micropython import find_micropython

REPO = Path(__file__).resolve().parent.parent
MP_SCRIPT = REPO / "bench" / "mp_otp.py"
MICROPYTHON32 = REPO.parent / "shared" / "bin" / "micropython32"
SECRET = b"12345678901234567890"
GOAL = 6.0  # the core must be at least this many times faster than naive on the unix port


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


def time_pyotp(codes: int = 2000, runs: int = 21) -> tuple[float, float]:
    hotp = pyotp.HOTP(base64.b32encode(SECRET).decode().rstrip("="))
    per_code = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        for counter in range(codes):
            hotp.at(counter)
        per_code.append((time.perf_counter_ns() - start) / codes / 1000)
    return statistics.median(per_code), min(per_code)


def us(pair: str) -> tuple[float, float]:
    median, fastest = (float(x) for x in pair.split())
    return median, fastest


def fmt(pair: tuple[float, float]) -> str:
    return f"{pair[0]:8.2f} ({pair[1]:.2f})"


def main() -> None:
    print("OTP core bench: SHA1 HOTP, 6 digits; µs per code = median of 31 runs of 2000 codes")
    print("(fastest run in brackets); naive = textbook HMAC-SHA1 on the same interpreter.\n")
    unix_ratio = None
    for interpreter in interpreters():
        f = run_micropython(interpreter)
        core, naive = us(f["core_us"]), us(f["naive_us"])
        frag_core, frag_naive = us(f["frag_core_us"]), us(f["frag_naive_us"])
        ratio = naive[0] / core[0]
        if unix_ratio is None:
            unix_ratio = ratio
        print(f"{interpreter}  [{f['interpreter']}, viper {'yes' if f['viper'] == '1' else 'NO'}]")
        print(f"  core SHA1 path       {fmt(core)} µs/code   {f['core_bytes']} bytes/code")
        print(f"  naive HMAC-SHA1      {fmt(naive)} µs/code   {f['naive_bytes']} bytes/code")
        print(
            f"  ratio core/naive     {core[0] / naive[0]:8.3f}  "
            f"(core {ratio:.1f}x faster; fastest runs {naive[1] / core[1]:.1f}x)"
        )
        locked = "yes" if f["core_heap_locked_ok"] == "1" else "NO (allocation under lock)"
        print(f"  1000 core codes under micropython.heap_lock(): {locked}")
        print(
            f"  fragmented heap ({f['frag_live_objects']} small live objects): "
            f"core {fmt(frag_core)}  naive {fmt(frag_naive)} µs/code  "
            f"(core {frag_naive[0] / frag_core[0]:.1f}x faster)"
        )
        sha256 = us(f["sha256_us"])
        print(
            f"  other paths: SHA256 (hashlib, cached pads) {sha256[0]:.2f} µs/code, "
            f"SHA512 (sha512.py) {float(f['sha512_us']):.0f} µs/code\n"
        )
    py = time_pyotp()
    version = importlib.metadata.version("pyotp")
    print(f"CPython {sys.version.split()[0]} pyotp {version}: {fmt(py)} µs/code")
    if unix_ratio is not None:
        verdict = "met" if unix_ratio >= GOAL else "NOT met"
        print(f"goal: core >= {GOAL:.0f}x faster than naive on the first interpreter: {verdict}")


if __name__ == "__main__":
    main()
    import rv32  # bench/rv32.py: exact instruction counts on RV32 in QEMU, when installed

    rv32.report()
