"""Helpers shared by the end-to-end tests: the CLI run in process, and waiting for a panel."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from typing import Any

import panel_decode as pd
import pytest

from host_tools import cli


def host_tools(
    sim: Any, capsys: Any, *args: str, stdin: str | None = None
) -> tuple[int, str, str]:
    """`host_tools --port PORT ARGS` in process: (exit status, stdout, stderr). `stdin`, when
    given, is what the command reads from standard input ("" for nothing: no prompt waits)."""
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        status = cli.main(["--port", sim.port, *args])
    finally:
        sys.stdin = saved
    out, err = capsys.readouterr()
    return status, out, err


def wait_screen(
    sim: Any,
    pred: Callable[[Any, dict[str, Any]], Any],
    timeout: float = 10.0,
    what: str = "screen",
) -> tuple[dict[str, Any], Any]:
    """The first frame (now or later) whose decoded screen satisfies pred(screen, frame)."""
    deadline = time.monotonic() + timeout
    frame = sim.control.panel()
    while True:
        screen = pd.decode(frame["gddram"])
        if pred(screen, frame):
            return frame, screen
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"{what} not seen; last panel:\n{pd.render(frame['gddram'])}")
        try:
            frame = sim.control.wait_frame(after=frame["version"], timeout=min(left, 2.0))
        except Exception:  # noqa: BLE001 - no new frame yet: look again
            frame = sim.control.panel()
