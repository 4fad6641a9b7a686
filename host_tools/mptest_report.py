"""Parse what tests/firmware/mptest.py prints, wherever the test module ran.

mptest.py (plain MicroPython) prints one marker line per event; everything else a test prints
is kept as that test's output. The same parser serves the host pytest plugin
(tests/firmware/conftest.py, one `micropython` process per module) and `host_tools
device-test` (each module run on a board or the sim through mpremote).

    @@MPTEST start <name>
    @@MPTEST pass <name>
    @@MPTEST fail <name>          (followed by the MicroPython traceback, then)
    @@MPTEST endfail <name>
    @@MPTEST skip <name> <reason>
    @@MPTEST done <passed> <failed> <skipped>
"""

from __future__ import annotations

from dataclasses import dataclass, field

MARK = "@@MPTEST"


@dataclass
class Outcome:
    status: str  # pass, fail, skip, missing
    output: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class ModuleRun:
    returncode: int
    outcomes: dict[str, Outcome]
    stray: list[str]  # output outside any test: import errors, crashes


def parse_run(stdout: str, returncode: int) -> ModuleRun:
    outcomes: dict[str, Outcome] = {}
    stray: list[str] = []
    current: Outcome | None = None
    for line in stdout.splitlines():
        if line.startswith(MARK + " "):
            words = line.split(" ", 3)
            event, name = words[1], words[2] if len(words) > 2 else ""
            if event == "start":
                current = outcomes[name] = Outcome("missing")
            elif event in ("pass", "fail") and current is not None:
                current.status = event
                if event == "pass":
                    current = None
            elif event == "endfail":
                current = None
            elif event == "skip" and current is not None:
                current.status = "skip"
                current.reason = words[3] if len(words) > 3 else ""
                current = None
            continue
        (current.output if current is not None else stray).append(line)
    return ModuleRun(returncode, outcomes, stray)
