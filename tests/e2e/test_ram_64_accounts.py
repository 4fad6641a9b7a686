"""The firmware on an ESP32's heap with 64 accounts (issue 11): deployed as .mpy into a sim on
the 32-bit interpreter with `--heap esp32` (112 KiB of the firmware's own), 64 accounts
provisioned (40 SHA1, 12 SHA256, 12 SHA512; 20-character issuers, 32-character names; 6 and 8
digits; some HOTP), every code checked against pyotp, every account stepped through with the
buttons, an HOTP press, a setting, a rename, a delete and a wipe; no MemoryError anywhere, and
the heap figures of `sim-ctl status` within the targets: steady (64 accounts, protocol server
unloaded) <= 64 KiB, peak <= 96 KiB.

Everything is asserted: a MemoryError (the token's INFO names any), a wrong code or a heap
figure over its target fails the test.
Provisioning uses the session layer directly (one session, no CHECK per account) to stay
within seconds; the codes are then checked all at once with `code --json`.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyotp
import pytest
from e2e_helpers import host_tools, wait_screen

from host_tools.account import AccountSpec
from host_tools.session import open_session

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
MP32 = os.environ.get("MICROPYTHON32") or str(REPO.parent / "shared" / "bin" / "micropython32")
STEADY_MAX = 64 * 1024
PEAK_MAX = 96 * 1024
DIGESTS = {"sha1": "sha1", "sha256": "sha256", "sha512": "sha512"}


def specs() -> list[AccountSpec]:
    out = []
    for i in range(64):
        algorithm = "sha1" if i < 40 else "sha256" if i < 52 else "sha512"
        size = {"sha1": 20, "sha256": 32, "sha512": 64}[algorithm]
        secret = bytes((i * 7 + j) & 0xFF for j in range(size))
        kind = "hotp" if i % 10 == 3 else "totp"
        issuer = f"Issuer-{i:02d}-abcdefghij"  # 20 characters
        name = f"user{i:02d}.name@example-mail.com.x"  # 32 characters
        out.append(AccountSpec(kind, issuer, name, secret, algorithm, 8 if i % 2 else 6))
    return out


def heap(sim) -> dict:  # type: ignore[no-untyped-def]
    ctl = [str(BIN / "host_tools"), "sim-ctl", "--state", str(sim.state_dir), "status"]
    proc = subprocess.run(ctl, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)["heap"]
    assert figures is not None, "the firmware stopped (at the REPL)"
    return figures


def test_64_accounts_on_an_esp32_heap(sim_factory, capsys) -> None:  # type: ignore[no-untyped-def]
    if not os.access(MP32, os.X_OK):
        pytest.skip(f"needs the 32-bit MicroPython ($MICROPYTHON32 or {MP32})")
    # The protocol server is unloaded after 2 s of quiet, not 12 (`sim --server-idle-ms`), so
    # the steady heap below is measured without waiting 12 s.
    sim = sim_factory(
        "--heap", "esp32", "--baud", "0", "--micropython", MP32, "--server-idle-ms", "2000"
    )
    deploy = subprocess.run(
        [str(BIN / "host_tools"), "--port", sim.port, "deploy"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    sim.control.wait_ready(boot_count=3)
    accounts = specs()
    with open_session(sim.port) as s:
        s.set_time_ms(int(time.time() * 1000))
        for spec in accounts:
            s.add(spec)
    status, out, err = host_tools(sim, capsys, "code", "--json")
    assert status == 0, err
    result = json.loads(out)
    now = result["token_time"]
    by_label = {f"{a.issuer}:{a.name}": a for a in accounts}
    assert len(result["codes"]) == 64
    for entry in result["codes"]:
        spec = by_label[entry["label"]]
        if spec.kind == "hotp":
            continue
        want = pyotp.TOTP(
            base64.b32encode(spec.secret).decode(), digits=spec.digits,
            digest=DIGESTS[spec.algorithm], interval=spec.period,
        ).at(now)  # fmt: skip
        assert entry["code"] == want, entry["label"]

    # Every account on the panel, stepped through with the NEXT button, from the one shown
    # after a first press (which may only wake a dimmed screen).
    sim.control.press(0, 100)
    time.sleep(1.0)
    _, screen = wait_screen(sim, lambda sc, _f: sc.position is not None, what="a position")
    shown = int(screen.position.split("/")[0])

    def step() -> int:
        at = shown % 64 + 1
        sim.control.press(0, 100)
        wait_screen(sim, lambda sc, _f: sc.position == f"{at}/64", what=f"{at}/64")
        return at

    for _ in range(64):
        shown = step()
    # An HOTP press (account 4 is HOTP: a long press makes its code).
    while shown != 4:
        shown = step()
    sim.control.press(0, 1500)
    hotp = accounts[3]
    want = pyotp.HOTP(base64.b32encode(hotp.secret).decode(), digits=hotp.digits).at(0)
    wait_screen(sim, lambda sc, _f: sc.code == want, what=f"HOTP code {want}")

    for args in (
        ("config", "set", "preview_s", "0"),
        ("rename", "Issuer-05-abcdefghij:user05", "Renamed:account"),
        ("delete", "--force", "Issuer-06-abcdefghij:user06"),
    ):
        status, _, err = host_tools(sim, capsys, *args, stdin="")
        assert status == 0, (args, err)
    peak = heap(sim)["peak"]
    time.sleep(4)  # the protocol server is unloaded after 2 s of quiet
    steady = heap(sim)
    peak = max(peak, steady["peak"])
    status, out, err = host_tools(sim, capsys, "info", "--json")
    assert status == 0, err
    assert json.loads(out)["out_of_memory"] is None  # nothing ran out of memory
    status, _, err = host_tools(sim, capsys, "wipe", "--force", stdin="")
    assert status == 0, err
    wait_screen(sim, lambda sc, _f: sc.has_text("No accounts"), what="No accounts")
    figures = f"steady heap {steady['used']:,} B, peak {peak:,} B"
    print(f"ESP32 heap, 64 accounts: {figures}")
    assert steady["used"] <= STEADY_MAX, f"{figures}: steady over {STEADY_MAX:,}"
    assert peak <= PEAK_MAX, f"{figures}: peak over {PEAK_MAX:,}"
