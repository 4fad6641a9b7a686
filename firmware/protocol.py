# Frame codec of the provisioning protocol (docs/protocol.md), token side.
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

import binascii
import struct

from micropython import const

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
