"""Provisioning the virtual token with `host_tools` over its serial pseudo-terminal.

Each test starts a sim (tests/e2e/conftest.py) and drives the real CLI entry point
(host_tools.cli.main, in process, through the real serial transport); codes are checked
against pyotp, an implementation independent of ours."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import panel_decode as pd
import pyotp
import pytest
from e2e_helpers import host_tools

from host_tools import protocol as p
from host_tools.otpauth import AccountSpec
from host_tools.session import Session
from host_tools.transport import SerialTransport

pytestmark = pytest.mark.e2e

DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def b32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def uri(kind: str, label: str, secret: bytes, **params: object) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"secret": b32(secret), **params}.items())
    return f"otpauth://{kind}/{label}?{query}"


def stable_flash_writes(sim) -> int:  # type: ignore[no-untyped-def]
    """The sim's flash write count once boot-time writes have settled."""
    last = sim.control.firmware_status()["flash_writes"]
    for _ in range(20):
        time.sleep(0.25)
        now = sim.control.firmware_status()["flash_writes"]
        if now == last:
            return int(now)
        last = now
    return int(last)


def pyotp_code(entry: dict, secret: bytes, at: int) -> str:
    return pyotp.TOTP(
        b32(secret), digits=entry["digits"], digest=DIGESTS[entry["algorithm"].lower()],
        interval=entry["period"],
    ).at(at)  # fmt: skip


def test_every_algorithm_digits_period_mix_gives_pyotp_codes(sim, capsys) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(2026)
    secrets: dict[str, bytes] = {}
    mixes = list(itertools.product(("SHA1", "SHA256", "SHA512"), (6, 7, 8), (15, 30, 60)))
    for n, (algorithm, digits, period) in enumerate(mixes):
        secret = rng.randbytes(rng.choice((16, 20, 32, 64)))  # pyotp needs >= 14
        label = f"TOTP{n}:{algorithm.lower()}-{digits}-{period}"
        secrets[label] = secret
        status, out, err = host_tools(
            sim, capsys, "provision",
            uri("totp", label, secret, algorithm=algorithm, digits=digits, period=period),
        )  # fmt: skip
        assert status == 0, err
        assert "codes match the reference" in out
    hotp: dict[str, tuple[bytes, int, str, int]] = {}
    for n, (algorithm, digits) in enumerate(
        itertools.product(("SHA1", "SHA256", "SHA512"), (6, 7, 8))
    ):
        secret = rng.randbytes(20)
        counter = rng.randrange(0, 10**6)
        label = f"HOTP{n}:{algorithm.lower()}-{digits}"
        hotp[label] = (secret, counter, algorithm, digits)
        status, _, err = host_tools(
            sim, capsys, "provision",
            uri("hotp", label, secret, algorithm=algorithm, digits=digits, counter=counter),
        )  # fmt: skip
        assert status == 0, err

    status, out, _ = host_tools(sim, capsys, "code", "--json")
    result = json.loads(out)
    now = result["token_time"]
    assert abs(now - time.time()) < 2  # provisioning synced the clock
    totp_codes = [c for c in result["codes"] if c["type"] == "totp"]
    assert len(totp_codes) == 27
    for entry in totp_codes:
        assert entry["code"] == pyotp_code(entry, secrets[entry["label"]], now), entry["label"]
    assert all(c["code"] is None for c in result["codes"] if c["type"] == "hotp")

    for label, (secret, counter, algorithm, digits) in hotp.items():
        status, out, err = host_tools(sim, capsys, "code", label, "--json")
        assert status == 0, err
        entry = json.loads(out)["codes"][0]
        want = pyotp.HOTP(b32(secret), digits=digits, digest=DIGESTS[algorithm.lower()])
        assert (entry["code"], entry["counter"]) == (want.at(counter), counter), label


def test_list_and_code_never_show_a_secret(sim, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    secret = bytes(range(0x41, 0x41 + 40))  # printable, so any leak would be visible
    assert host_tools(sim, capsys, "provision", uri("totp", "Leak:test", secret))[0] == 0
    heard = bytearray()
    real_read = SerialTransport.read

    def read(self, timeout):  # type: ignore[no-untyped-def]
        data = real_read(self, timeout)
        heard.extend(data)
        return data

    monkeypatch.setattr(SerialTransport, "read", read)
    outputs = ""
    for args in (("list",), ("list", "--json"), ("code",), ("code", "--json"), ("info",)):
        status, out, err = host_tools(sim, capsys, *args)
        assert status == 0, err
        outputs += out + err
    answers = b"".join(f.payload for f in p.FrameParser().feed(bytes(heard)))
    assert b"Leak" in answers  # we did hear the token's answers
    for form in (secret.decode(), b32(secret), secret.hex(), base64.b64encode(secret).decode()):
        assert form[:12] not in outputs
    assert secret[:12] not in answers and secret[:12] not in bytes(heard)


def test_delete_rename_and_wipe(sim, capsys) -> None:  # type: ignore[no-untyped-def]
    for name in ("alice", "bob", "carol"):
        assert host_tools(sim, capsys, "provision", uri("totp", f"ACME:{name}", b"k" * 20))[0] == 0
    status, out, _ = host_tools(sim, capsys, "rename", "bob", "Other:robert")
    assert status == 0, out
    assert host_tools(sim, capsys, "delete", "carol", "--force")[0] == 0
    _, out, _ = host_tools(sim, capsys, "list", "--json")
    assert [a["label"] for a in json.loads(out)] == ["ACME:alice", "Other:robert"]
    status, _, err = host_tools(sim, capsys, "delete", "carol", "--force")
    assert status == 8 and err.count("\n") == 1
    assert host_tools(sim, capsys, "wipe", "--force")[0] == 0
    _, out, _ = host_tools(sim, capsys, "info", "--json")
    assert json.loads(out)["accounts"] == 0


def test_duplicate_and_full_vault_errors(sim, capsys) -> None:  # type: ignore[no-untyped-def]
    first = uri("totp", "ACME:dup", b"d" * 20)
    assert host_tools(sim, capsys, "provision", first)[0] == 0
    status, _, err = host_tools(sim, capsys, "provision", first)
    assert status == 7 and "already" in err and err.count("\n") == 1
    with Session(SerialTransport.open(sim.port)) as s:
        for i in range(63):
            s.add(AccountSpec("totp", "Fill", f"user{i}", bytes([i + 1]) * 20))
    status, out, _ = host_tools(sim, capsys, "info")
    assert "64 of 64: the vault is FULL" in out
    status, _, err = host_tools(sim, capsys, "provision", uri("totp", "ACME:late", b"l" * 20))
    assert status == 6 and "full" in err and "64" in err


@pytest.mark.parametrize(
    "bad",
    [
        "otpauth://totp/ACME:x?secret=***",
        "otpauth://totp/ACME:x",
        "otpauth://totp/ACME:x?secret=GEZDGNBV&digits=10",
        "otpauth://hotp/ACME:x?secret=GEZDGNBV",
        "otpauth://totp/ACME:x?secret=GEZDGNBV&period=0",
        "otpauth://totp/" + "x" * 70 + "?secret=GEZDGNBV",
        "otpauth://totp/ACME:x?secret=GEZDGNBV&algorithm=MD5",
    ],
)
def test_invalid_uris_are_rejected_with_nothing_written(sim, capsys, bad: str) -> None:  # type: ignore[no-untyped-def]
    assert host_tools(sim, capsys, "info")[0] == 0  # the token is up, its vault loaded
    writes = stable_flash_writes(sim)
    status, out, err = host_tools(sim, capsys, "provision", bad)
    assert status == 2 and out == "" and err.count("\n") == 1
    assert sim.control.firmware_status()["flash_writes"] == writes
    _, out, _ = host_tools(sim, capsys, "list", "--json")
    assert json.loads(out) == []


def _press_when_asked(sim, done: threading.Event) -> None:  # type: ignore[no-untyped-def]
    while not done.wait(0.1):
        if pd.decode(sim.control.panel()["gddram"]).has_text("Clock change?"):
            sim.control.press(0, 100)
            return


def test_time_sync_leaves_the_sim_clock_within_50_ms(sim, capsys) -> None:  # type: ignore[no-untyped-def]
    sim.control.shift_time(-3600.25)
    status, out, _ = host_tools(sim, capsys, "time", "--json")
    before = json.loads(out)
    assert not before["valid"] or abs(before["offset_ms"] + 3_600_250) < 1500
    # An hour's change needs a press on the token (docs/security.md, "Clock changes"): the
    # user presses when the panel asks, while `time sync` waits for it.
    # (A fresh sim's clock was never set: then the first set is free and nobody is asked.)
    done = threading.Event()
    presser = threading.Thread(target=_press_when_asked, args=(sim, done), daemon=True)
    presser.start()
    try:
        status, out, err = host_tools(sim, capsys, "time", "sync", "--json")
    finally:
        done.set()
        presser.join(5)
    assert status == 0, err
    reported = json.loads(out)["residual_ms"]
    # The DS3231 model's own state: its time is the host clock plus offset_ns.
    model = json.loads((Path(sim.state_dir) / "ds3231.json").read_text())
    truth_ms = model["offset_ns"] / 1e6
    assert abs(truth_ms) < 50
    assert abs(reported) < 50
    status, out, _ = host_tools(sim, capsys, "time", "--json")
    assert abs(json.loads(out)["offset_ms"]) < 50
    print(f"\ntime sync: residual reported {reported:+.1f} ms, DS3231 model {truth_ms:+.1f} ms")


def test_verify_10000_vectors_passes(unpaced_sim, capsys) -> None:  # type: ignore[no-untyped-def]
    # Correctness at volume, not line speed: on the unpaced line (conftest.UNPACED) this took
    # a third of the 97 s it took at 115,200 baud. The 260-byte ring is kept and fills
    # faster unpaced, so the rx_dropped check is at least as strict.
    sim = unpaced_sim
    start = time.perf_counter()
    status, out, err = host_tools(
        sim, capsys, "verify", "--count", "10000", "--seed", "1", "--json"
    )
    wall = time.perf_counter() - start
    assert status == 0, err
    report = json.loads(out)
    assert (report["passed"], report["failed"]) == (10030, 0)  # 28 RFC, 2 Steam, 10000 random
    print(f"\nverify --count 10000: {wall:.1f} s wall, {report['vectors_per_second']} vectors/s")
    assert sim.control.status()["rx_dropped"] == 0  # flow control kept the 260-byte buffer


def test_the_console_script_and_screen_png(sim, tmp_path: Path) -> None:
    png = tmp_path / "screen.png"
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "host_tools"), "--port", sim.port,
         "screen", "--png", str(png)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert png.exists() and len(proc.stdout.splitlines()) == 34
    with Session(SerialTransport.open(sim.port)) as s:
        for _ in range(3):  # the picture may change between the two reads: retry
            shown = s.screen().data
            if shown == sim.control.gddram():
                break
        else:
            pytest.fail("the protocol's screen never matched the panel model's GDDRAM")
