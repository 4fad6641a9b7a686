"""host_tools.link against a scripted token in this process: chunking both ways, request ids,
retries after a lost answer, timeouts on a fake clock, and statuses as typed errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from host_tools import protocol as p
from host_tools.errors import DeviceTimeoutError, NotFoundError, ProtocolError
from host_tools.link import Link

Answer = Callable[[p.Frame], "list[p.Frame] | None"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedToken:
    """A transport whose far end answers each request frame with what `answer` returns (None:
    the answer is lost). Waiting for bytes that never come advances the fake clock."""

    def __init__(self, clock: FakeClock, answer: Answer) -> None:
        self.clock = clock
        self.answer = answer
        self.parser = p.FrameParser()
        self.received: list[p.Frame] = []
        self.lines: list[bytes] = []
        self.outbox = b""

    def write(self, data: bytes) -> None:
        self.lines += [line for line in data.split(b"\n") if line]
        for frame in self.parser.feed(data):
            self.received.append(frame)
            for reply in self.answer(frame) or []:
                self.outbox += p.encode_frame(reply)

    def read(self, timeout: float) -> bytes:
        data, self.outbox = self.outbox, b""
        if not data:
            self.clock.now += timeout
        return data

    def close(self) -> None:
        pass


def reply(frame: p.Frame, status: int, payload: bytes = b"", more: bool = False) -> p.Frame:
    flags = p.FLAG_RESPONSE | (p.FLAG_MORE if more else 0)
    return p.Frame(flags, frame.rid, frame.seq, status, payload)


def echo_token() -> Answer:
    """Reassembles a chunked request (MORE to every chunk but the last) and answers with its
    payload reversed, split into chunks fetched by CONTINUE."""
    request = bytearray()
    answer_chunks: list[bytes] = []

    def answer(frame: p.Frame) -> list[p.Frame]:
        nonlocal answer_chunks
        if frame.code == p.Command.CONTINUE:
            chunk = answer_chunks.pop(0)
            return [reply(frame, p.Status.OK, chunk, more=bool(answer_chunks))]
        request.extend(frame.payload)
        if frame.more:
            return [reply(frame, p.Status.MORE)]
        answer_chunks = p.split_payload(bytes(reversed(request)))
        request.clear()
        chunk = answer_chunks.pop(0)
        return [reply(frame, p.Status.OK, chunk, more=bool(answer_chunks))]

    return answer


def make(answer: Answer, **kw: float) -> tuple[Link, ScriptedToken, FakeClock]:
    clock = FakeClock()
    token = ScriptedToken(clock, answer)
    link = Link(token, clock=clock, first_id=7, **kw)  # type: ignore[arg-type]
    return link, token, clock


def test_a_long_request_travels_in_chunks_of_one_id_and_rising_seq() -> None:
    link, token, _ = make(echo_token())
    payload = bytes(range(256)) + bytes(44)  # 300 bytes: 128 + 128 + 44
    assert link.request(p.Command.ADD, payload) == bytes(reversed(payload))
    sent = [f for f in token.received if f.code == p.Command.ADD]
    assert [len(f.payload) for f in sent] == [128, 128, 44]
    assert [f.seq for f in sent] == [0, 1, 2]
    assert [f.more for f in sent] == [True, True, False]
    assert {f.rid for f in sent} == {8}  # the id after first_id
    assert max(len(line) + 1 for line in token.lines) <= p.MAX_LINE


def test_a_long_answer_is_fetched_with_continue_frames() -> None:
    link, token, _ = make(echo_token())
    payload = bytes(range(200)) * 3  # 600 bytes back: 5 answer chunks
    assert link.request(p.Command.SCREEN, payload) == bytes(reversed(payload))
    cont = [f for f in token.received if f.code == p.Command.CONTINUE]
    # The request took seq 0..4; the answer's further chunks are asked for with seq 5..8.
    assert [f.seq for f in cont] == [5, 6, 7, 8]
    assert all(f.payload == b"" and f.rid == cont[0].rid for f in cont)


def test_an_empty_request_is_one_empty_frame() -> None:
    link, token, _ = make(echo_token())
    assert link.request(p.Command.INFO) == b""
    assert [(f.code, f.payload, f.more) for f in token.received] == [(p.Command.INFO, b"", False)]


def test_every_request_gets_the_next_id_wrapping_at_256() -> None:
    clock = FakeClock()
    token = ScriptedToken(clock, echo_token())
    link = Link(token, clock=clock, first_id=254)
    for _ in range(3):
        link.request(p.Command.INFO)
    assert [f.rid for f in token.received] == [255, 0, 1]


def test_a_lost_answer_is_asked_for_again_with_the_same_frame() -> None:
    seen: list[p.Frame] = []

    def answer(frame: p.Frame) -> list[p.Frame] | None:
        seen.append(frame)
        if len(seen) == 2:  # the answer to the second chunk is lost once
            return None
        return [reply(frame, p.Status.MORE if frame.more else p.Status.OK, b"done")]

    link, token, clock = make(answer, timeout=0.5)
    start = clock.now
    assert link.request(p.Command.ADD, bytes(200)) == b"done"
    assert [(f.seq, len(f.payload)) for f in seen] == [(0, 128), (1, 72), (1, 72)]
    assert seen[1] == seen[2]  # the very same frame: the token's cache answers it
    assert link.retries == 1
    assert clock.now - start == pytest.approx(0.5)  # one timeout waited, no more


def test_frames_for_other_requests_and_noise_are_ignored() -> None:
    def answer(frame: p.Frame) -> list[p.Frame]:
        stale = p.Frame(p.FLAG_RESPONSE, (frame.rid - 1) % 256, 0, p.Status.OK, b"old")
        return [stale, reply(frame, p.Status.OK, b"new")]

    link, token, _ = make(answer)
    token.outbox = b">>> print(1)\r\n1\r\n!garbage\r\n"
    assert link.request(p.Command.INFO) == b"new"
    assert link.retries == 0


def test_a_silent_token_times_out_after_the_attempts() -> None:
    link, token, clock = make(lambda frame: None, timeout=0.25, attempts=4)
    start = clock.now
    with pytest.raises(DeviceTimeoutError, match="after 4 tries"):
        link.request(p.Command.INFO)
    assert len(token.received) == 4 and link.retries == 3
    assert clock.now - start == pytest.approx(1.0)


def test_a_repl_instead_of_the_protocol_is_named() -> None:
    link, token, _ = make(lambda frame: None, timeout=0.1, attempts=2)
    token.outbox = b"\r\nMicroPython v1.24 on 2026-01-01\r\n>>> "
    with pytest.raises(DeviceTimeoutError, match="REPL"):
        link.request(p.Command.INFO)


def test_statuses_become_typed_errors_with_the_tokens_message() -> None:
    link, _, _ = make(lambda frame: [reply(frame, p.Status.NOT_FOUND, b"no such account")])
    with pytest.raises(NotFoundError, match="no such account"):
        link.request(p.Command.DELETE, b"x")


def test_a_refused_chunk_stops_the_request() -> None:
    def answer(frame: p.Frame) -> list[p.Frame]:
        return [reply(frame, p.Status.TOO_LARGE)]

    link, token, _ = make(answer)
    with pytest.raises(ProtocolError, match="TOO_LARGE"):
        link.request(p.Command.VECTORS, bytes(400))
    assert len(token.received) == 1  # the other chunks were never sent


def test_a_status_change_inside_one_answer_is_a_protocol_error() -> None:
    def answer(frame: p.Frame) -> list[p.Frame]:
        if frame.code == p.Command.CONTINUE:
            return [reply(frame, p.Status.NOT_FOUND, b"x")]
        return [reply(frame, p.Status.OK, b"part", more=True)]

    link, _, _ = make(answer)
    with pytest.raises(ProtocolError, match="changed status"):
        link.request(p.Command.LIST, b"\x00")
