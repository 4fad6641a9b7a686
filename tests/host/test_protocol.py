"""Frame codec of the provisioning protocol (host side), and the wire limits it promises."""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from host_tools import protocol as p

frames = st.builds(
    p.Frame,
    flags=st.integers(0, 255),
    rid=st.integers(0, 255),
    seq=st.integers(0, 255),
    code=st.integers(0, 255),
    payload=st.binary(max_size=p.MAX_PAYLOAD),
)


def text_of(line: bytes) -> bytes:
    assert line.startswith(b"!") and line.endswith(b"\n")
    return line[1:-1]


def test_layout_matches_the_documented_bytes() -> None:
    # Built by hand from docs/protocol.md: header, payload, zlib CRC-32 little-endian, base64.
    body = bytes([0x01, 0x2A, 0x03, 0x06]) + b"hi"
    expected = b"!" + base64.b64encode(body + struct.pack("<I", zlib.crc32(body))) + b"\n"
    assert p.encode_frame(p.Frame(0x01, 0x2A, 3, 6, b"hi")) == expected


@given(frames)
def test_round_trip(frame: p.Frame) -> None:
    line = p.encode_frame(frame)
    assert p.decode_text(text_of(line)) == frame
    assert p.FrameParser().feed(line) == [frame]


def test_largest_line_fits_the_esp32_input_buffer_with_room() -> None:
    line = p.encode_frame(p.Frame(0xFF, 0xFF, 0xFF, 0xFF, b"\xff" * p.MAX_PAYLOAD))
    assert len(line) == p.MAX_LINE == 186
    assert len(line) < 260 * 3 // 4


@given(frames)
def test_lines_are_printable_without_control_bytes(frame: p.Frame) -> None:
    line = p.encode_frame(frame)
    assert b"\x03" not in line and b"\r" not in line
    assert all(0x20 < b < 0x7F for b in line[:-1])


def test_payload_over_the_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        p.encode_frame(p.Frame(0, 0, 0, 0, b"x" * (p.MAX_PAYLOAD + 1)))


@given(frames, st.data())
def test_any_changed_character_is_detected(frame: p.Frame, data: st.DataObject) -> None:
    text = bytearray(text_of(p.encode_frame(frame)))
    i = data.draw(st.integers(0, len(text) - 1))
    new = data.draw(
        st.sampled_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=#")
    )
    assume(text[i] != new)
    text[i] = new
    decoded = p.decode_text(bytes(text))
    # base64's unused low bits of the last character may change without changing the bytes;
    # a change of content is always caught.
    assert decoded is None or decoded == frame


@given(frames, st.integers(1, 2**32 - 1), st.data())
def test_any_bit_error_in_the_frame_bytes_is_detected(
    frame: p.Frame, error: int, data: st.DataObject
) -> None:
    raw = bytearray(base64.b64decode(text_of(p.encode_frame(frame))))
    # A burst of up to 32 bits anywhere: CRC-32 catches every such burst.
    start = data.draw(st.integers(0, len(raw) - 4))
    word = struct.unpack_from("<I", raw, start)[0] ^ error
    struct.pack_into("<I", raw, start, word)
    assert p.decode_text(base64.b64encode(bytes(raw))) is None


@given(frames)
def test_truncated_or_extended_lines_are_rejected(frame: p.Frame) -> None:
    text = text_of(p.encode_frame(frame))
    assert p.decode_text(text[:-4]) is None
    assert p.decode_text(text + b"AAAA") is None


@given(st.lists(frames, min_size=1, max_size=5), st.data())
def test_parser_finds_frames_among_repl_noise_in_any_chunking(
    found: list[p.Frame], data: st.DataObject
) -> None:
    noise = [
        b"MicroPython v1.24.1 on 2024-11-29; ESP32 module with ESP32\r\n",
        b">>> ",
        b'Traceback (most recent call last):\r\n  File "<stdin>", line 1\r\n',
        b"!garbage that is not base64 at all\r\n",
        b"!QUJD\r\n",  # valid base64, too short for a frame
        b"\x00\xff\x1b[2J",
    ]
    stream = b""
    for frame in found:
        stream += data.draw(st.sampled_from(noise)) + b"\r\n" + p.encode_frame(frame)
    stream += data.draw(st.sampled_from(noise))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    parser = p.FrameParser()
    got: list[p.Frame] = []
    last = 0
    for cut in [*cuts, len(stream)]:
        got += parser.feed(stream[last:cut])
        last = cut
    assert got == found


def test_crlf_rewriting_still_parses() -> None:
    frame = p.Frame(0x80, 1, 0, 0, b"ok")
    assert p.FrameParser().feed(p.encode_frame(frame).replace(b"\n", b"\r\n")) == [frame]


def test_overlong_candidate_is_dropped_and_parsing_resumes() -> None:
    frame = p.Frame(0x80, 2, 0, 0, b"")
    parser = p.FrameParser()
    assert parser.feed(b"!" + b"A" * 1000) == []
    assert parser.feed(b"\n" + p.encode_frame(frame)) == [frame]


def test_split_payload_into_chunks() -> None:
    assert p.split_payload(b"") == [b""]
    parts = p.split_payload(bytes(range(256)) + b"x")
    assert [len(x) for x in parts] == [128, 128, 1]
    assert b"".join(parts) == bytes(range(256)) + b"x"


def test_fields_and_reader() -> None:
    data = p.Fields().u8(7).u16(513).u64(2**40 + 3).text("Zoë").raw(b"\x00\x01").bytes()
    r = p.FieldReader(data)
    assert (r.u8(), r.u16(), r.u64(), r.text(), r.raw()) == (7, 513, 2**40 + 3, "Zoë", b"\x00\x01")
    r.end()
    with pytest.raises(ValueError):
        p.Fields().text("x" * 65)
    with pytest.raises(p.ProtocolError):
        p.FieldReader(b"\x05ab").text()


def test_crc_is_zlib_crc32() -> None:
    assert binascii.crc32(b"123456789") == 0xCBF43926  # the CRC-32 check value


def test_the_example_in_the_docs() -> None:
    line = p.encode_frame(p.Frame(0, 0x2A, 0, p.Command.INFO))
    assert line == b"!ACoAAgZ9kPo=\n"
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    assert "`!ACoAAgZ9kPo=\\n`" in doc


def test_parser_remembers_recent_noise_for_a_repl_hint() -> None:
    parser = p.FrameParser()
    parser.feed(
        b"Traceback...\r\n" + p.encode_frame(p.Frame(0x80, 1, 0, 0)) + b"MicroPython\r\n>>> "
    )
    assert parser.noise.endswith(b">>> ") and len(parser.noise) <= p.NOISE_KEPT
    assert any(prompt in parser.noise for prompt in p.REPL_PROMPTS)
