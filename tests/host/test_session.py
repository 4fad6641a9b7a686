"""The host session library against the real firmware server, run by the `micropython`
interpreter (tests/host/mptoken.py: real server.py, protocol.py, vault.py, otp.py; fake clock,
config and display). Tests both sides of the protocol without the simulator.
MICROPYTHON=/work/shared/bin/micropython32 runs the token side on a 32-bit build."""

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from mptoken import MicroPythonToken, PipeTransport

from host_tools import protocol as p
from host_tools import reference, timesync
from host_tools.account import AccountSpec
from host_tools.errors import (
    DeviceTimeoutError,
    DuplicateError,
    InvalidInputError,
    NotFoundError,
    ProtocolError,
    TokenError,
    VaultFullError,
)
from host_tools.session import HotpVector, Session

SECRET = b"12345678901234567890"


@pytest.fixture
def token(tmp_path: Path) -> Iterator[MicroPythonToken]:
    t = MicroPythonToken(tmp_path)
    yield t
    errors = t.stop()
    assert "Traceback" not in errors, errors


@pytest.fixture
def s(token: MicroPythonToken) -> Session:
    return Session(token.transport)


def spec(name: str = "alice", issuer: str = "ACME", **kw: object) -> AccountSpec:
    fields: dict = {"kind": "totp", "secret": SECRET, **kw}
    return AccountSpec(issuer=issuer, name=name, **fields)


def payloads(data: bytes) -> bytes:
    return b"".join(f.payload for f in p.FrameParser().feed(data))


class Recording(PipeTransport):
    """Keeps every byte seen in both directions."""

    def __init__(self, inner: PipeTransport) -> None:
        super().__init__(inner.proc)
        self.sent = bytearray()
        self.got = bytearray()

    def write(self, data: bytes) -> None:
        self.sent += data
        super().write(data)

    def read(self, timeout: float) -> bytes:
        data = super().read(timeout)
        self.got += data
        return data


def test_handshake_reports_versions_and_limits(s: Session) -> None:
    h = s.hello_info
    assert h is not None
    assert (h.major, h.minor, h.max_payload) == (1, 2, p.MAX_PAYLOAD)
    assert h.max_request >= 300 and h.max_response >= 1027
    assert h.firmware == "test-harness"
    info = s.info()
    assert (info.capacity, info.count, info.free, info.full) == (64, 0, 64, False)
    assert info.clock_valid and info.display and not info.vault_corrupt


def test_accounts_are_listed_without_their_secrets(token: MicroPythonToken) -> None:
    rec = Recording(token.transport)
    s = Session(rec)
    long_issuer, long_name = "I" * 64, "ñ" * 32  # 64 bytes of UTF-8 each
    secret = bytes(range(1, 129))  # the longest secret: the ADD message spans 3 frames
    s.add(spec(long_name, long_issuer, secret=secret))
    s.add(spec("bob", "", kind="hotp", counter=7, algorithm="sha512", digits=8))
    rec.got.clear()
    accounts = s.accounts()
    now, codes = s.codes()
    assert [(a.issuer, a.name, a.kind, a.algorithm, a.digits, a.counter) for a in accounts] == [
        (long_issuer, long_name, "totp", "sha1", 6, 0),
        ("", "bob", "hotp", "sha512", 8, 7),
    ]
    answered = payloads(bytes(rec.got))
    assert secret[:16] not in answered and SECRET[:16] not in answered
    assert base64.b64encode(secret)[:16] not in bytes(rec.got)


def test_many_accounts_list_in_pages(s: Session) -> None:
    for i in range(20):
        s.add(spec(f"user{i:02d}-" + "x" * 56, "Issuer-" + "y" * 57))
    accounts = s.accounts()
    assert [a.index for a in accounts] == list(range(20))
    assert accounts[19].name.startswith("user19-")
    _, codes = s.codes()
    assert len(codes) == 20


MIXES = list(itertools.product(("totp", "hotp"), ("sha1", "sha256", "sha512"), (6, 7, 8)))


def test_every_algorithm_and_digit_count_checks_against_the_reference(s: Session) -> None:
    rng = random.Random(5)
    for n, (kind, algorithm, digits) in enumerate(MIXES):
        period = (15, 30, 60)[n % 3]
        secret = rng.randbytes(rng.choice((10, 20, 32, 64, 100)))
        counter = rng.randrange(0, 2**40) if kind == "hotp" else 0
        a = spec(f"m{n}", kind=kind, algorithm=algorithm, digits=digits, secret=secret,
                 period=period if kind == "totp" else 30, counter=counter)  # fmt: skip
        s.add(a)
        values = [counter, counter + 1] if kind == "hotp" else [59, 1111111109, 20000000000]
        got = s.check(a, values)
        if kind == "hotp":
            want = [reference.hotp(secret, v, algorithm, digits) for v in values]
        else:
            want = [reference.totp(secret, v, algorithm, digits, period) for v in values]
        assert got == want, (kind, algorithm, digits, period)


def test_current_codes_equal_pyotp(s: Session) -> None:
    for digits, period, algorithm in [(6, 30, "sha1"), (8, 60, "sha256"), (7, 15, "sha512")]:
        s.add(spec(f"{algorithm}-{digits}", digits=digits, period=period, algorithm=algorithm))
    now, codes = s.codes()
    assert now is not None
    for c in codes:
        a = c.account
        totp = pyotp.TOTP(base64.b32encode(SECRET).decode(), digits=a.digits,
                          digest=a.algorithm, interval=a.period)  # fmt: skip
        assert c.text == totp.at(now)
        assert c.seconds_left == a.period - now % a.period


def test_calculating_hotp_uses_up_one_counter_value(s: Session) -> None:
    s.add(spec("h", kind="hotp", counter=3))
    a = s.accounts()[0]
    first, second = s.calculate(a), s.calculate(a)
    assert (first.step, second.step) == (3, 4)
    assert [first.code, second.code] == [reference.RFC4226_HOTP[3], reference.RFC4226_HOTP[4]]
    assert s.accounts()[0].counter == 5
    _, codes = s.codes()
    assert codes[0].code is None  # listing codes never counts


def test_duplicate_is_refused_and_force_replaces(s: Session) -> None:
    s.add(spec())
    with pytest.raises(DuplicateError):
        s.add(spec(digits=8))
    assert s.accounts()[0].digits == 6
    s.add(spec(digits=8), replace=True)
    assert [a.digits for a in s.accounts()] == [8]


def test_full_vault_is_refused_with_the_count(s: Session) -> None:
    for i in range(64):
        s.add(spec(f"u{i}"))
    info = s.info()
    assert info.full and info.free == 0
    with pytest.raises(VaultFullError, match="64"):
        s.add(spec("one-too-many"))
    assert s.info().count == 64


def test_delete_and_rename(s: Session) -> None:
    s.add(spec("a"))
    s.add(spec("b"))
    a, b = s.accounts()
    s.rename(a, "NewCo", "a2")
    assert [x.label for x in s.accounts()] == ["NewCo:a2", "ACME:b"]
    with pytest.raises(DuplicateError):
        s.rename(b, "NewCo", "a2")
    s.delete(b)
    assert [x.label for x in s.accounts()] == ["NewCo:a2"]
    with pytest.raises(NotFoundError):
        s.delete(b)


def test_invalid_fields_are_refused_and_nothing_is_written(s: Session) -> None:
    def add_raw(digits: int, name: bytes, secret: bytes, algorithm: int = 1) -> None:
        fields = p.Fields().u8(0).u8(0).u8(algorithm).u8(digits).u16(30).u64(0)
        fields.raw(b"ACME").raw(name).raw(secret)
        s.request(p.Command.ADD, fields.bytes())

    with pytest.raises(InvalidInputError):
        add_raw(9, b"x", SECRET)
    with pytest.raises(InvalidInputError):
        add_raw(6, b"\xff\xfe", SECRET)  # not UTF-8
    with pytest.raises(InvalidInputError):
        add_raw(6, b"x", b"")  # empty secret
    with pytest.raises(InvalidInputError):
        add_raw(6, b"x", SECRET, algorithm=4)
    with pytest.raises(ProtocolError):
        add_raw(6, b"x" * 65, SECRET)  # longer than a label may be
    assert s.accounts() == []


def test_check_only_answers_for_the_account_just_added(s: Session) -> None:
    s.add(spec("old"))
    s.add(spec("new"))
    assert s.check(spec("new"), [59]) == [reference.totp(SECRET, 59, "sha1", 6, 30)]
    with pytest.raises(TokenError, match="just added"):
        s.check(spec("old"), [59])


def test_vectors_match_the_reference(s: Session) -> None:
    vectors: list = [HotpVector(reference.RFC4226_SECRET, "sha1", 6, c, code)
                     for c, code in enumerate(reference.RFC4226_HOTP)]  # fmt: skip
    vectors += reference.random_vectors(1500, random.Random(11))
    assert s.vectors(vectors) == [v.code for v in vectors]


def test_screen_returns_the_display_buffer(s: Session) -> None:
    screen = s.screen()
    assert (screen.width, screen.height, len(screen.data)) == (128, 64, 1024)
    # The harness wrote "HARNESS" at (0, 0) in framebuf's 8x8 font: "H" is columns 1-2 and
    # 5-6 set on rows 0-6, column 0 blank.
    assert all(screen.pixel(x, y) for x in (1, 2, 5, 6) for y in range(7))
    assert not any(screen.pixel(0, y) for y in range(8))
    assert not any(screen.pixel(x, 40) for x in range(128))


def test_config_get_and_set(s: Session) -> None:
    assert s.config_get() == {"screen_timeout_s": "30", "contrast": "128", "rotate": "false"}
    assert s.config_set("contrast", "200") == "200"
    assert s.config_set("rotate", "true") == "true"
    assert s.config_get("contrast") == {"contrast": "200"}
    with pytest.raises(InvalidInputError):
        s.config_set("contrast", "300")
    with pytest.raises(InvalidInputError):
        s.config_set("contrast", "bright")
    with pytest.raises(NotFoundError):
        s.config_set("volume", "3")
    assert s.config_get("contrast") == {"contrast": "200"}


def test_wipe(s: Session) -> None:
    s.add(spec("a"))
    s.add(spec("b"))
    s.wipe()
    assert s.accounts() == [] and s.info().count == 0
    with pytest.raises(ProtocolError):
        s.request(p.Command.WIPE, b"NOPE")


def test_unset_clock_gives_no_codes_until_set(tmp_path: Path) -> None:
    token = MicroPythonToken(tmp_path, clock_offset_ms=None)
    try:
        s = Session(token.transport)
        s.add(spec())
        assert not s.info().clock_valid
        now, codes = s.codes()
        assert now is None and codes[0].code is None
        with pytest.raises(TokenError, match="clock"):
            s.calculate(s.accounts()[0])
        result = timesync.sync(s)
        assert result.before_ms is None and abs(result.residual_ms) < 5
        assert s.codes()[1][0].code is not None
    finally:
        token.stop()


def test_protocol_errors_are_typed(s: Session) -> None:
    with pytest.raises(ProtocolError, match="UNKNOWN_COMMAND"):
        s.request(0x7F)
    with pytest.raises(ProtocolError, match="TOO_LARGE"):
        s.request(p.Command.VECTORS, b"\x01" * 700)
    with pytest.raises(ProtocolError, match="BAD_REQUEST"):
        s.request(p.Command.INFO, b"extra")
    # A chunk that continues nothing.
    answer = s.link.exchange(p.Frame(0, 99, 5, p.Command.ADD, b"x"))
    assert answer.code == p.Status.SEQUENCE
    assert s.info().count == 0  # and the token still works


class Lossy(PipeTransport):
    """Loses the token's answer to the frames `drop` selects (by count of frames written)."""

    def __init__(self, inner: PipeTransport, drop: set[int], corrupt: set[int]) -> None:
        super().__init__(inner.proc)
        self.drop, self.corrupt = drop, corrupt
        self.frames = 0
        self.discard = False

    def write(self, data: bytes) -> None:
        if data.startswith(b"!"):
            self.frames += 1
            self.discard = self.frames in self.drop
            if self.frames in self.corrupt:
                data = data[:10] + (b"A" if data[10:11] != b"A" else b"B") + data[11:]
        super().write(data)

    def read(self, timeout: float) -> bytes:
        data = super().read(timeout)
        if self.discard and b"\n" in data:
            self.discard = False
            return b""
        return data


def test_lost_answers_are_retried_without_running_a_command_twice(
    token: MicroPythonToken,
) -> None:
    s = Session(token.transport)
    s.add(spec("h", kind="hotp", counter=0))
    lossy = Lossy(token.transport, drop={1, 3}, corrupt=set())
    s.link.transport = lossy
    s.link.timeout = 0.3
    s.flash_s = 0.2
    a = s.accounts()[0]  # frame 1: its answer is lost, the retry (frame 2) gets it
    calc = s.calculate(a)  # frame 3 (its answer) lost: the retry must not count again
    assert calc.step == 0 and calc.code == reference.RFC4226_HOTP[0]
    assert s.accounts()[0].counter == 1
    assert s.link.retries == 2


def test_corrupted_frames_are_ignored_and_sent_again(token: MicroPythonToken) -> None:
    s = Session(token.transport)
    s.link.transport = Lossy(token.transport, drop=set(), corrupt={1, 2})
    s.link.timeout = 0.3
    s.flash_s = 0.2
    s.add(spec("c", secret=bytes(range(100))))  # two chunks, both corrupted on first send
    assert [a.name for a in s.accounts()] == ["c"]
    assert s.link.retries == 2


def test_silent_token_times_out(token: MicroPythonToken) -> None:
    s = Session(token.transport)
    s.link.transport = Lossy(token.transport, drop=set(range(1, 10)), corrupt=set())
    s.link.timeout = 0.1
    with pytest.raises(DeviceTimeoutError):
        s.info()


def test_one_small_frame_in_flight_at_a_time(token: MicroPythonToken) -> None:
    rec = Recording(token.transport)
    s = Session(rec)
    s.add(spec("flow", secret=bytes(range(128))))
    s.vectors(reference.random_vectors(40, random.Random(2)))
    s.screen()
    lines = bytes(rec.sent).split(b"\n")
    assert max(len(line) + 1 for line in lines) <= p.MAX_LINE
    # Every frame written was answered before the next one: as many answers as requests.
    sent = p.FrameParser().feed(bytes(rec.sent))
    got = p.FrameParser().feed(bytes(rec.got))
    assert len(sent) == len(got) and s.link.retries == 0
    assert [(f.rid, f.seq) for f in sent] == [(f.rid, f.seq) for f in got]


def test_repl_noise_on_the_line_is_ignored(token: MicroPythonToken) -> None:
    token.transport.write(b"\x1b[A>>> print('hello')\r\n!notaframe\r\nimport os\r\n")
    s = Session(token.transport)
    assert s.info().count == 0


def test_a_different_protocol_major_is_refused(
    token: MicroPythonToken, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(p, "PROTOCOL_MAJOR", 2)
    with pytest.raises(ProtocolError, match=r"protocol mismatch: the token speaks v1\.2"):
        Session(token.transport)
