"""The link: whole messages over a byte transport, with request ids, retries and chunking.

    link = Link(transport, timeout=2.0, attempts=3)
    payload = link.request(Command.INFO)          # the answer's payload, or a typed error

A message is sent as chunks of at most 128 bytes; each chunk waits for the token's answer
before the next is written, so the token's ~260-byte input buffer never overflows. A long
answer is fetched chunk by chunk with CONTINUE. A lost or corrupted frame is sent again after
`timeout` seconds with the same id and sequence number (the token answers a repeated frame
from its cache without running the command twice); after `attempts` tries a
DeviceTimeoutError is raised. A status other than OK becomes the host_tools.errors type it
stands for. The link knows frames and statuses, never what a command means.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from host_tools import protocol as p
from host_tools.errors import (
    AuthFailedError,
    AuthRequiredError,
    DeviceTimeoutError,
    DuplicateError,
    HostToolsError,
    InvalidInputError,
    NotFoundError,
    PinRequiredError,
    PresenceRequiredError,
    ProtocolError,
    RetryLaterError,
    TokenError,
    TokenOutOfMemoryError,
    VaultFullError,
    WrongPinError,
)

log = logging.getLogger(__name__)


class Transport(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self, timeout: float) -> bytes:
        """Bytes received within `timeout` seconds (b"" if none)."""
        ...

    def close(self) -> None: ...


_STATUS_ERRORS: dict[int, type[HostToolsError]] = {
    p.Status.FULL: VaultFullError,
    p.Status.DUPLICATE: DuplicateError,
    p.Status.NOT_FOUND: NotFoundError,
    p.Status.INVALID: InvalidInputError,
    p.Status.AMBIGUOUS: InvalidInputError,
    p.Status.BAD_REQUEST: ProtocolError,
    p.Status.UNKNOWN_COMMAND: ProtocolError,
    p.Status.SEQUENCE: ProtocolError,
    p.Status.TOO_LARGE: ProtocolError,
    p.Status.OUT_OF_MEMORY: TokenOutOfMemoryError,
    p.Status.PIN_REQUIRED: PinRequiredError,
    p.Status.PIN_WRONG: WrongPinError,
    p.Status.AUTH_REQUIRED: AuthRequiredError,
    p.Status.AUTH_FAILED: AuthFailedError,
    p.Status.RETRY_LATER: RetryLaterError,
    p.Status.PRESENCE_REQUIRED: PresenceRequiredError,
}


def status_error(status: int, message: str) -> HostToolsError:
    """The typed error for a token status (anything unknown is a TokenError)."""
    try:
        name = p.Status(status).name
    except ValueError:
        name = f"status 0x{status:02x}"
    cls = _STATUS_ERRORS.get(status, TokenError)
    text = message or name.lower().replace("_", " ")
    if cls is ProtocolError:
        text = f"protocol error from the token ({name}): {text}"
    elif cls is TokenOutOfMemoryError:
        text = f"token out of memory: {text}"
    return cls(text)


class Link:
    def __init__(
        self,
        transport: Transport,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        clock: Callable[[], float] = time.monotonic,
        first_id: int | None = None,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.attempts = attempts
        self._clock = clock
        self._parser = p.FrameParser()
        self._pending: list[p.Frame] = []
        # A fresh id after a reconnect, so the token's retry cache never answers a new request
        # with an old one's result.
        self._rid = int(time.monotonic_ns()) % 256 if first_id is None else first_id % 256
        self.retries = 0  # frames sent again (for diagnostics)

    def close(self) -> None:
        self.transport.close()

    def end_line(self) -> None:
        """End any partial line the token holds (noise from before we opened the port)."""
        self.transport.write(b"\n")

    def _next_id(self) -> int:
        self._rid = (self._rid + 1) % 256
        return self._rid

    def exchange(self, frame: p.Frame, timeout: float | None = None) -> p.Frame:
        """Send one frame and return the token's answer to it (same id and seq), sending it
        again after each `timeout` without an answer."""
        line = p.encode_frame(frame)
        wait = self.timeout if timeout is None else timeout
        for attempt in range(self.attempts):
            if attempt:
                self.retries += 1
                log.debug("no answer to id %d seq %d, sending again", frame.rid, frame.seq)
            self.transport.write(line)
            deadline = self._clock() + wait
            while True:
                while self._pending:
                    got = self._pending.pop(0)
                    if got.response and got.rid == frame.rid and got.seq == frame.seq:
                        return got
                    log.debug("ignoring frame id %d seq %d", got.rid, got.seq)
                left = deadline - self._clock()
                if left <= 0:
                    break
                data = self.transport.read(left)
                if data:
                    self._pending.extend(self._parser.feed(data))
        if any(prompt in self._parser.noise for prompt in p.REPL_PROMPTS):
            raise DeviceTimeoutError(
                "the token answers with the MicroPython REPL, not the protocol: its firmware "
                "is not running (reset the board, or `host_tools deploy`)"
            )
        raise DeviceTimeoutError(
            f"no answer from the token after {self.attempts} tries "
            f"(is the firmware running? port busy?)"
        )

    def request(self, command: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        """Run one command; return the answer's payload or raise the status's error."""
        rid = self._next_id()
        chunks = p.split_payload(payload)
        answer: p.Frame | None = None
        for seq, chunk in enumerate(chunks):
            last = seq == len(chunks) - 1
            flags = 0 if last else p.FLAG_MORE
            answer = self.exchange(p.Frame(flags, rid, seq, command, chunk), timeout)
            if not last and answer.code != p.Status.MORE:
                raise status_error(answer.code, answer.payload.decode("utf-8", "replace"))
        assert answer is not None
        status = answer.code
        data = bytearray(answer.payload)
        seq = len(chunks) - 1  # the answer's chunk i answers the frame with seq (this + i)
        while answer.more:
            seq += 1
            if seq > 255:
                raise ProtocolError("token's answer has too many chunks")
            answer = self.exchange(p.Frame(0, rid, seq, p.Command.CONTINUE), timeout)
            if answer.code != status:
                raise ProtocolError("token changed status inside one answer")
            data += answer.payload
        if status != p.Status.OK:
            raise status_error(status, data.decode("utf-8", "replace"))
        return bytes(data)
