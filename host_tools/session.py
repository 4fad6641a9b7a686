"""The token's commands as typed methods with typed results, over a link.

    with open_session(port) as s:                # resolve the port, open it, HELLO
        s.info().free
        s.add(spec); s.check(spec, [59, 1111111109])
        s.codes()

`Session(transport)` (or `Session(link)`) runs over any host_tools.link Transport; the link
owns request ids, retries and chunking, so each method here only builds a request payload and
reads the answer. Token statuses arrive as host_tools.errors types. The library never logs
secrets.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from host_tools import auth, ports, timesync
from host_tools import protocol as p
from host_tools.account import Account, AccountSpec, check_label, quoted
from host_tools.errors import (
    AuthRequiredError,
    InvalidInputError,
    ProtocolError,
    RetryLaterError,
    TokenError,
)
from host_tools.link import Link, Transport
from host_tools.reference import Vector, format_code
from host_tools.transport import SerialTransport

log = logging.getLogger(__name__)


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
    # Protocol 1.1 on: the heap left (bytes) and what last ran out of memory ("" nothing).
    # None from an older token, which does not report them. The heap figures are
    # measurements, not the token's state: two INFOs of an unchanged token compare equal.
    heap_free: int | None = field(default=None, compare=False)
    heap_largest_free: int | None = field(default=None, compare=False)
    memory_note: str | None = None
    pin_set: bool = False  # INFO flag 0x40: the secrets are encrypted with a device PIN
    password_set: bool = False  # a management password protects the token (docs/security.md)
    locked: bool = False  # locked mode: the REPL is closed

    @property
    def free(self) -> int:
        return self.capacity - self.count

    @property
    def full(self) -> bool:
        return self.count >= self.capacity


@dataclass(frozen=True)
class Code:
    account: Account
    code: int | None  # None: HOTP (computed only on request) or the clock is not set
    seconds_left: int

    @property
    def text(self) -> str | None:
        return None if self.code is None else format_code(self.code, self.account.digits)


@dataclass(frozen=True)
class PinStatus:
    set: bool
    entered: bool  # codes can be shown (no PIN, or it was entered on the token)
    failures: int  # consecutive wrong PINs
    tries_left: int  # before the token wipes itself
    wait_s: int  # before the token checks the next try


@dataclass(frozen=True)
class Calculation:
    account: Account
    code: int
    seconds_left: int  # TOTP: until the next code; HOTP: 0
    step: int  # TOTP: time step; HOTP: the counter used

    @property
    def text(self) -> str:
        return format_code(self.code, self.account.digits)


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
        channel: Transport | Link,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        handshake: bool = True,
    ) -> None:
        """A session over `channel`: a Link, or a transport to make one over (with the given
        timeout and attempts). `handshake` runs HELLO at once."""
        if isinstance(channel, Link):
            self.link = channel
        else:
            self.link = Link(channel, timeout=timeout, attempts=attempts)
        self.flash_s = 3.0  # extra wait for commands that write the token's flash
        # Where the management password comes from when a command needs it (None: nowhere;
        # the CLI asks $HOST_TOOLS_PASSWORD, then a prompt). Asked at most once per session.
        self.password: Callable[[], str | None] | None = None
        self._logged_in = False
        self._client: tuple[bytes, bytes, int] | None = None  # ClientKey, salt, iterations
        self.hello_info: Hello | None = None
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
        self.link.close()

    def request(self, command: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        """One raw command through the link (the typed methods below use this). A command the
        token refuses with AUTH_REQUIRED is sent again after a login, if a password source
        is set and the session has not logged in yet."""
        try:
            return self.link.request(command, payload, timeout)
        except AuthRequiredError:
            if self._client is not None:
                self._login_with(self._client)  # the login lapsed (5 idle minutes): again
            elif self.password is None or self._logged_in:
                raise
            else:
                password = self.password()
                if password is None:
                    raise AuthRequiredError(
                        "the token has a management password: give it in "
                        "$HOST_TOOLS_PASSWORD or type it at the prompt (run in a terminal)"
                    ) from None
                self.login(password)
        return self.link.request(command, payload, timeout)

    def _flash_timeout(self) -> float:
        return self.link.timeout + self.flash_s

    # ---- commands

    def hello(self) -> Hello:
        self.link.end_line()
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
        heap_free = largest = note = None
        if not r.done:  # minor 1: heap figures and the memory note follow
            heap_free, largest, note = r.u32(), r.u32(), r.text()
        # more may follow (a later minor version): ignored
        return Info(
            capacity,
            count,
            bool(flags & p.INFO_CLOCK),
            bool(flags & p.INFO_DISPLAY),
            bool(flags & p.INFO_CORRUPT),
            bool(flags & p.INFO_RECOVERED),
            firmware,
            heap_free,
            largest,
            note,
            bool(flags & p.INFO_PIN),
            bool(flags & p.INFO_PASSWORD),
            bool(flags & p.INFO_LOCKED),
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
            p.Command.TIME_SET, p.Fields().u64(unix_ms).bytes(), timeout=self.link.timeout + 1.5
        )

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
        issuer, name = r.label(), r.label()
        if kind >= len(p.KINDS) or not 1 <= algorithm <= 3:
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
            .u8(p.ADD_REPLACE if replace else 0)
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
            self.request(p.Command.ADD, fields.bytes(), timeout=self._flash_timeout())
        )
        return r.u8(), r.u8()

    def delete(self, account: Account | AccountSpec) -> None:
        self.request(p.Command.DELETE, self._key(account).bytes(), timeout=self._flash_timeout())

    def rename(self, account: Account, issuer: str, name: str) -> None:
        """Give `account` the label issuer:name (checked here by the token's rules first)."""
        check_label(issuer, name)
        payload = self._key(account).text(issuer).text(name).bytes()
        self.request(p.Command.RENAME, payload, timeout=self._flash_timeout())

    def calculate(self, account: Account) -> Calculation:
        """The current code (TOTP) or the next code (HOTP: the token advances its counter)."""
        r = p.FieldReader(
            self.request(p.Command.CALC, self._key(account).bytes(), timeout=self._flash_timeout())
        )
        code, left, step = r.u32(), r.u8(), r.u64()
        return Calculation(account, code, left, step)

    def check(self, account: Account | AccountSpec, values: Sequence[int]) -> list[int]:
        """Codes of the account just added, at the given times (TOTP) or counters (HOTP)."""
        out: list[int] = []
        for start in range(0, len(values), p.MAX_CHECKS):
            part = values[start : start + p.MAX_CHECKS]
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
        limit = batch_bytes or (self.hello_info.max_request if self.hello_info else p.MAX_REQUEST)
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
            if batch and (size + len(item) > limit or len(batch) >= p.MAX_VECTORS):
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
        self.request(p.Command.WIPE, p.WIPE_MAGIC, timeout=self._flash_timeout())

    # ---- security (docs/security.md)

    def challenge(self) -> tuple[bool, int, bytes, bytes, int]:
        """(has a password, iterations, salt, nonce, seconds to wait before a try)."""
        r = p.FieldReader(self.link.request(p.Command.AUTH_CHALLENGE))
        has, iterations = bool(r.u8()), r.u32()
        salt, nonce, wait = r.raw(), r.raw(), r.u32()
        return has, iterations, salt, nonce, wait

    def login(self, password: str) -> None:
        """Prove the password (it never leaves this process); the token keeps the session
        logged in until HELLO, a reset or 5 idle minutes."""
        has, iterations, salt, nonce, wait = self.challenge()
        if not has:
            self._logged_in = True
            return
        if wait:
            raise RetryLaterError(
                f"too many wrong passwords: the token takes the next in {wait} s"
            )
        if not salt or iterations < 1:
            raise TokenError(
                "the token's password record is damaged: only a factory reset "
                "(`host_tools wipe --factory`) clears it"
            )
        key = auth.client_key(password, salt, iterations)
        self._prove(key, nonce)
        # The ClientKey, not the password, is kept for a login that lapses mid-session.
        self._client = (key, salt, iterations)

    def _login_with(self, kept: tuple[bytes, bytes, int]) -> None:
        key, salt, iterations = kept
        has, now_iterations, now_salt, nonce, wait = self.challenge()
        if not has or (now_salt, now_iterations) != (salt, iterations):
            self._client = None
            raise AuthRequiredError("the token's password changed during this session")
        if wait:
            raise RetryLaterError(
                f"too many wrong passwords: the token takes the next in {wait} s"
            )
        self._prove(key, nonce)

    def _prove(self, key: bytes, nonce: bytes) -> None:
        client_nonce = os.urandom(auth.NONCE_BYTES)
        payload = p.Fields().raw(client_nonce).raw(auth.proof(key, nonce, client_nonce)).bytes()
        self.link.request(p.Command.AUTH_PROOF, payload, timeout=self._flash_timeout())
        self._logged_in = True

    def set_password(self, verifier: auth.Verifier) -> None:
        """Set or replace the management password (a replacement needs a login first)."""
        payload = (
            p.Fields().raw(verifier.salt).u32(verifier.iterations).raw(verifier.stored_key).bytes()
        )
        self.request(p.Command.PASSWORD_SET, payload, timeout=self._flash_timeout())
        self._logged_in = True

    def clear_password(self) -> None:
        self.request(p.Command.PASSWORD_CLEAR, timeout=self._flash_timeout())

    def lock(self) -> None:
        self.request(p.Command.LOCK, timeout=self._flash_timeout())

    def unlock(self, permanent: bool = False) -> None:
        self.request(
            p.Command.UNLOCK,
            p.Fields().u8(1 if permanent else 0).bytes(),
            timeout=self._flash_timeout(),
        )

    def factory_reset(self) -> None:
        """Erase every account, the password, the lock (and the PIN). Needs no password."""
        self.request(p.Command.FACTORY_RESET, p.FACTORY_MAGIC, timeout=self._flash_timeout() + 5)

    def config_get(self, name: str = "") -> dict[str, str]:
        """One setting (by name), or all (name "")."""
        _check_setting(name, "setting name")
        r = p.FieldReader(self.request(p.Command.CONFIG_GET, p.Fields().text(name).bytes()))
        values: dict[str, str] = {}
        while not r.done:
            key = r.text()
            values[key] = r.text()
        return values

    def config_set(self, name: str, value: str) -> str:
        """Change a setting; returns the value as the token stored it."""
        _check_setting(name, "setting name")
        _check_setting(value, "value")
        payload = p.Fields().text(name).text(value).bytes()
        return p.FieldReader(
            self.request(p.Command.CONFIG_SET, payload, timeout=self._flash_timeout())
        ).text()

    # ---- the device PIN

    def _pin_timeout(self) -> float:
        # Two slow key derivations (the current PIN, the new one) and a vault rewrite.
        return self._flash_timeout() + PIN_DERIVE_S * 2

    def pin_set(self, new: str, current: str = "") -> None:
        """Set the device PIN (or change it: `current` is the PIN now set)."""
        check_pin(new)
        if current:
            check_pin(current)
        payload = (
            p.Fields().text(current).text(new).raw(secrets.token_bytes(p.MAX_ENTROPY)).bytes()
        )
        self.request(p.Command.PIN_SET, payload, timeout=self._pin_timeout())

    def pin_clear(self, current: str) -> None:
        """Remove the device PIN: the token stores its secrets unencrypted again."""
        check_pin(current)
        payload = p.Fields().text(current).bytes()
        self.request(p.Command.PIN_CLEAR, payload, timeout=self._pin_timeout())

    def pin_status(self) -> PinStatus:
        r = p.FieldReader(self.request(p.Command.PIN_STATUS))
        status = PinStatus(bool(r.u8()), bool(r.u8()), r.u8(), r.u8(), r.u16())
        # more may follow (a later minor version): ignored
        return status


PIN_DERIVE_S = 2.0  # the token's key derivation takes about 0.3 s on an ESP32: a margin


def check_pin(text: str) -> None:
    """A device PIN is 4 to 8 ASCII digits (the token checks it too)."""
    if not (4 <= len(text) <= 8 and text.isascii() and text.isdigit()):
        raise InvalidInputError("a PIN is 4 to 8 digits (0-9)")


def _check_setting(text: str, what: str) -> None:
    """A setting's name or value must be text the token can read: UTF-8, at most 64 bytes."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} {quoted(text)} is not valid UTF-8 text") from None
    if size > p.MAX_LABEL:
        raise InvalidInputError(
            f"{what} {quoted(text)} is too long ({size} bytes; at most {p.MAX_LABEL})"
        )


def open_session(port: str | None, **kwargs: Any) -> Session:
    """Resolve the port (--port, else $HOST_TOOLS_PORT, else the one attached ESP32
    USB-serial adapter, see host_tools.ports), open it and shake hands: the one way commands
    reach the token."""
    path = ports.resolve_port(port)
    transport = SerialTransport.open(path)
    try:
        return Session(transport, **kwargs)
    except BaseException:
        transport.close()
        raise
