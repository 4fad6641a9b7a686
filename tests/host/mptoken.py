"""Run the firmware's protocol server under the real `micropython` interpreter for host tests.

`MicroPythonToken(data_dir)` starts tests/host/mpserve/serve_token.py (the real firmware
server.py, protocol.py, vault.py and otp.py, with a fake clock, config and display) with its
stdin/stdout as pipes; `.transport` is a host_tools.session Transport over those pipes.
"""

from __future__ import annotations

import os
import select
import subprocess
from pathlib import Path

from host_tools.micropython import find_micropython

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "mpserve" / "serve_token.py"


def interpreter() -> str:
    return find_micropython()


class PipeTransport:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.written = 0
        self.received = 0

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        self.written += len(data)

    def read(self, timeout: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], max(timeout, 0.0))
        if not ready:
            return b""
        data = os.read(fd, 4096)
        self.received += len(data)
        return data

    def close(self) -> None:
        pass


class MicroPythonToken:
    def __init__(self, data_dir: Path, clock_offset_ms: int | None = 0) -> None:
        path = os.pathsep.join([".frozen", str(REPO / "firmware"), str(SCRIPT.parent)])
        offset = "unset" if clock_offset_ms is None else str(clock_offset_ms)
        self.proc = subprocess.Popen(
            [interpreter(), str(SCRIPT), str(data_dir), offset],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(os.environ, MICROPYPATH=path, TZ="UTC"),
        )
        self.transport = PipeTransport(self.proc)

    def stop(self) -> str:
        """End the server (closing its input) and return what it wrote to stderr."""
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.stderr.read().decode(errors="replace")
