"""The protocol client: typed methods over one transport, typed results, typed errors.

    with Session(SerialTransport.open(port)) as s:     # HELLO runs on open
        s.info().free
        s.add(spec); s.check(account, [59, 1111111109])
        s.codes(); s.sync_time().residual_ms

Every message is sent as chunks of at most 128 bytes; each chunk waits for the token's answer
before the next is written, so the token's ~260-byte input buffer never overflows. A lost or
corrupted frame is sent again after `timeout` seconds (the token answers a repeated frame from
its cache without running the command twice); after `attempts` tries a DeviceTimeoutError is
raised. Token statuses map onto host_tools.errors types. The library never logs secrets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol as TypingProtocol

from host_tools import protocol as p
from host_tools import timesync
from host_tools.errors import (
    DeviceTimeoutError,
    DuplicateError,
    HostToolsError,
    InvalidInputError,
    NotFoundError,
    ProtocolError,
    TokenError,
    VaultFullError,
)
from host_tools.otpauth import AccountSpec
from host_tools.reference import Vector

log = logging.getLogger(__name__)

MAX_VECTORS = 32  # per VECTORS message (the token's limit)


class Transport(TypingProtocol):
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
    return cls(text)


@dataclass(frozen=True)
class Hello:
    major: int
    minor: int
    max_payload: int
    max_request: int
    max_response: int
    firmware: str


@dataclass(frozen=True)
class Info:
    capacity: int
    count: int
    clock_valid: bool
    display: bool
    vault_corrupt: bool
    vault_recovered: bool
    firmware: str

    @property
    def free(self) -> int:
        return self.capacity - self.count

    @property
    def full(self) -> bool:
        return self.count >= self.capacity


@dataclass(frozen=True)
class Account:
    """An account as the token lists it: labels and parameters, never the secret."""

    index: int
    kind: str
    algorithm: str
    digits: int
    period: int
    counter: int
    issuer: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.issuer}:{self.name}" if self.issuer else self.name


@dataclass(frozen=True)
class Code:
    account: Account
    code: int | None  # None: HOTP (computed only on request) or the clock is not set
    seconds_left: int

    @property
    def text(self) -> str | None:
        return None if self.code is None else f"{self.code:0{self.account.digits}d}"


@dataclass(frozen=True)
class Calculation:
    account: Account
    code: int
    seconds_left: int  # TOTP: until the next code; HOTP: 0
    step: int  # TOTP: time step; HOTP: the counter used

    @property
    def text(self) -> str:
        return f"{self.code:0{self.account.digits}d}"


@dataclass(frozen=True)
class HotpVector:
    """An HOTP test vector (period 0 on the wire). The secret stays out of repr."""

    secret: bytes = field(repr=False)
    algorithm: str
    digits: int
    counter: int
    code: int


@dataclass(frozen=True)
class Screen:
    width: int
    height: int
    data: bytes  # MONO_VLSB, page-major: byte (page * width + x), bit (y % 8)

    def pixel(self, x: int, y: int) -> bool:
        return bool(self.data[(y // 8) * self.width + x] >> (y % 8) & 1)


class Session:
    def __init__(
        self,
        transport: Transport,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        handshake: bool = True,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.attempts = attempts
        self.flash_s = 3.0  # extra wait for commands that write the token's flash
        self._parser = p.FrameParser()
        self._pending: list[p.Frame] = []
        self._rid = int(time.monotonic_ns()) % 256  # a fresh id after a reconnect
        self.hello_info: Hello | None = None
        self.retries = 0  # frames sent again (for diagnostics)
        if handshake:
            self.hello_info = self.hello()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    # ---- frames and messages

    def _next_id(self) -> int:
        self._rid = (self._rid + 1) % 256
        return self._rid

    def _exchange(self, frame: p.Frame, timeout: float | None = None) -> p.Frame:
        """Send one frame and return the token's answer to it (same id and seq)."""
        line = p.encode_frame(frame)
        wait = self.timeout if timeout is None else timeout
        for attempt in range(self.attempts):
            if attempt:
                self.retries += 1
                log.debug("no answer to id %d seq %d, sending again", frame.rid, frame.seq)
            self.transport.write(line)
            deadline = time.monotonic() + wait
            while True:
                while self._pending:
                    got = self._pending.pop(0)
                    if got.response and got.rid == frame.rid and got.seq == frame.seq:
                        return got
                    log.debug("ignoring frame id %d seq %d", got.rid, got.seq)
                left = deadline - time.monotonic()
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
            answer = self._exchange(p.Frame(flags, rid, seq, command, chunk), timeout)
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
            answer = self._exchange(p.Frame(0, rid, seq, p.Command.CONTINUE), timeout)
            if answer.code != status:
                raise ProtocolError("token changed status inside one answer")
            data += answer.payload
        if status != p.Status.OK:
            raise status_error(status, data.decode("utf-8", "replace"))
        return bytes(data)

    # ---- commands

    def hello(self) -> Hello:
        self.transport.write(b"\n")  # end any partial line the token holds
        r = p.FieldReader(
            self.request(
                p.Command.HELLO, p.Fields().u8(p.PROTOCOL_MAJOR).u8(p.PROTOCOL_MINOR).bytes()
            )
        )
        hello = Hello(r.u8(), r.u8(), r.u16(), r.u16(), r.u16(), r.text())
        if hello.major != p.PROTOCOL_MAJOR:
            raise ProtocolError(
                f"protocol mismatch: the token speaks v{hello.major}.{hello.minor}, host_tools "
                f"speaks v{p.PROTOCOL_MAJOR}.{p.PROTOCOL_MINOR}; update the older side"
            )
        log.info("token firmware %s, protocol %d.%d", hello.firmware, hello.major, hello.minor)
        return hello

    def info(self) -> Info:
        r = p.FieldReader(self.request(p.Command.INFO))
        capacity, count, flags = r.u8(), r.u8(), r.u8()
        firmware = r.text()
        return Info(
            capacity,
            count,
            bool(flags & 1),
            bool(flags & 2),
            bool(flags & 4),
            bool(flags & 8),
            firmware,
        )

    def time_sample(self) -> timesync.Sample:
        """One TIME_GET with host timestamps around it (see host_tools.timesync)."""
        sent = timesync.host_now_ms()
        data = self.request(p.Command.TIME_GET)
        received = timesync.host_now_ms()
        r = p.FieldReader(data)
        valid = bool(r.u8())
        token_ms = r.u64()
        r.end()
        return timesync.Sample(sent, received, token_ms, valid)

    def time_samples(self, count: int = 5) -> list[timesync.Sample]:
        return [self.time_sample() for _ in range(count)]

    def set_time_ms(self, unix_ms: int) -> None:
        # The token may wait for the next second edge to write its RTC: allow for it.
        self.request(
            p.Command.TIME_SET, p.Fields().u64(unix_ms).bytes(), timeout=self.timeout + 1.5
        )

    def sync_time(
        self, samples: int = 5, rounds: int = 3, goal_ms: float = 5.0
    ) -> timesync.SyncResult:
        """Set the token's clock to the host's, compensating for the round trip; repeat (up
        to `rounds`) while the measured residual exceeds `goal_ms`."""
        first = self.time_samples(samples)
        good = [s for s in first if s.valid]
        before = timesync.best(good).offset_ms if len(good) == len(first) else None
        rtt = timesync.best(first).rtt_ms
        correction = 0.0
        residual = timesync.best(first)
        for n in range(1, rounds + 1):
            self.set_time_ms(timesync.set_value_ms(timesync.host_now_ms() - correction, rtt))
            after = self.time_samples(samples)
            if not all(s.valid for s in after):
                raise TokenError("the token's clock is still not valid after setting it")
            residual = timesync.best(after)
            rtt = residual.rtt_ms
            log.info("sync round %d: residual %.1f ms (rtt %.1f ms)", n, residual.offset_ms, rtt)
            if abs(residual.offset_ms) <= goal_ms:
                return timesync.SyncResult(before, residual.offset_ms, rtt / 2, n)
            correction += residual.offset_ms
        return timesync.SyncResult(before, residual.offset_ms, residual.rtt_ms / 2, rounds)

    def accounts(self) -> list[Account]:
        found: list[Account] = []
        total = None
        while total is None or len(found) < total:
            r = p.FieldReader(self.request(p.Command.LIST, p.Fields().u8(len(found)).bytes()))
            total = r.u8()
            page = 0
            while not r.done:
                found.append(self._entry(r))
                page += 1
            if not page and len(found) < total:
                raise ProtocolError("token listed no accounts in a page")
        return found

    @staticmethod
    def _entry(r: p.FieldReader) -> Account:
        index, kind, algorithm, digits, period, counter = (
            r.u8(),
            r.u8(),
            r.u8(),
            r.u8(),
            r.u16(),
            r.u32(),
        )
        issuer, name = r.text(), r.text()
        if kind > 1 or not 1 <= algorithm <= 3:
            raise ProtocolError("token listed an account of an unknown kind or algorithm")
        return Account(
            index,
            p.KINDS[kind],
            p.ALGORITHMS[algorithm - 1],
            digits,
            period,
            counter,
            issuer,
            name,
        )

    def codes(self) -> tuple[int | None, list[Code]]:
        """(token time used or None if its clock is not set, a Code per account)."""
        found: list[Code] = []
        total = None
        now: int | None = None
        while total is None or len(found) < total:
            r = p.FieldReader(self.request(p.Command.CODES, p.Fields().u8(len(found)).bytes()))
            total, valid, unix = r.u8(), r.u8(), r.u64()
            now = unix if valid else None
            page = 0
            while not r.done:
                account = self._entry(r)
                code, left = r.u32(), r.u8()
                found.append(Code(account, None if code == p.NO_CODE else code, left))
                page += 1
            if not page and len(found) < total:
                raise ProtocolError("token listed no codes in a page")
        return now, found

    @staticmethod
    def _key(account: Account | AccountSpec) -> p.Fields:
        return p.Fields().text(account.issuer).text(account.name)

    def add(self, spec: AccountSpec, replace: bool = False) -> tuple[int, int]:
        """Store an account; returns (count, capacity). The secret travels once, raw."""
        fields = (
            p.Fields()
            .u8(1 if replace else 0)
            .u8(p.KINDS.index(spec.kind))
            .u8(p.ALGORITHMS.index(spec.algorithm) + 1)
            .u8(spec.digits)
            .u16(spec.period)
            .u64(spec.counter)
            .text(spec.issuer)
            .text(spec.name)
            .raw(spec.secret, p.MAX_SECRET)
        )
        r = p.FieldReader(
            self.request(p.Command.ADD, fields.bytes(), timeout=self.timeout + self.flash_s)
        )
        return r.u8(), r.u8()

    def delete(self, account: Account | AccountSpec) -> None:
        self.request(
            p.Command.DELETE, self._key(account).bytes(), timeout=self.timeout + self.flash_s
        )

    def rename(self, account: Account, issuer: str, name: str) -> None:
        payload = self._key(account).text(issuer).text(name).bytes()
        self.request(p.Command.RENAME, payload, timeout=self.timeout + self.flash_s)

    def calculate(self, account: Account) -> Calculation:
        """The current code (TOTP) or the next code (HOTP: the token advances its counter)."""
        r = p.FieldReader(
            self.request(
                p.Command.CALC, self._key(account).bytes(), timeout=self.timeout + self.flash_s
            )
        )
        code, left, step = r.u32(), r.u8(), r.u64()
        return Calculation(account, code, left, step)

    def check(self, account: Account | AccountSpec, values: Sequence[int]) -> list[int]:
        """Codes of the account just added, at the given times (TOTP) or counters (HOTP)."""
        out: list[int] = []
        for start in range(0, len(values), 16):
            part = values[start : start + 16]
            fields = self._key(account).u8(len(part))
            for v in part:
                fields.u64(v)
            r = p.FieldReader(self.request(p.Command.CHECK, fields.bytes()))
            out.extend(r.u32() for _ in part)
            r.end()
        return out

    def vectors(
        self,
        vectors: Iterable[Vector | HotpVector],
        batch_bytes: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[int]:
        """The token's codes for host-made vectors, in order (transient secrets, never
        stored). Batched: as many vectors per VECTORS message as its size limit allows."""
        limit = batch_bytes or (self.hello_info.max_request if self.hello_info else 640)
        out: list[int] = []
        batch: list[bytes] = []
        size = 1

        def flush() -> None:
            nonlocal batch, size
            if batch:
                payload = bytes([len(batch)]) + b"".join(batch)
                r = p.FieldReader(self.request(p.Command.VECTORS, payload, timeout=10.0))
                out.extend(r.u32() for _ in batch)
                r.end()
                if progress is not None:
                    progress(len(out))
            batch, size = [], 1

        for v in vectors:
            if isinstance(v, HotpVector):
                period, value = 0, v.counter
            else:
                period, value = v.period, v.unix_time
            item = (
                p.Fields()
                .u8(p.ALGORITHMS.index(v.algorithm) + 1)
                .u8(v.digits)
                .u16(period)
                .u64(value)
                .raw(v.secret, p.MAX_SECRET)
                .bytes()
            )
            if batch and (size + len(item) > limit or len(batch) >= MAX_VECTORS):
                flush()
            batch.append(item)
            size += len(item)
        flush()
        return out

    def screen(self) -> Screen:
        r = p.FieldReader(self.request(p.Command.SCREEN))
        width, height, fmt = r.u8(), r.u8(), r.u8()
        data = r.rest()
        if fmt != 0 or len(data) != width * height // 8:
            raise ProtocolError("token sent a screen in an unknown format")
        return Screen(width, height, data)

    def wipe(self) -> None:
        self.request(p.Command.WIPE, p.WIPE_MAGIC, timeout=self.timeout + self.flash_s)

    def config_get(self, name: str = "") -> dict[str, str]:
        r = p.FieldReader(self.request(p.Command.CONFIG_GET, p.Fields().text(name).bytes()))
        values: dict[str, str] = {}
        while not r.done:
            key = r.text()
            values[key] = r.text()
        return values

    def config_set(self, name: str, value: str) -> str:
        payload = p.Fields().text(name).text(value).bytes()
        return p.FieldReader(
            self.request(p.Command.CONFIG_SET, payload, timeout=self.timeout + self.flash_s)
        ).text()
