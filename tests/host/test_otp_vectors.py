"""The firmware OTP core against CPython: 10,000 random TOTP vectors per algorithm (SHA1,
SHA256, SHA512) made with hmac/hashlib (host_tools.reference), a sample of each cross-checked
with pyotp, all computed by firmware/otp.py in ONE run of the MicroPython interpreter
($MICROPYTHON, else the venv's `micropython`)."""

from __future__ import annotations

import base64
import hashlib
import os
import random
import subprocess
from pathlib import Path

import pyotp
import pytest

from host_tools import reference
from host_tools.micropython import find_micropython
from host_tools.reference import ALGORITHMS, Vector

REPO = Path(__file__).resolve().parents[2]
COUNT = 10_000  # per algorithm
SEED = 20261123
BLOCK = {"sha1": 64, "sha256": 64, "sha512": 128}  # HMAC block size: longer keys are hashed

# Runs in MicroPython. Each input line: hex secret, base32 rendition of it (lenient form: case,
# spaces, hyphens, padding vary), algorithm, digits, period, unix time. Prints per line the
# code from Key.totp(t) and from Key.totp_at(days, second_of_day), or an error marker.
MP_SCRIPT = """
import sys
import binascii
import otp

def main(path):
    with open(path) as f:
        for line in f:
            h, b32, alg, digits, period, t = line.rstrip("\\n").split(",")
            secret = binascii.unhexlify(h)
            if otp.b32decode(b32) != secret:
                print("B32MISMATCH")
                continue
            key = otp.Key(secret, alg, int(digits), int(period))
            t = int(t)
            print(key.format(key.totp(t)), key.format(key.totp_at(t // 86400, t % 86400)))

main(sys.argv[1])
"""


def micropython() -> str:
    """The same interpreter choice as tests/firmware/conftest.py ($MICROPYTHON or the venv's)."""
    return find_micropython()


def lenient_base32(secret: bytes, rng: random.Random) -> str:
    text = base64.b32encode(secret).decode()
    style = rng.randrange(4)
    if style == 0:
        return text  # canonical, padded
    if style == 1:
        return text.rstrip("=").lower()
    if style == 2:
        bare = text.rstrip("=")
        return " ".join(bare[i : i + 4] for i in range(0, len(bare), 4))
    bare = text.rstrip("=")
    return "-".join(bare[i : i + 5] for i in range(0, len(bare), 5)).lower()


def vectors_for(algorithm: str, count: int, rng: random.Random) -> list[Vector]:
    """`count` random vectors (reference.random_vectors: secrets of 1-100 bytes, digits,
    periods, times) recomputed for one algorithm; one in ten secrets is lengthened to up to
    twice the algorithm's block, so SHA512's hashed long keys are covered too."""
    out = []
    for v in reference.random_vectors(count, rng):
        secret = v.secret
        if rng.random() < 0.1:
            secret += rng.randbytes(rng.randint(0, 2 * BLOCK[algorithm] - len(secret)))
        code = reference.totp(secret, v.unix_time, algorithm, v.digits, v.period)
        out.append(Vector(secret, algorithm, v.digits, v.period, v.unix_time, code))
    return out


@pytest.fixture(scope="module")
def vectors() -> list[Vector]:
    rng = random.Random(SEED)
    return [v for algorithm in ALGORITHMS for v in vectors_for(algorithm, COUNT, rng)]


def test_vectors_cover_the_space(vectors: list[Vector]) -> None:
    assert set(ALGORITHMS) == {"sha1", "sha256", "sha512"}
    for algorithm in ALGORITHMS:
        mine = [v for v in vectors if v.algorithm == algorithm]
        assert len(mine) == COUNT, algorithm
        assert {v.digits for v in mine} == {6, 7, 8}
        assert {v.period for v in mine} == {15, 30, 60}
        lengths = {len(v.secret) for v in mine}
        assert min(lengths) == 1, algorithm
        # Keys of exactly one block, and longer ones (hashed first), for every algorithm.
        assert BLOCK[algorithm] in lengths, algorithm
        assert sum(n > BLOCK[algorithm] for n in lengths) > 10, algorithm
        assert min(v.unix_time for v in mine) == 0
        assert sum(v.unix_time > 2**32 for v in mine) > 1000


def test_reference_matches_rfc_tables() -> None:
    for counter, code in enumerate(reference.RFC4226_HOTP):
        assert reference.hotp(reference.RFC4226_SECRET, counter) == code
    for algorithm, codes in reference.RFC6238_TOTP.items():
        seed = reference.RFC6238_SEEDS[algorithm]
        for t, text in zip(reference.RFC6238_TIMES, codes, strict=True):
            value = reference.totp(seed, t, algorithm, 8)
            assert reference.format_code(value, 8) == text


def test_reference_sample_matches_pyotp(vectors: list[Vector]) -> None:
    # pyotp refuses secrets under 112 bits and wants unpadded base32. 1,000 per algorithm.
    sample = []
    for algorithm in ALGORITHMS:
        mine = [v for v in vectors if v.algorithm == algorithm and len(v.secret) >= 14]
        sample += mine[:1000]
    assert len(sample) == 3000
    for v in sample:
        secret = base64.b32encode(v.secret).decode().rstrip("=")
        otp = pyotp.TOTP(
            secret, digits=v.digits, digest=getattr(hashlib, v.algorithm), interval=v.period
        )
        assert otp.at(v.unix_time) == v.text, v


def test_firmware_core_matches_reference(vectors: list[Vector], tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    data = tmp_path / "vectors.csv"
    data.write_text(
        "".join(
            f"{v.secret.hex()},{lenient_base32(v.secret, rng)},{v.algorithm},{v.digits},"
            f"{v.period},{v.unix_time}\n"
            for v in vectors
        )
    )
    script = tmp_path / "run_vectors.py"
    script.write_text(MP_SCRIPT)
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", str(REPO / "firmware")]))
    proc = subprocess.run(
        [micropython(), str(script), str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:] or proc.stdout[-2000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len(vectors)
    bad = []
    for v, line in zip(vectors, lines, strict=True):
        if line != f"{v.text} {v.text}":
            bad.append((v, line))
    assert not bad, f"{len(bad)} mismatches, first: {bad[:5]}"
