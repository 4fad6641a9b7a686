# The protocol's token side on the real interpreter: the frame codec and the message layer
# (firmware/protocol.py: chunks, retries, errors) with a fake command layer, and the command
# layer (firmware/server.py) with a tiny fake token. The host side and the full command set
# are tested from CPython in tests/host/test_session.py.
import asyncio
import binascii
import struct

import micropython
import mptest
import protocol
import server

# Made by the host codec (host_tools/protocol.py) and documented in docs/protocol.md:
# INFO (0x02) with id 0x2A.
_INFO_LINE = b"!ACoAAgZ9kPo=\n"


def _feed(codec, line):
    frames = []
    for b in line:
        if codec.feed(b):
            frame = codec.decode()
            frames.append(None if frame is None else bytes(frame))
    return frames


def test_decodes_the_documented_example():
    assert _feed(protocol.Codec(), _INFO_LINE) == [b"\x00\x2a\x00\x02"]


def test_encode_decode_round_trip_at_every_size():
    codec = protocol.Codec()
    for n in (0, 1, 2, 3, 64, 127, 128):
        payload = bytes((i * 7) & 0xFF for i in range(n))
        line = codec.encode(0x81, 200, 3, 0x23, payload)
        assert line[:1] == b"!" and line[-1:] == b"\n"
        assert len(line) <= protocol.MAX_LINE
        assert _feed(protocol.Codec(), line) == [bytes((0x81, 200, 3, 0x23)) + payload]


def test_a_crc_over_the_body_as_zlib_computes_it():
    codec = protocol.Codec()
    line = codec.encode(0, 1, 2, 3, b"abc")
    raw = binascii.a2b_base64(line[1:-1])
    assert struct.unpack("<I", raw[-4:])[0] == binascii.crc32(b"\x00\x01\x02\x03abc")


def test_every_changed_character_is_rejected_or_harmless():
    codec = protocol.Codec()
    line = codec.encode(0, 9, 0, 5, b"secret-free payload")
    good = _feed(protocol.Codec(), line)[0]
    for i in range(1, len(line) - 1):
        for c in b"AZaz09+/=":
            if line[i] == c:
                continue
            bad = line[:i] + bytes((c,)) + line[i + 1 :]
            got = _feed(protocol.Codec(), bad)
            assert got in ([None], [good], []), (i, c)


def test_noise_overlong_lines_and_crlf_are_skipped():
    codec = protocol.Codec()
    stream = b">>> import os\r\n!" + b"A" * 400 + b"\r\n" + _INFO_LINE.replace(b"\n", b"\r\n")
    assert [f for f in _feed(codec, stream) if f is not None] == [b"\x00\x2a\x00\x02"]


def test_feeding_bytes_allocates_nothing():
    codec = protocol.Codec()
    line = _INFO_LINE[:-1]  # everything but the end of line
    feed = codec.feed
    micropython.heap_lock()
    try:
        for b in line:
            feed(b)
    finally:
        micropython.heap_unlock()
    assert feed(0x0A)


class _Writer:
    def __init__(self):
        self.lines = []

    def write(self, data):
        self.lines.append(bytes(data))


class _Vault:
    capacity = 8

    def __init__(self):
        self.added = []

    @property
    def count(self):
        return len(self.added)

    def add(self, issuer, name, secret, **kw):
        self.added.append((issuer, name))
        return self.added[-1]


class _Clock:
    def valid(self):
        return False


class _Token:
    FIRMWARE_VERSION = "fw-test"
    display = None

    def __init__(self):
        self.vault = _Vault()
        self.clock = _Clock()
        self.changes = 0

    def changed(self):
        self.changes += 1


def _request(codec, flags, rid, seq, code, payload=b""):
    return codec.encode(flags, rid, seq, code, payload)


def _answers(srv, writer, lines):
    # Feed host lines to the server; return the decoded answer frames (flags, id, seq, status).
    host = protocol.Codec()

    messages = srv.messages if hasattr(srv, "messages") else srv
    codec = messages.codec

    async def run():
        for line in lines:
            for b in line:
                if codec.feed(b):
                    frame = codec.decode()
                    if frame is not None:
                        await messages.handle(frame)

    asyncio.run(run())
    out = []
    for line in writer.lines:
        frames = _feed(host, line)
        out.append(tuple(frames[0][:4]) + (frames[0][4:],))
    return out


def _add_payload():
    secret = bytes(range(100))
    body = struct.pack("<BBBBHQ", 0, 0, 1, 6, 30, 0)
    return body + b"\x04ACME" + b"\x05alice" + bytes((len(secret),)) + secret


def test_chunked_add_is_acknowledged_and_a_repeat_does_not_add_twice():
    token = _Token()
    writer = _Writer()
    srv = server.Server(token, writer)
    host = protocol.Codec()
    payload = _add_payload()
    first = _request(host, protocol.FLAG_MORE, 7, 0, 0x06, payload[:128])
    last = _request(host, 0, 7, 1, 0x06, payload[128:])
    answers = _answers(srv, writer, [first, last, last])  # the last chunk arrives twice (a retry)
    assert answers[0][:4] == (0x80, 7, 0, 0x01)  # MORE: send the next chunk
    assert answers[1][:4] == (0x80, 7, 1, 0x00)
    assert answers[1][4] == bytes((1, 8))  # count 1 of capacity 8
    assert answers[2] == answers[1]
    assert token.vault.added == [("ACME", "alice")] and token.changes == 1


def test_the_session_outlives_an_unloaded_server_until_hello():
    # The app unloads the server after 12 s of quiet and keeps kept() for the next one: the
    # account added last stays the one CHECK accepts (its 5-minute window still counted from
    # the ADD); a HELLO starts a new session with nothing kept.
    token = _Token()
    writer = _Writer()
    srv = server.Server(token, writer)
    host = protocol.Codec()
    payload = _add_payload()
    first = _request(host, protocol.FLAG_MORE, 7, 0, 0x06, payload[:128])
    last = _request(host, 0, 7, 1, 0x06, payload[128:])
    _answers(srv, writer, [first, last])
    kept = srv.kept()
    assert kept is not None and kept[0] == ("ACME", "alice") and kept[2:] == (None, None)
    token.session = kept
    again = server.Server(token, _Writer())
    assert again._fresh == ("ACME", "alice") and again._fresh_ms == kept[1]
    writer = _Writer()
    again = server.Server(token, writer)
    _answers(again, writer, [_request(host, 0, 8, 0, 0x01, bytes((1, 0)))])  # HELLO
    assert again.kept() is None


def test_out_of_sequence_and_oversized_requests_are_refused():
    token = _Token()
    writer = _Writer()
    srv = server.Server(token, writer)
    host = protocol.Codec()
    chunk = b"\x00" * 128
    lines = [_request(host, protocol.FLAG_MORE, 9, 3, 0x06, chunk)]  # continues nothing
    lines += [_request(host, protocol.FLAG_MORE, 10, i, 0x0C, chunk) for i in range(6)]
    answers = _answers(srv, writer, lines)
    assert answers[0][3] == 0x12  # SEQUENCE
    assert [a[3] for a in answers[1:]] == [0x01, 0x01, 0x01, 0x01, 0x01, 0x13]  # TOO_LARGE
    assert token.vault.added == []


def test_unknown_command_and_error_messages():
    writer = _Writer()
    srv = server.Server(_Token(), writer)
    host = protocol.Codec()
    answers = _answers(
        srv, writer, [_request(host, 0, 1, 0, 0x7E), _request(host, 0, 2, 0, 0x02, b"x")]
    )
    assert answers[0][3] == 0x11 and b"unknown command" in answers[0][4]
    assert answers[1][3] == 0x10  # INFO takes no payload


# ---- the message layer alone (protocol.Messages under a fake command layer)


class _Commands:
    """A fake command layer: records each request, answers `answer` bytes with `status`."""

    def __init__(self, answer=b"", status=0x00):
        self.calls = []
        self.answer = answer
        self.status = status

    async def execute(self, code, request, response):
        self.calls.append((code, bytes(request.buf)))
        response.put_bytes(self.answer)
        return self.status


def _messages(answer=b"", status=0x00):
    writer = _Writer()
    commands = _Commands(answer, status)
    return protocol.Messages(writer.write, commands.execute), writer, commands


def test_messages_reassemble_a_chunked_request_in_order():
    msgs, writer, commands = _messages(b"ok")
    host = protocol.Codec()
    data = bytes(i & 0xFF for i in range(300))
    lines = [
        _request(host, protocol.FLAG_MORE, 5, 0, 0x42, data[:128]),
        _request(host, protocol.FLAG_MORE, 5, 1, 0x42, data[128:256]),
        _request(host, 0, 5, 2, 0x42, data[256:]),
    ]
    answers = _answers(msgs, writer, lines)
    assert [a[:4] for a in answers] == [(0x80, 5, 0, 0x01), (0x80, 5, 1, 0x01), (0x80, 5, 2, 0)]
    assert answers[2][4] == b"ok"
    assert commands.calls == [(0x42, data)]


def test_messages_send_a_long_answer_in_the_chunks_the_host_asks_for():
    answer = bytes((i * 3) & 0xFF for i in range(300))
    msgs, writer, commands = _messages(answer, 0x22)
    host = protocol.Codec()
    lines = [
        _request(host, 0, 9, 0, 0x05),
        _request(host, 0, 9, 1, 0x00),  # CONTINUE: chunk 1
        _request(host, 0, 9, 2, 0x00),  # chunk 2, the last
        _request(host, 0, 9, 3, 0x00),  # past the end
        _request(host, 0, 8, 4, 0x00),  # another id: no answer pending for it
    ]
    answers = _answers(msgs, writer, lines)
    assert [a[:4] for a in answers[:3]] == [(0x81, 9, 0, 0x22), (0x81, 9, 1, 0x22),
                                           (0x80, 9, 2, 0x22)]
    assert b"".join(a[4] for a in answers[:3]) == answer
    assert answers[3][3] == 0x12 and answers[3][4] == b"no such chunk"
    assert answers[4][3] == 0x12 and answers[4][4] == b"no answer pending for this id"
    assert len(commands.calls) == 1


def test_messages_answer_a_repeated_frame_from_the_cache_without_running_it_again():
    msgs, writer, commands = _messages(bytes(200))
    host = protocol.Codec()
    first = _request(host, 0, 3, 0, 0x0A, b"abc")
    more = _request(host, 0, 3, 1, 0x00)
    answers = _answers(msgs, writer, [first, first, more, more])
    assert len(commands.calls) == 1
    assert writer.lines[0] == writer.lines[1] and writer.lines[2] == writer.lines[3]
    assert answers[2][:4] == (0x80, 3, 1, 0)
    # The same id and seq with another payload is a new request, not a retry.
    _answers(msgs, writer, [_request(host, 0, 3, 0, 0x0A, b"abd")])
    assert [c[1] for c in commands.calls] == [b"abc", b"abd"]


def test_messages_refuse_chunks_out_of_sequence_and_requests_too_large():
    msgs, writer, commands = _messages()
    host = protocol.Codec()
    chunk = bytes(128)
    lines = [
        _request(host, protocol.FLAG_MORE, 1, 0, 0x06, chunk),
        _request(host, 0, 1, 2, 0x06, chunk),  # seq 1 skipped
        _request(host, protocol.FLAG_MORE, 2, 0, 0x06, chunk),
        _request(host, 0, 2, 1, 0x07, chunk),  # another command mid-message
        _request(host, protocol.FLAG_MORE, 3, 0, 0x06, chunk),
        _request(host, 0, 4, 1, 0x06, chunk),  # another id mid-message
    ]
    lines += [_request(host, protocol.FLAG_MORE, 5, i, 0x0C, chunk) for i in range(6)]
    answers = _answers(msgs, writer, lines)
    assert [a[3] for a in answers[:6]] == [0x01, 0x12, 0x01, 0x12, 0x01, 0x12]
    assert answers[1][4] == b"chunk out of sequence"
    assert [a[3] for a in answers[6:]] == [0x01] * 5 + [0x13]
    assert answers[-1][4] == b"request longer than 640 bytes"
    assert commands.calls == []


def test_messages_ignore_responses_and_broken_frames():
    msgs, writer, commands = _messages()
    host = protocol.Codec()
    echo = host.encode(protocol.FLAG_RESPONSE, 1, 0, 0x00, b"")
    good = _request(host, 0, 2, 0, 0x02)
    broken = good[:5] + (b"B" if good[5:6] != b"B" else b"C") + good[6:]
    answers = _answers(msgs, writer, [echo, broken, b"noise\r\n", good])
    assert [a[:4] for a in answers] == [(0x80, 2, 0, 0)]
    assert commands.calls == [(0x02, b"")]


def test_request_fields_and_their_errors():
    req = protocol.Request(memoryview(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"))
    assert req.u8() == 1 and req.u16() == 0x0302 and req.u32() == 0x07060504
    e = mptest.raises(protocol.Fail, req.u64)
    assert e.args == (0x10, "request too short")
    e = mptest.raises(protocol.Fail, req.end)
    assert e.args[0] == 0x10
    req = protocol.Request(memoryview(b"\x02\xc3\x28"))
    e = mptest.raises(protocol.Fail, req.text)
    assert e.args == (0x23, "text is not valid UTF-8")
    req = protocol.Request(memoryview(bytes((65,)) + bytes(65)))
    e = mptest.raises(protocol.Fail, req.text)
    assert e.args == (0x10, "field too long")


def test_response_refuses_to_grow_past_its_limit_and_messages_are_cut():
    resp = protocol.Response()
    resp.put_bytes(bytes(protocol.MAX_RESPONSE - 2))
    resp.put("<H", 7)
    e = mptest.raises(protocol.Fail, resp.put, "B", 1)
    assert e.args == (0x3F, "response too long")
    assert resp.length == protocol.MAX_RESPONSE
    resp.message("x" * 300)
    assert resp.length == 120


# ---- the command layer (server.Server): faults become INTERNAL answers


class _BrokenVault(_Vault):
    def __init__(self, error):
        super().__init__()
        self.error = error

    def add(self, issuer, name, secret, **kw):
        raise self.error


def test_faults_answer_internal_without_quoting_values():
    token = _Token()
    writer = _Writer()
    srv = server.Server(token, writer)
    host = protocol.Codec()
    payload = _add_payload()[:-101] + b"\x05hello"  # a short secret: one frame
    for rid, error in ((1, TypeError("hello")), (2, OSError(28)), (3, OSError(5))):
        token.vault = _BrokenVault(error)
        _answers(srv, writer, [_request(host, 0, rid, 0, 0x06, payload)])
    answers = _answers(srv, writer, [])
    assert [a[3] for a in answers] == [0x3F, 0x3F, 0x3F]
    assert answers[0][4] == b"internal error (TypeError)"
    assert answers[1][4] == b"the token's flash is full"
    assert answers[2][4] == b"device error 5"


if __name__ == "__main__":
    mptest.main(globals())
