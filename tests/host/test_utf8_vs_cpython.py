"""firmware/utf8.py against CPython's own UTF-8 decoder, on a generated corpus run through
the firmware function in ONE MicroPython run ($MICROPYTHON, else the venv's `micropython`).

valid(): every 1- and 2-byte string, every 2-byte prefix followed by boundary third bytes,
every four-byte lead F0..F7 with every second byte and boundary tails, and seeded random mixes
of good characters and stray bytes. The reference is whether bytes.decode("utf-8") raises.
has_control(): every BMP code point and a sample of the others, each alone and inside text.
The reference is unicodedata's category Cc (C0, DEL, C1) plus the bidirectional embeddings,
overrides and isolates named by their code points.
Last, the firmware's protocol server (through tests/host/mptoken.py) answers INVALID to an ADD
or RENAME carrying such a label, and stores nothing.
"""

from __future__ import annotations

import os
import random
import subprocess
import unicodedata
from pathlib import Path

import pytest
from mptoken import MicroPythonToken

from host_tools import protocol as p
from host_tools.errors import InvalidInputError
from host_tools.micropython import find_micropython
from host_tools.session import Session

REPO = Path(__file__).resolve().parents[2]
SEED = 20261130
BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))

# Runs in MicroPython: each record of the input file is a length byte and that many bytes;
# prints one line of "1"/"0" answers, one per record.
MP_SCRIPT = """
import sys
import utf8

def main(path, which):
    check = utf8.valid if which == "valid" else utf8.has_control
    buf = bytearray(256)
    mv = memoryview(buf)
    out = bytearray(1024)  # answers, written out in batches (a small heap on 32-bit builds)
    k = 0
    with open(path, "rb") as f:
        while f.readinto(mv[:1]):
            n = buf[0]
            f.readinto(mv[:n])
            out[k] = 0x31 if check(mv[:n]) else 0x30
            k += 1
            if k == len(out):
                sys.stdout.write(out.decode())
                k = 0
    sys.stdout.write(out[:k].decode())
    sys.stdout.write("\\n")

main(sys.argv[1], sys.argv[2])
"""


def cpython_accepts(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def cpython_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" or ord(ch) in BIDI for ch in text)


def byte_corpus() -> list[bytes]:
    rng = random.Random(SEED)
    corpus = [bytes([a]) for a in range(256)]
    corpus += [bytes([a, b]) for a in range(256) for b in range(256)]
    thirds = (0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF)
    corpus += [bytes([a, b, c]) for a in range(0xC0, 0x100) for b in range(256) for c in thirds]
    tails = ((0x80, 0x80), (0xBF, 0xBF), (0x80, 0x41), (0x41, 0x80), (0xBF, 0xC0))
    corpus += [bytes([a, b, *t]) for a in range(0xF0, 0xF8) for b in range(256) for t in tails]
    pieces = ["a", "~", "\xe9", "\u20ac", "\ud7ff", "\ue000", "\uffff", "\U0001f600"]
    good = [p.encode() for p in pieces] + ["\U0010ffff".encode()]
    for _ in range(20_000):
        parts = []
        for _ in range(rng.randrange(1, 8)):
            if rng.random() < 0.15:
                parts.append(bytes([rng.randrange(0x80, 0x100)]))
            else:
                parts.append(rng.choice(good))
        corpus.append(b"".join(parts))
    return corpus


def text_corpus() -> list[str]:
    rng = random.Random(SEED + 1)
    points = [cp for cp in range(0x10000) if not 0xD800 <= cp <= 0xDFFF]
    points += rng.sample(range(0x10000, 0x110000), 5_000) + [0x10FFFF]
    texts = [chr(cp) for cp in points]
    texts += ["ab" + chr(cp) + "cd" for cp in range(0x300)]
    texts += ["GitHub:" + chr(cp) for cp in range(0x2000, 0x2100)]
    return texts


def run_firmware(corpus: list[bytes], which: str, tmp_path: Path) -> str:
    data = tmp_path / f"{which}.bin"
    data.write_bytes(b"".join(bytes([len(c)]) + c for c in corpus))
    script = tmp_path / "run_utf8.py"
    script.write_text(MP_SCRIPT)
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", str(REPO / "firmware")]))
    proc = subprocess.run(
        [find_micropython(), str(script), str(data), which],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:] or proc.stdout[-2000:]
    answers = proc.stdout.strip()
    assert len(answers) == len(corpus)
    return answers


def test_corpus_covers_both_answers() -> None:
    corpus = byte_corpus()
    accepted = sum(cpython_accepts(c) for c in corpus)
    assert len(corpus) > 200_000
    assert 20_000 < accepted < len(corpus) - 20_000


def test_valid_matches_cpython_decoder(tmp_path: Path) -> None:
    corpus = byte_corpus()
    answers = run_firmware(corpus, "valid", tmp_path)
    bad = [
        c.hex()
        for c, got in zip(corpus, answers, strict=True)
        if (got == "1") != cpython_accepts(c)
    ]
    assert not bad, f"{len(bad)} disagreements with CPython, first: {bad[:10]}"


def test_has_control_matches_unicode_categories(tmp_path: Path) -> None:
    texts = text_corpus()
    answers = run_firmware([t.encode() for t in texts], "has_control", tmp_path)
    expected = [cpython_control(t) for t in texts]
    # The reference itself: 65 Cc + 9 bidi alone, 65 Cc inside text, 9 bidi after "GitHub:".
    assert sum(expected) == 65 + 9 + 65 + 9
    bad = [
        hex(ord(t[2] if len(t) == 5 else t[-1]))
        for t, got, want in zip(texts, answers, expected, strict=True)
        if (got == "1") != want
    ]
    assert not bad, f"{len(bad)} disagreements with unicodedata, first: {bad[:10]}"


def test_token_answers_invalid_to_such_labels(tmp_path: Path) -> None:
    secret = b"12345678901234567890"
    token = MicroPythonToken(tmp_path)
    try:
        s = Session(token.transport)

        def add(name: bytes) -> None:
            fields = p.Fields().u8(0).u8(0).u8(1).u8(6).u16(30).u64(0)
            fields.raw(b"ACME").raw(name).raw(secret)
            s.request(p.Command.ADD, fields.bytes())

        def rename(name: bytes) -> None:
            s.request(
                p.Command.RENAME, p.Fields().raw(b"ACME").raw(b"ok").raw(b"New").raw(name).bytes()
            )

        add(b"ok")
        bad = (b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc1\x81", b"\xc2\x9b", "\u202e".encode())
        for label in bad:
            for request in (add, rename):
                with pytest.raises(InvalidInputError):
                    request(b"x" + label)
        assert [a.label for a in s.accounts()] == ["ACME:ok"]
    finally:
        errors = token.stop()
    assert "Traceback" not in errors, errors
