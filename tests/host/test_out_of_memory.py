"""Out of memory on the token, as the host reports it, and `info`'s heap figures: protocol
1.1 appends heap free, largest free block and a memory note to INFO; status OUT_OF_MEMORY is
its own error ("token out of memory: ...", exit status 16). The firmware side (a MemoryError
forced during a save, ADD and the display at boot) is tests/firmware/test_memory.py."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from mptoken import MicroPythonToken

from host_tools import cli
from host_tools import protocol as p
from host_tools.commands import _token
from host_tools.errors import ExitStatus, TokenOutOfMemoryError
from host_tools.link import status_error
from host_tools.session import Session


@pytest.fixture
def token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MicroPythonToken]:
    t = MicroPythonToken(tmp_path / "token")
    (tmp_path / "token").mkdir()
    monkeypatch.setattr(_token, "open_session", lambda port: Session(t.transport))
    yield t
    assert "Traceback" not in t.stop()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_info_shows_slots_and_the_heap_the_real_firmware_has_left(
    token: MicroPythonToken, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "info", "--json")
    assert status == 0, err
    data = json.loads(out)
    assert data["protocol"] == "1.2"
    assert (data["accounts"], data["capacity"], data["free"]) == (0, 64, 64)
    assert 0 < data["heap_largest_free"] <= data["heap_free"]
    assert data["out_of_memory"] is None
    status, out, _ = run(capsys, "info")
    assert status == 0
    assert "0 of 64 used, 64 free" in out
    heap = [line for line in out.splitlines() if line.startswith("heap:")]
    assert len(heap) == 1 and "bytes free, largest free block" in heap[0]
    assert "RAN OUT OF MEMORY" not in out


def test_out_of_memory_status_is_its_own_error_and_exit_status() -> None:
    message = "command 0x06 did not fit in the heap (812 bytes free)"
    e = status_error(p.Status.OUT_OF_MEMORY, message)
    assert isinstance(e, TokenOutOfMemoryError)
    assert str(e) == f"token out of memory: {message}"
    assert e.exit_code == ExitStatus.OUT_OF_MEMORY == 16
    assert str(status_error(p.Status.OUT_OF_MEMORY, "")) == "token out of memory: out of memory"


def _info_payload(extra: bytes) -> bytes:
    return bytes((64, 3, p.INFO_CLOCK)) + b"\x05fw-10" + extra


class _Canned(Session):
    """A Session whose INFO answer is given (no transport)."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.hello_info = None

    def request(self, command: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        assert command == p.Command.INFO
        return self.payload

    def close(self) -> None:
        pass


def test_an_older_token_without_heap_fields_still_reads(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = _Canned(_info_payload(b""))
    i = s.info()
    assert (i.count, i.heap_free, i.heap_largest_free, i.memory_note) == (3, None, None, None)
    monkeypatch.setattr(_token, "open_session", lambda port: s)
    status, out, _ = run(capsys, "info")
    assert status == 0 and "not reported (firmware older than protocol 1.1)" in out


def test_info_says_what_ran_out_of_memory_never_no_display(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = struct.pack("<II", 5000, 1200) + b"\x0dboot: display" + b"later fields"
    s = _Canned(_info_payload(extra))
    i = s.info()  # a later minor's extra bytes are ignored
    assert (i.heap_free, i.heap_largest_free, i.memory_note) == (5000, 1200, "boot: display")
    monkeypatch.setattr(_token, "open_session", lambda port: s)
    status, out, _ = run(capsys, "info")
    assert status == 0
    assert "display:   NOT SET UP: the token ran out of memory at boot" in out
    assert "display:   none" not in out
    assert "heap:      5,000 bytes free, largest free block 1,200" in out
    assert "RAN OUT OF MEMORY (boot: display)" in out
    status, out, _ = run(capsys, "info", "--json")
    assert json.loads(out)["out_of_memory"] == "boot: display"


def test_the_cli_prints_one_line_and_exits_16_when_the_token_runs_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Failing(_Canned):
        def request(
            self, command: int, payload: bytes = b"", timeout: float | None = None
        ) -> bytes:
            raise status_error(p.Status.OUT_OF_MEMORY, "command 0x02 did not fit in the heap")

    monkeypatch.setattr(_token, "open_session", lambda port: Failing(b""))
    status, _, err = run(capsys, "info")
    assert status == 16
    lines = err.strip().splitlines()
    assert lines == ["host_tools: token out of memory: command 0x02 did not fit in the heap"]
