# The protocol's token side on the real interpreter: the frame codec (firmware/protocol.py)
# and the server's message handling (firmware/server.py) with a tiny fake token. The host side
# and the full command set are tested from CPython in tests/host/test_session.py.
import asyncio
import binascii
import struct

import micropython
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

    async def run():
        for line in lines:
            for b in line:
                if srv._codec.feed(b):
                    frame = srv._codec.decode()
                    if frame is not None:
                        await srv.handle(frame)

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
    import mptest

    mptest.main(globals())
