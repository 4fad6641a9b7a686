# The provisioning protocol's lower layers (docs/protocol.md), token side: the frame codec and
# the message layer. firmware/server.py holds the commands on top of them.
#
# A frame on the wire is one printable line:   "!" base64(frame) "\n"
# and the frame inside it, little-endian:
#     0  flags    u8   bit 7 RESPONSE (token -> host), bit 0 MORE (another chunk follows)
#     1  id       u8   request id chosen by the host, echoed in every response frame
#     2  seq      u8   chunk index within the message
#     3  code     u8   command (host -> token) or status (token -> host)
#     4  payload  0..MAX_PAYLOAD bytes
#     -4 crc      u32  CRC-32 (IEEE, as zlib.crc32) of every byte before it
#
# Printable lines never carry 0x03 (Ctrl-C) or bare control bytes, survive CR/LF rewriting,
# and let both ends skip REPL noise: a "!" starts a candidate, CR or LF ends it, and only a
# candidate that decodes and passes its CRC is a frame. A full line is at most MAX_LINE bytes,
# well under the ESP32's ~260-byte input ring buffer; the host sends one frame and waits for
# the answer before the next, so the buffer never overflows.
#
#     codec = Codec()
#     for each byte b read:  if codec.feed(b): frame = codec.decode()  (memoryview or None)
#     line = codec.encode(flags, id, seq, code, payload)   -> bytes to write
#
# Buffers are made once in __init__; feed() allocates nothing. decode() and encode() allocate
# one small object each (binascii's output), once per frame, never per byte.
#
# The message layer (Messages) sits on the codec: it reads the serial stream, reassembles a
# request sent in chunks (acknowledging each with MORE), answers a repeated frame (the host
# retrying after a lost answer) from a cache without running the command twice, and sends a
# long answer in the chunks the host asks for with CONTINUE. The command layer above sees
# whole requests only:
#
#     async def execute(code, request, response) -> status   # request: Request, response: Response
#     messages = Messages(writer.write, execute)
#     await messages.run(reader)
#
# Request reads a request's fields; Response builds the answer in a buffer made once.

import binascii
import struct

from micropython import const

MAX_REQUEST = const(640)  # bytes of a request message (reported by HELLO)
MAX_RESPONSE = const(1040)  # bytes of an answer message (a SCREEN answer is 1027)

MAX_PAYLOAD = const(128)
_HEADER = const(4)
_CRC = const(4)
MAX_FRAME = const(136)  # _HEADER + MAX_PAYLOAD + _CRC
_MAX_TEXT = const(184)  # base64 length of MAX_FRAME bytes: 4 * ceil(136 / 3)
MAX_LINE = const(186)  # "!" + _MAX_TEXT + "\n"
_MARK = const(0x21)  # "!"
_CR = const(0x0D)
_LF = const(0x0A)

FLAG_RESPONSE = const(0x80)
FLAG_MORE = const(0x01)

# The statuses this layer answers by itself; the command layer's are in server.py.
_CONTINUE = const(0x00)  # the command that asks for the next chunk of an answer
OK = const(0x00)
_MORE = const(0x01)  # chunk received: send the next one
BAD_REQUEST = const(0x10)
_SEQUENCE = const(0x12)
_TOO_LARGE = const(0x13)
INVALID = const(0x23)
INTERNAL = const(0x3F)
_MAX_TEXT_FIELD = const(64)  # bytes of a text field (labels, settings)
_MAX_MESSAGE = const(120)  # bytes of an error message


class Codec:
    def __init__(self):
        self._text = bytearray(_MAX_TEXT)
        self._text_mv = memoryview(self._text)
        self._n = -1  # characters collected for the current candidate; -1: outside one
        self._done = 0  # length of the candidate last completed
        self._frame = bytearray(MAX_FRAME)
        self._frame_mv = memoryview(self._frame)
        self.length = 0  # length of the frame last decoded or encoded, CRC included

    def feed(self, byte):
        """Take one received byte; True when a candidate line is complete (call decode())."""
        if byte == _MARK:
            self._n = 0
            return False
        n = self._n
        if n < 0:
            return False
        if byte == _LF or byte == _CR:
            self._n = -1
            self._done = n
            return n > 0
        if n >= _MAX_TEXT:
            self._n = -1  # too long for any frame: noise, drop it
            return False
        self._text[n] = byte
        self._n = n + 1
        return False

    def decode(self):
        """The frame of the candidate just completed, or None if it is not a valid frame.

        Returns a memoryview of the internal frame buffer, valid until the next decode/encode;
        its fields are read with header()/payload()."""
        n = self._done
        try:
            raw = binascii.a2b_base64(self._text_mv[:n])
        except ValueError:
            return None
        size = len(raw)
        if size < _HEADER + _CRC or size > MAX_FRAME:
            return None
        body = size - _CRC
        if binascii.crc32(memoryview(raw)[:body]) != struct.unpack_from("<I", raw, body)[0]:
            return None
        self._frame[:size] = raw
        self.length = size
        return self._frame_mv[:body]

    def encode(self, flags, rid, seq, code, payload=None, start=0, count=-1):
        """A complete wire line (bytes) for one frame; payload[start:start+count] goes in it."""
        f = self._frame
        f[0] = flags
        f[1] = rid
        f[2] = seq
        f[3] = code
        n = 0
        if payload is not None:
            n = len(payload) - start if count < 0 else count
            if n > MAX_PAYLOAD:
                raise ValueError("payload too long")
            f[_HEADER : _HEADER + n] = memoryview(payload)[start : start + n]
        body = _HEADER + n
        struct.pack_into("<I", f, body, binascii.crc32(self._frame_mv[:body]))
        self.length = body + _CRC
        return b"!" + binascii.b2a_base64(self._frame_mv[: self.length])

    def crc(self):
        """The CRC bytes of the frame last decoded (a view, valid until the next frame)."""
        return self._frame_mv[self.length - _CRC : self.length]


class Fail(Exception):
    """A command failed with a protocol status; args: (status, message)."""


class Request:
    """Reads the fields of a request payload; running past its end is a BAD_REQUEST."""

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def _take(self, n):
        pos = self.pos
        if pos + n > len(self.buf):
            raise Fail(BAD_REQUEST, "request too short")
        self.pos = pos + n
        return pos

    def u8(self):
        return self.buf[self._take(1)]

    def u16(self):
        return struct.unpack_from("<H", self.buf, self._take(2))[0]

    def u32(self):
        return struct.unpack_from("<I", self.buf, self._take(4))[0]

    def u64(self):
        return struct.unpack_from("<Q", self.buf, self._take(8))[0]

    def raw(self, limit):
        n = self.u8()
        if n > limit:
            raise Fail(BAD_REQUEST, "field too long")
        pos = self._take(n)
        return bytes(self.buf[pos : pos + n])

    def text(self):
        data = self.raw(_MAX_TEXT_FIELD)
        try:
            return data.decode()
        except UnicodeError:
            raise Fail(INVALID, "text is not valid UTF-8") from None

    def end(self):
        if self.pos != len(self.buf):
            raise Fail(BAD_REQUEST, "unexpected bytes at the end of the request")


class Response:
    """An answer being built, in a buffer made once; past MAX_RESPONSE it is an INTERNAL
    failure (a command must not build more than the host can take)."""

    def __init__(self):
        self.buf = bytearray(MAX_RESPONSE)
        self.length = 0

    def clear(self):
        self.length = 0

    def _room(self, n):
        pos = self.length
        if pos + n > MAX_RESPONSE:
            raise Fail(INTERNAL, "response too long")
        self.length = pos + n
        return pos

    def put(self, fmt, *values):
        struct.pack_into(fmt, self.buf, self._room(struct.calcsize(fmt)), *values)

    def put_bytes(self, data):
        pos = self._room(len(data))
        self.buf[pos : self.length] = data

    def put_text(self, text):
        data = text.encode()
        self.put("B", len(data))
        self.put_bytes(data)

    def message(self, text):
        """Replace the answer with an error message (cut to 120 bytes)."""
        if not isinstance(text, str):
            text = "error"
        data = text.encode()[:_MAX_MESSAGE]
        self.buf[: len(data)] = data
        self.length = len(data)


class Messages:
    """The message layer over one serial stream (see the top of this file). `execute` is the
    command layer: `async execute(code, request, response)` fills response and returns the
    status (it must not raise)."""

    def __init__(self, write, execute):
        self.codec = Codec()
        self._write = write
        self._execute = execute
        self._req = bytearray(MAX_REQUEST)
        self._req_mv = memoryview(self._req)
        self._req_len = 0
        self._req_id = -1  # id of the request being reassembled; -1: none
        self._req_code = -1
        self._req_seq = 0  # next chunk expected
        self.response = Response()
        self._resp_id = -1  # id of the answer the host may ask chunks of
        self._resp_status = OK
        self._resp_base = 0  # seq of the request's last chunk = seq of answer chunk 0
        self._last_key = bytearray(7)  # id, seq, code, crc of the last frame answered
        self._last_line = None

    # ---- the byte stream

    async def run(self, reader, first=-1, idle_ms=0):
        """Read frames from `reader` (a binary stream) and answer them until the input ends
        (never, on a board), or, with idle_ms, until no byte came for that long. `first`: a
        byte already read from the stream (0..255), taken before the stream's. Waits in the
        event loop for the first byte, then drains what is buffered with select.poll(0): it
        never blocks the loop."""
        import asyncio
        import select

        stream = asyncio.StreamReader(reader)
        poller = select.poll()
        poller.register(reader, select.POLLIN)
        one = bytearray(1)
        readinto = reader.readinto
        feed = self.codec.feed
        while True:
            if first >= 0:
                one[0] = first
                first = -1
            elif idle_ms:
                try:
                    if not await asyncio.wait_for_ms(stream.readinto(one), idle_ms):
                        return
                except asyncio.TimeoutError:
                    return  # quiet for idle_ms: the caller may unload the command layer
            elif not await stream.readinto(one):
                return  # end of input (only a test harness's pipe ends)
            while True:
                if feed(one[0]):
                    frame = self.codec.decode()
                    if frame is not None:
                        await self.handle(frame)
                if not _readable(poller) or not readinto(one):
                    break

    def _send(self, line):
        self._last_line = line
        self._write(line)

    # ---- frames and messages

    def _repeated(self, rid, seq, code):
        """True if this frame is the one answered last (a retry); else remember it."""
        crc = self.codec.crc()
        key = self._last_key
        if (
            self._last_line is not None
            and key[0] == rid
            and key[1] == seq
            and key[2] == code
            and key[3:7] == crc
        ):
            return True
        key[0] = rid
        key[1] = seq
        key[2] = code
        key[3:7] = crc
        return False

    async def handle(self, frame):
        """One decoded frame (a memoryview from Codec.decode)."""
        flags, rid, seq, code = frame[0], frame[1], frame[2], frame[3]
        if flags & FLAG_RESPONSE:
            return  # our own answer echoed back: not for us
        if self._repeated(rid, seq, code):
            self._write(self._last_line)  # answer again, do not run it twice
            return
        if code == _CONTINUE:
            self._send_chunk(rid, seq - self._resp_base, seq)
            return
        if seq == 0:
            self._req_id = rid
            self._req_code = code
            self._req_len = 0
        elif rid != self._req_id or code != self._req_code or seq != self._req_seq:
            self._req_id = -1
            self._error(rid, seq, _SEQUENCE, "chunk out of sequence")
            return
        payload = frame[4:]
        n = len(payload)
        start = self._req_len
        if start + n > MAX_REQUEST:
            self._req_id = -1
            self._error(rid, seq, _TOO_LARGE, "request longer than %d bytes" % MAX_REQUEST)
            return
        self._req[start : start + n] = payload
        self._req_len = start + n
        if flags & FLAG_MORE:
            self._req_seq = seq + 1
            self._send(self.codec.encode(FLAG_RESPONSE, rid, seq, _MORE))
            return
        self._req_id = -1
        response = self.response
        response.clear()
        self._resp_id = rid
        self._resp_base = seq
        self._resp_status = await self._execute(
            code, Request(self._req_mv[: self._req_len]), response
        )
        self._send_chunk(rid, 0, seq)

    def _error(self, rid, seq, status, message):
        data = message.encode()[:_MAX_MESSAGE]
        self._send(self.codec.encode(FLAG_RESPONSE, rid, seq, status, data))

    def _send_chunk(self, rid, index, seq):
        # Chunk `index` of the answer travels in the frame answering `seq` (see docs).
        if rid != self._resp_id:
            self._error(rid, seq, _SEQUENCE, "no answer pending for this id")
            return
        length = self.response.length
        start = index * MAX_PAYLOAD
        if index < 0 or start > length or (start == length and index > 0):
            self._error(rid, seq, _SEQUENCE, "no such chunk")
            return
        count = min(MAX_PAYLOAD, length - start)
        flags = FLAG_RESPONSE
        if start + count < length:
            flags |= FLAG_MORE
        line = self.codec.encode(
            flags, rid, seq, self._resp_status, self.response.buf, start, count
        )
        self._send(line)


def _readable(poller):
    for _ in poller.ipoll(0):
        return True
    return False
