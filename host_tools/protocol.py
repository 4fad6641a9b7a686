"""Frame codec and field encoding of the token's provisioning protocol (docs/protocol.md).

Every protocol constant of the host is defined here (commands, statuses, flag bits, wire
values of algorithms and kinds, limits); no other host module writes one by hand.
Host side, CPython. The firmware side is firmware/protocol.py + firmware/server.py; both follow
docs/protocol.md, which is the contract. A frame on the wire is one printable line:

    "!" base64(flags u8, id u8, seq u8, code u8, payload <=128 bytes, crc32 u32 LE) "\\n"

`FrameParser` picks frames out of a byte stream that may also carry REPL noise; `encode_frame`
makes the line for one frame. `Fields`/`FieldReader` build and read payloads.
"""

from __future__ import annotations

import base64
import binascii
import enum
import struct
from dataclasses import dataclass

from host_tools.errors import ProtocolError

PROTOCOL_MAJOR = 1
PROTOCOL_MINOR = 2  # 1: INFO heap figures; 2: Steam kind, password, lock, factory reset, PIN

MARK = b"!"
MAX_PAYLOAD = 128
HEADER = 4
CRC_SIZE = 4
MAX_FRAME = HEADER + MAX_PAYLOAD + CRC_SIZE
MAX_TEXT = 4 * ((MAX_FRAME + 2) // 3)  # base64 characters of the largest frame
MAX_LINE = len(MARK) + MAX_TEXT + 1  # 186 bytes, well under the ESP32's ~260-byte buffer

NOISE_KEPT = 64
REPL_PROMPTS = (b">>> ", b"raw REPL", b"paste mode")

FLAG_RESPONSE = 0x80
FLAG_MORE = 0x01

MAX_LABEL = 64  # bytes of UTF-8 in an issuer, a name, a setting's name or value
MAX_SECRET = 128
MAX_REQUEST = 640  # bytes of one request message, until HELLO reports the token's own
MAX_VECTORS = 32  # vectors in one VECTORS message
MAX_CHECKS = 16  # values in one CHECK message
WIPE_MAGIC = b"WIPE"
FACTORY_MAGIC = b"FACTORY RESET"  # FACTORY_RESET's confirmation bytes

ADD_REPLACE = 0x01  # ADD flags: replace an account of the same label

# INFO flag bits
INFO_CLOCK = 0x01
INFO_DISPLAY = 0x02
INFO_CORRUPT = 0x04
INFO_RECOVERED = 0x08
INFO_PIN = 0x40  # a device PIN is set (the secrets are encrypted with it)

MAX_ENTROPY = 32  # bytes of host entropy in PIN_SET (mixed into the token's salt)
INFO_PASSWORD = 0x10  # a management password is set
INFO_LOCKED = 0x20  # locked mode: Ctrl-C never reaches the REPL


class Command(enum.IntEnum):
    CONTINUE = 0x00
    HELLO = 0x01
    INFO = 0x02
    TIME_GET = 0x03
    TIME_SET = 0x04
    LIST = 0x05
    ADD = 0x06
    DELETE = 0x07
    RENAME = 0x08
    CODES = 0x09
    CALC = 0x0A
    CHECK = 0x0B
    VECTORS = 0x0C
    SCREEN = 0x0D
    WIPE = 0x0E
    CONFIG_GET = 0x0F
    CONFIG_SET = 0x10
    PIN_SET = 0x18
    PIN_CLEAR = 0x19
    PIN_STATUS = 0x1A
    AUTH_CHALLENGE = 0x11
    AUTH_PROOF = 0x12
    PASSWORD_SET = 0x13
    PASSWORD_CLEAR = 0x14
    LOCK = 0x15
    UNLOCK = 0x16
    FACTORY_RESET = 0x17


class Status(enum.IntEnum):
    OK = 0x00
    MORE = 0x01
    BAD_REQUEST = 0x10
    UNKNOWN_COMMAND = 0x11
    SEQUENCE = 0x12
    TOO_LARGE = 0x13
    FULL = 0x20
    DUPLICATE = 0x21
    NOT_FOUND = 0x22
    INVALID = 0x23
    CORRUPT = 0x24
    AMBIGUOUS = 0x25
    CLOCK_NOT_SET = 0x30
    DENIED = 0x31
    NO_DISPLAY = 0x32
    OUT_OF_MEMORY = 0x33
    PIN_REQUIRED = 0x38
    PIN_WRONG = 0x39
    AUTH_REQUIRED = 0x34
    AUTH_FAILED = 0x35
    RETRY_LATER = 0x36
    PRESENCE_REQUIRED = 0x37
    INTERNAL = 0x3F


ALGORITHMS = ("sha1", "sha256", "sha512")  # wire values 1, 2, 3
KINDS = ("totp", "hotp", "steam")  # wire values 0, 1, 2
STEAM_DIGITS = 5  # digits 5: a Steam code, the truncated value mod 26**5 (docs: Steam Guard)
NO_CODE = 0xFFFFFFFF


@dataclass(frozen=True)
class Frame:
    flags: int
    rid: int
    seq: int
    code: int
    payload: bytes = b""

    @property
    def response(self) -> bool:
        return bool(self.flags & FLAG_RESPONSE)

    @property
    def more(self) -> bool:
        return bool(self.flags & FLAG_MORE)


def encode_frame(frame: Frame) -> bytes:
    """The wire line for `frame`."""
    if len(frame.payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(frame.payload)} bytes exceeds {MAX_PAYLOAD}")
    for name in ("flags", "rid", "seq", "code"):
        if not 0 <= getattr(frame, name) <= 255:
            raise ValueError(f"{name} must fit in one byte")
    body = bytes((frame.flags, frame.rid, frame.seq, frame.code)) + frame.payload
    raw = body + struct.pack("<I", binascii.crc32(body))
    return MARK + base64.b64encode(raw) + b"\n"


def decode_text(text: bytes) -> Frame | None:
    """The frame in the base64 text between a mark and the line end, or None if invalid."""
    if not text or len(text) > MAX_TEXT:
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not HEADER + CRC_SIZE <= len(raw) <= MAX_FRAME:
        return None
    body, crc = raw[:-CRC_SIZE], raw[-CRC_SIZE:]
    if struct.unpack("<I", crc)[0] != binascii.crc32(body):
        return None
    return Frame(body[0], body[1], body[2], body[3], bytes(body[HEADER:]))


class FrameParser:
    """Finds frames in a byte stream: a "!" starts a candidate, CR or LF ends it; anything
    that is not a valid frame (REPL output, line noise, a corrupted frame) is skipped."""

    def __init__(self) -> None:
        self._text: bytearray | None = None
        self.skipped = 0  # candidates that were not valid frames (for diagnostics)
        self.noise = b""  # the last bytes seen outside frames (to recognise a REPL prompt)

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        outside = bytearray()
        for byte in data:
            if byte == 0x21:  # "!"
                self._text = bytearray()
            elif self._text is None:
                outside.append(byte)
            elif byte in (0x0A, 0x0D):
                text, self._text = bytes(self._text), None
                if text:
                    frame = decode_text(text)
                    if frame is None:
                        self.skipped += 1
                    else:
                        frames.append(frame)
            elif len(self._text) >= MAX_TEXT:
                self._text = None
                self.skipped += 1
            else:
                self._text.append(byte)
        if outside:
            self.noise = (self.noise + bytes(outside))[-NOISE_KEPT:]
        return frames


def split_payload(payload: bytes) -> list[bytes]:
    """The chunks a message travels in (one empty chunk for an empty message)."""
    if not payload:
        return [b""]
    return [payload[i : i + MAX_PAYLOAD] for i in range(0, len(payload), MAX_PAYLOAD)]


class Fields:
    """Builds a payload: little-endian integers, u8-length-prefixed texts and byte strings."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, value: int) -> Fields:
        self._parts.append(struct.pack("<B", value))
        return self

    def u16(self, value: int) -> Fields:
        self._parts.append(struct.pack("<H", value))
        return self

    def u32(self, value: int) -> Fields:
        self._parts.append(struct.pack("<I", value))
        return self

    def u64(self, value: int) -> Fields:
        self._parts.append(struct.pack("<Q", value))
        return self

    def raw(self, data: bytes, limit: int = 255) -> Fields:
        if len(data) > limit:
            raise ValueError(f"field of {len(data)} bytes exceeds {limit}")
        self._parts.append(struct.pack("<B", len(data)) + data)
        return self

    def text(self, value: str) -> Fields:
        # surrogateescape: a label the token listed with bytes that are not UTF-8 goes back
        # as those bytes (FieldReader.label). Callers validate what users type.
        return self.raw(value.encode("utf-8", "surrogateescape"), MAX_LABEL)

    def bytes(self) -> bytes:
        return b"".join(self._parts)


class FieldReader:
    """Reads a response payload; a short or over-long payload is a ProtocolError."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ProtocolError("token sent a truncated answer")
        part = self.data[self.pos : self.pos + n]
        self.pos += n
        return part

    def u8(self) -> int:
        return self._take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack("<H", self._take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack("<I", self._take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self._take(8))[0])

    def raw(self) -> bytes:
        return self._take(self.u8())

    def text(self) -> str:
        try:
            return self.raw().decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("token sent text that is not UTF-8") from None

    def label(self) -> str:
        """A stored issuer or name. Bytes that are not UTF-8 (an older firmware stored
        them) become lone surrogates instead of an error, so the account can still be listed,
        deleted and renamed; see host_tools.account."""
        return self.raw().decode("utf-8", "surrogateescape")

    def rest(self) -> bytes:
        return self._take(len(self.data) - self.pos)

    @property
    def done(self) -> bool:
        return self.pos == len(self.data)

    def end(self) -> None:
        if not self.done:
            raise ProtocolError("token sent unexpected bytes at the end of an answer")
