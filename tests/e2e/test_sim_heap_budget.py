"""The sim keeps the firmware to a heap budget (`host_tools sim --heap SIZE`): the firmware
finds SIZE bytes free beside the sim's plumbing, `sim-ctl status` reports its heap (in use,
peak, free, largest free block) and `host_tools info` the token's own figures (protocol 1.1)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from e2e_helpers import host_tools

BIN = Path(sys.executable).parent
LIMIT = 400 * 1024  # room for the firmware from source on the venv's 64-bit interpreter


def sim_ctl_status(sim) -> dict:  # type: ignore[no-untyped-def]
    ctl = [str(BIN / "host_tools"), "sim-ctl", "--state", str(sim.state_dir), "status"]
    proc = subprocess.run(ctl, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_heap_budget_figures_in_sim_ctl_status_and_info(sim_factory, capsys) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory("--heap", f"{LIMIT // 1024}K", "--baud", "0")
    status = sim_ctl_status(sim)
    assert status["heap_limit"] == LIMIT
    boot = status["heap_at_boot"]
    assert boot["limit"] == LIMIT and boot["plumbing"] > 10_000
    # What the firmware found free when simboot handed over: the budget, give or take the
    # ballast's own header.
    assert LIMIT - 256 <= boot["free_at_boot"] <= LIMIT
    heap = status["heap"]
    assert heap is not None, status.get("heap_error")
    assert heap["limit"] == LIMIT
    assert 10_000 < heap["used"] <= heap["peak"]
    assert heap["used"] + heap["free"] <= LIMIT + 256
    assert 0 < heap["largest_free"] <= heap["free"] + heap["reserve"]

    code, out, err = host_tools(sim, capsys, "info", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["protocol"] == "1.2" and info["capacity"] == 64 and info["free"] == 64
    assert 0 < info["heap_largest_free"] <= info["heap_free"]
    # INFO counts the reserve the plumbing keeps for its messages as free: it is the same heap.
    assert info["heap_free"] <= LIMIT + heap["reserve"]
    assert info["out_of_memory"] is None
    code, out, _ = host_tools(sim, capsys, "info")
    assert code == 0 and "largest free block" in out and "display:   yes" in out


def test_heap_zero_lifts_the_limit(sim_factory) -> None:  # type: ignore[no-untyped-def]
    sim = sim_factory("--heap", "0", "--baud", "0")
    status = sim_ctl_status(sim)
    assert status["heap_limit"] is None
    heap = status["heap"]
    assert heap["limit"] is None and heap["reserve"] == 0 and heap["peak"] is None
    assert heap["free"] > 2 * LIMIT  # the interpreter's default heap (2 MiB or 1 MiB)


def test_the_protocol_server_is_unloaded_when_the_host_is_quiet(sim_factory, capsys) -> None:  # type: ignore[no-untyped-def]
    # The protocol server (server.py and protocol.py) is imported at the host's first byte and
    # dropped after 12 s without one: a token spends most of its life showing codes. This sim
    # drops it after 2 s (`sim --server-idle-ms`), so the test need not wait the 12 s out.
    sim = sim_factory("--heap", f"{LIMIT // 1024}K", "--baud", "0", "--server-idle-ms", "2000")
    idle = sim_ctl_status(sim)["heap"]["used"]
    code, _, err = host_tools(sim, capsys, "info")
    assert code == 0, err
    talking = sim_ctl_status(sim)["heap"]["used"]
    assert talking > idle + 8_000, (idle, talking)  # 15 KB on micropython32, more on 64-bit
    time.sleep(4.0)  # 2 s of quiet, and margin for a loaded machine
    quiet = sim_ctl_status(sim)["heap"]["used"]
    assert quiet < talking - 8_000, (idle, talking, quiet)
    code, out, err = host_tools(sim, capsys, "info")  # and it comes back at the next command
    assert code == 0 and "display:   yes" in out, err
