"""The first statements of firmware/boot.py and firmware/main.py leave no way for a Ctrl-C that
was already pending to escape (docs/security.md, "Locked mode").

On an ESP32 a Ctrl-C sets a pending KeyboardInterrupt that the VM raises only at its check
points: the jump opcodes (py/vm.c, DISPATCH_WITH_PEND_EXC_CHECK -> pending_exception_check)
and C code that calls mp_handle_pending (sleeps, blocking reads; neither importing a built-in
module nor micropython.kbd_intr does). The unix port cannot show this directly (its SIGINT
handler raises at once, anywhere), so this test reads the bytecode the interpreter itself
compiles for each file's prologue (`micropython -v -v` prints it) and checks:
- before the try there are only `import micropython` and `micropython.kbd_intr(-1)`, and no
  jump: no check point where a pending interrupt could be raised outside the try;
- inside the try there is a jump (the check point where it is raised), and the handler
  catches KeyboardInterrupt.
A control file with the loop outside the try fails the same check.
($MICROPYTHON, else the venv's `micropython`.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from host_tools.micropython import find_micropython

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"
OP = re.compile(r"^\d+ ([A-Z_]+)(.*)$")


def prologue(name: str) -> str:
    """The file's top-level code up to its first function: what runs before anything else."""
    return (FIRMWARE / name).read_text().split("\ndef ", 1)[0]


def opcodes(source: str) -> list[tuple[str, str]]:
    """(opcode, argument) of the module-level bytecode, as the interpreter compiles it."""
    proc = subprocess.run(
        [find_micropython(), "-v", "-v", "-c", source],
        capture_output=True,
        text=True,
        timeout=60,
    )
    ops: list[tuple[str, str]] = []
    for line in proc.stdout.splitlines():
        if line.startswith("File ") and ops:
            break  # the next code block (a function): only the module's own code counts
        m = OP.match(line.strip())
        if m:
            ops.append((m.group(1), m.group(2).strip()))
    assert ops, proc.stdout + proc.stderr
    return ops


def check_prologue(source: str) -> None:
    ops = opcodes(source)
    names = [op for op, _ in ops]
    setup = names.index("SETUP_EXCEPT")
    before = ops[:setup]
    assert not [op for op, _ in before if "JUMP" in op], f"a check point before the try: {before}"
    assert ("IMPORT_NAME", "'micropython'") in before, before
    assert ("LOAD_METHOD", "kbd_intr") in before and ("LOAD_CONST_SMALL_INT", "-1") in before
    assert [op for op, _ in before if op.startswith("CALL")] == ["CALL_METHOD"], before
    end = names.index("POP_EXCEPT_JUMP", setup)
    body = names[setup + 1 : end]
    assert any("JUMP" in op for op in body), f"no check point inside the try: {body}"
    handler = ops[end + 1 :]
    assert ("LOAD_NAME", "KeyboardInterrupt") in handler, handler


@pytest.mark.parametrize("name", ["boot.py", "main.py"])
def test_no_check_point_precedes_the_try_that_swallows_a_pending_ctrl_c(name: str) -> None:
    source = prologue(name)
    code = [ln for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert code[:2] == ["import micropython", "micropython.kbd_intr(-1)"], code
    check_prologue(source)


def test_a_loop_before_the_try_fails_the_check() -> None:
    source = (
        "import micropython\nmicropython.kbd_intr(-1)\nfor _ in range(2):\n    pass\n"
        "try:\n    for _ in range(2):\n        pass\nexcept KeyboardInterrupt:\n    pass\n"
    )
    with pytest.raises(AssertionError, match="a check point before the try"):
        check_prologue(source)
