# The provisioning protocol server (docs/protocol.md): an asyncio task beside the display.
#
#     await server.serve(token, reader, writer)
#
# reader/writer are the board's binary serial streams (board.serial()); token exposes vault,
# clock, config, display (a framebuf or None), changed() and FIRMWARE_VERSION (see app.py).
# The task waits for input through asyncio's poller and drains what is already buffered with
# select.poll(0), so it never blocks the event loop. Anything that is not a valid frame is
# ignored. A message longer than one frame arrives in chunks (each acknowledged with CONTINUE)
# and a long answer leaves in chunks the host asks for one by one, so the host never has more
# than one frame in flight. A repeated frame (the host retrying after a lost answer) gets the
# same answer again without running the command twice.
#
# Buffers (frame codec, request, response) are made once in Server.__init__. Secrets arrive in
# ADD and VECTORS and never leave: no command returns one, and no error message contains one.

import asyncio
import select
import struct
import time

import protocol
from micropython import const

PROTOCOL_MAJOR = const(1)
PROTOCOL_MINOR = const(0)
MAX_REQUEST = const(640)
MAX_RESPONSE = const(1040)

# Commands (host -> token)
_CONTINUE = const(0x00)
_HELLO = const(0x01)
_INFO = const(0x02)
_TIME_GET = const(0x03)
_TIME_SET = const(0x04)
_LIST = const(0x05)
_ADD = const(0x06)
_DELETE = const(0x07)
_RENAME = const(0x08)
_CODES = const(0x09)
_CALC = const(0x0A)
_CHECK = const(0x0B)
_VECTORS = const(0x0C)
_SCREEN = const(0x0D)
_WIPE = const(0x0E)
_CONFIG_GET = const(0x0F)
_CONFIG_SET = const(0x10)

# Statuses (token -> host)
_OK = const(0x00)
_MORE = const(0x01)  # chunk received: send the next one
_BAD_REQUEST = const(0x10)
_UNKNOWN = const(0x11)
_SEQUENCE = const(0x12)
_TOO_LARGE = const(0x13)
_FULL = const(0x20)
_DUPLICATE = const(0x21)
_NOT_FOUND = const(0x22)
_INVALID = const(0x23)
_CORRUPT = const(0x24)
_AMBIGUOUS = const(0x25)
_CLOCK = const(0x30)
_DENIED = const(0x31)
_NO_DISPLAY = const(0x32)
_INTERNAL = const(0x3F)

_VAULT_STATUS = {
    "FULL": _FULL,
    "DUPLICATE": _DUPLICATE,
    "NOT_FOUND": _NOT_FOUND,
    "INVALID": _INVALID,
    "CORRUPT": _CORRUPT,
    "AMBIGUOUS": _AMBIGUOUS,
}
_ALGORITHMS = ("sha1", "sha256", "sha512")  # wire values 1, 2, 3
_MAX_TEXT = const(64)
_MAX_SECRET = const(128)
_MAX_VECTORS = const(32)
_MAX_CHECKS = const(16)
_MAX_MESSAGE = const(120)  # bytes of an error message
_ENTRY_MAX = const(145)  # largest CODES entry: 10 fixed + 2 * 65 labels + 5 code
_CHECK_WINDOW_MS = const(300000)  # CHECK works on a fresh account for 5 minutes
_WIPE_MAGIC = b"WIPE"
_ENOSPC = const(28)


class Fail(Exception):
    """A command failed with a protocol status; args: (status, message)."""


class _Request:
    """Reads the fields of a request payload; running past its end is a BAD_REQUEST."""

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def _take(self, n):
        pos = self.pos
        if pos + n > len(self.buf):
            raise Fail(_BAD_REQUEST, "request too short")
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
            raise Fail(_BAD_REQUEST, "field too long")
        pos = self._take(n)
        return bytes(self.buf[pos : pos + n])

    def text(self):
        data = self.raw(_MAX_TEXT)
        try:
            return data.decode()
        except UnicodeError:
            raise Fail(_INVALID, "text is not valid UTF-8") from None

    def end(self):
        if self.pos != len(self.buf):
            raise Fail(_BAD_REQUEST, "unexpected bytes at the end of the request")


class Server:
    def __init__(self, token, writer):
        self.token = token
        self._write = writer.write
        self._codec = protocol.Codec()
        self._req = bytearray(MAX_REQUEST)
        self._req_mv = memoryview(self._req)
        self._req_len = 0
        self._req_id = -1
        self._req_code = -1
        self._req_seq = 0  # next chunk expected
        self._resp = bytearray(MAX_RESPONSE)
        self._resp_mv = memoryview(self._resp)
        self._resp_len = 0
        self._resp_id = -1
        self._resp_status = _OK
        self._resp_base = 0  # seq of the request's last chunk = seq of answer chunk 0
        self._last_key = bytearray(7)  # id, seq, code, crc of the last frame answered
        self._last_line = None
        self._fresh = None  # account added last: the only one CHECK accepts
        self._fresh_ms = 0
        self._handlers = {
            _HELLO: self._hello,
            _INFO: self._info,
            _TIME_GET: self._time_get,
            _TIME_SET: self._time_set,
            _LIST: self._list,
            _ADD: self._add,
            _DELETE: self._delete,
            _RENAME: self._rename,
            _CODES: self._codes,
            _CALC: self._calc,
            _CHECK: self._check,
            _VECTORS: self._vectors,
            _SCREEN: self._screen,
            _WIPE: self._wipe,
            _CONFIG_GET: self._config_get,
            _CONFIG_SET: self._config_set,
        }

    # ---- the byte stream

    async def run(self, reader):
        stream = asyncio.StreamReader(reader)
        poller = select.poll()
        poller.register(reader, select.POLLIN)
        one = bytearray(1)
        readinto = reader.readinto
        feed = self._codec.feed
        while True:
            # Sleep in the event loop until a byte arrives, then take what is buffered.
            if not await stream.readinto(one):
                return  # end of input (only a test harness's pipe ends)
            while True:
                if feed(one[0]):
                    frame = self._codec.decode()
                    if frame is not None:
                        await self.handle(frame)
                if not _readable(poller) or not readinto(one):
                    break

    def _send(self, line):
        self._last_line = line
        self._write(line)

    # ---- frames and messages

    async def handle(self, frame):
        flags, rid, seq, code = frame[0], frame[1], frame[2], frame[3]
        if flags & protocol.FLAG_RESPONSE:
            return  # our own answer echoed back: not for us
        codec = self._codec
        crc = codec._frame_mv[codec.length - 4 : codec.length]
        key = self._last_key
        if (
            self._last_line is not None
            and key[0] == rid
            and key[1] == seq
            and key[2] == code
            and key[3:7] == crc
        ):
            self._write(self._last_line)  # a retry: answer again, do not run it twice
            return
        key[0] = rid
        key[1] = seq
        key[2] = code
        key[3:7] = crc
        payload = frame[4:]
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
        n = len(payload)
        start = self._req_len
        if start + n > MAX_REQUEST:
            self._req_id = -1
            self._error(rid, seq, _TOO_LARGE, "request longer than %d bytes" % MAX_REQUEST)
            return
        self._req[start : start + n] = payload
        self._req_len = start + n
        if flags & protocol.FLAG_MORE:
            self._req_seq = seq + 1
            self._send(codec.encode(protocol.FLAG_RESPONSE, rid, seq, _MORE))
            return
        self._req_id = -1
        await self._execute(rid, seq, code)

    async def _execute(self, rid, seq, code):
        self._resp_len = 0
        self._resp_id = rid
        self._resp_base = seq
        handler = self._handlers.get(code)
        try:
            if handler is None:
                raise Fail(_UNKNOWN, "unknown command 0x%02x" % code)
            request = _Request(self._req_mv[: self._req_len])
            result = handler(request)
            if result is not None:  # a coroutine: commands that take a while
                await result
            self._resp_status = _OK
        except Fail as e:
            self._fail_message(e.args[0], e.args[1])
        except ValueError as e:
            # Vault errors carry a stable code; other ValueErrors are bad field values.
            status = _VAULT_STATUS.get(getattr(e, "code", ""), _INVALID)
            self._fail_message(status, e.args[0] if e.args else "invalid value")
        except OSError as e:
            errno = e.args[0] if e.args else 0
            if errno == _ENOSPC:
                self._fail_message(_INTERNAL, "the token's flash is full")
            else:
                self._fail_message(_INTERNAL, "device error %s" % errno)
        except MemoryError:
            self._fail_message(_INTERNAL, "out of memory")
        except Exception as e:  # noqa: BLE001 - a bug must not leave the host without an answer
            # The type only: an exception's text could quote a value we were given.
            self._fail_message(_INTERNAL, "internal error (%s)" % type(e).__name__)
        self._send_chunk(rid, 0, seq)

    def _fail_message(self, status, message):
        self._resp_status = status
        self._resp_len = 0
        if not isinstance(message, str):
            message = "error"
        data = message.encode()[:_MAX_MESSAGE]
        self._resp[: len(data)] = data
        self._resp_len = len(data)

    def _error(self, rid, seq, status, message):
        data = message.encode()[:_MAX_MESSAGE]
        self._send(self._codec.encode(protocol.FLAG_RESPONSE, rid, seq, status, data))

    def _send_chunk(self, rid, index, seq):
        # Chunk `index` of the answer travels in the frame answering `seq` (see docs).
        if rid != self._resp_id:
            self._error(rid, seq, _SEQUENCE, "no answer pending for this id")
            return
        start = index * protocol.MAX_PAYLOAD
        if index < 0 or start > self._resp_len or (start == self._resp_len and index > 0):
            self._error(rid, seq, _SEQUENCE, "no such chunk")
            return
        count = min(protocol.MAX_PAYLOAD, self._resp_len - start)
        flags = protocol.FLAG_RESPONSE
        if start + count < self._resp_len:
            flags |= protocol.FLAG_MORE
        line = self._codec.encode(flags, rid, seq, self._resp_status, self._resp, start, count)
        self._send(line)

    # ---- response building

    def _put(self, fmt, *values):
        n = struct.calcsize(fmt)
        pos = self._resp_len
        if pos + n > MAX_RESPONSE:
            raise Fail(_INTERNAL, "response too long")
        struct.pack_into(fmt, self._resp, pos, *values)
        self._resp_len = pos + n

    def _put_bytes(self, data):
        pos = self._resp_len
        n = len(data)
        if pos + n > MAX_RESPONSE:
            raise Fail(_INTERNAL, "response too long")
        self._resp[pos : pos + n] = data
        self._resp_len = pos + n

    def _put_text(self, text):
        data = text.encode()
        self._put("B", len(data))
        self._put_bytes(data)

    def _put_entry(self, index, account):
        hotp = account.kind == "hotp"
        self._put(
            "<BBBBHI",
            index,
            1 if hotp else 0,
            _ALGORITHMS.index(account.algorithm) + 1,
            account.digits,
            account.period,
            # a u32 on the wire: enough for any counter a person presses to; saturate beyond
            min(account.counter, 0xFFFFFFFF) if hotp else 0,
        )
        self._put_text(account.issuer)
        self._put_text(account.name)

    # ---- commands

    def _firmware_version(self):
        return str(getattr(self.token, "FIRMWARE_VERSION", "unknown"))

    def _hello(self, req):
        req.u8()  # the host's protocol major/minor: the host decides whether it can talk to us
        req.u8()
        req.end()
        self._fresh = None
        self._put(
            "<BBHHH",
            PROTOCOL_MAJOR,
            PROTOCOL_MINOR,
            protocol.MAX_PAYLOAD,
            MAX_REQUEST,
            MAX_RESPONSE,
        )
        self._put_text(self._firmware_version())

    def _info(self, req):
        req.end()
        token = self.token
        vault = token.vault
        flags = 0
        corrupt = bool(getattr(vault, "corrupt", False))
        count = 0
        if not corrupt:
            try:
                count = vault.count
            except ValueError:
                corrupt = True
        if token.clock.valid():
            flags |= 1
        if token.display is not None:
            flags |= 2
        if corrupt:
            flags |= 4
        if getattr(vault, "recovered", False):
            flags |= 8
        self._put("<BBB", vault.capacity, count, flags)
        self._put_text(self._firmware_version())

    def _time_get(self, req):
        req.end()
        clock = self.token.clock
        valid = clock.valid()
        self._put("<BQ", 1 if valid else 0, clock.unix_ms() if valid else 0)

    async def _time_set(self, req):
        ms = req.u64()
        req.end()
        result = self.token.clock.set_unix_ms(ms)
        if result is not None:  # a clock may wait for the second edge as a coroutine
            await result
        self.token.changed()

    def _list(self, req):
        start = req.u8()
        req.end()
        accounts = self.token.vault.accounts()
        self._put("B", len(accounts))
        self._list_entries(accounts, start)

    async def _codes(self, req):
        start = req.u8()
        req.end()
        clock = self.token.clock
        valid = clock.valid()
        now = clock.unix() if valid else 0
        accounts = self.token.vault.accounts()
        self._put("<BBQ", len(accounts), 1 if valid else 0, now)
        await self._code_entries(accounts, start, now if valid else None)

    def _list_entries(self, accounts, start):
        # As many whole entries as surely fit; the host asks again from the next index.
        i = start
        while i < len(accounts) and self._resp_len + _ENTRY_MAX <= MAX_RESPONSE:
            self._put_entry(i, accounts[i])
            i += 1

    async def _code_entries(self, accounts, start, now):
        i = start
        while i < len(accounts) and self._resp_len + _ENTRY_MAX <= MAX_RESPONSE:
            account = accounts[i]
            self._put_entry(i, account)
            if now is not None and account.kind == "totp":
                period = account.period
                self._put("<IB", account.key().totp(now), period - now % period)
                await asyncio.sleep_ms(0)  # let the UI run between codes
            else:
                self._put("<IB", 0xFFFFFFFF, 0)  # no clock, or HOTP (only CALC counts)
            i += 1

    def _account(self, req):
        issuer = req.text()
        name = req.text()
        for account in self.token.vault.accounts():
            if account.issuer == issuer and account.name == name:
                return account
        raise Fail(_NOT_FOUND, "no account %s" % (issuer + ":" + name if issuer else name))

    def _add(self, req):
        flags = req.u8()
        kind = req.u8()
        algorithm = req.u8()
        digits = req.u8()
        period = req.u16()
        counter = req.u64()
        issuer = req.text()
        name = req.text()
        secret = req.raw(_MAX_SECRET)
        req.end()
        if kind > 1 or not 1 <= algorithm <= 3:
            raise Fail(_INVALID, "unknown kind or algorithm")
        vault = self.token.vault
        account = vault.add(
            issuer,
            name,
            secret,
            algorithm=_ALGORITHMS[algorithm - 1],
            digits=digits,
            period=period,
            kind="hotp" if kind else "totp",
            counter=counter,
            replace=bool(flags & 1),
        )
        self._fresh = account
        self._fresh_ms = time.ticks_ms()
        self.token.changed()
        self._put("<BB", vault.count, vault.capacity)

    def _delete(self, req):
        account = self._account(req)
        req.end()
        vault = self.token.vault
        vault.delete(account)
        self._fresh = None
        self.token.changed()
        self._put("<BB", vault.count, vault.capacity)

    def _rename(self, req):
        account = self._account(req)
        issuer = req.text()
        name = req.text()
        req.end()
        self.token.vault.rename(account, issuer, name)
        self._fresh = None
        self.token.changed()

    def _calc(self, req):
        account = self._account(req)
        req.end()
        key = account.key()
        if account.kind == "hotp":
            counter = self.token.vault.next_hotp(account)  # on flash before the code leaves
            self.token.changed()
            self._put("<IBQ", key.hotp(counter), 0, counter)
            return
        clock = self.token.clock
        if not clock.valid():
            raise Fail(_CLOCK, "the token's clock is not set")
        now = clock.unix()
        period = account.period
        self._put("<IBQ", key.totp(now), period - now % period, now // period)

    async def _check(self, req):
        # Codes at host-chosen times (TOTP) or counters (HOTP), without side effects, for the
        # account just added: provisioning proves the stored secret this way. Limited to that
        # account and a short window, so the serial port cannot harvest future codes of the
        # accounts already on the token.
        account = self._account(req)
        n = req.u8()
        if n > _MAX_CHECKS:
            raise Fail(_BAD_REQUEST, "at most %d values" % _MAX_CHECKS)
        fresh = self._fresh
        if (
            fresh is None
            or fresh is not account
            or time.ticks_diff(time.ticks_ms(), self._fresh_ms) > _CHECK_WINDOW_MS
        ):
            raise Fail(_DENIED, "CHECK works only on the account just added")
        key = account.key()
        hotp = account.kind == "hotp"
        for _ in range(n):
            value = req.u64()
            self._put("<I", key.hotp(value) if hotp else key.totp(value))
            await asyncio.sleep_ms(0)  # a SHA512 code takes a while on an ESP32: let the UI run
        req.end()

    async def _vectors(self, req):
        import otp

        n = req.u8()
        if n > _MAX_VECTORS:
            raise Fail(_BAD_REQUEST, "at most %d vectors" % _MAX_VECTORS)
        for _ in range(n):
            algorithm = req.u8()
            digits = req.u8()
            period = req.u16()
            value = req.u64()
            secret = req.raw(_MAX_SECRET)
            if not 1 <= algorithm <= 3:
                raise Fail(_INVALID, "unknown algorithm")
            if not secret:
                raise Fail(_INVALID, "empty secret")
            if period == 0:  # HOTP: value is the counter
                key = otp.Key(secret, _ALGORITHMS[algorithm - 1], digits)
                code = key.hotp(value)
            else:
                key = otp.Key(secret, _ALGORITHMS[algorithm - 1], digits, period)
                code = key.totp(value)
            self._put("<I", code)
            await asyncio.sleep_ms(0)  # let the display run between vectors
        req.end()

    def _screen(self, req):
        req.end()
        display = self.token.display
        if display is None:
            raise Fail(_NO_DISPLAY, "this token has no display")
        buf = display.buffer
        self._put("<BBB", display.width, display.height, 0)  # 0: MONO_VLSB, page-major
        self._put_bytes(buf)

    def _wipe(self, req):
        if bytes(req.buf) != _WIPE_MAGIC:
            raise Fail(_BAD_REQUEST, "wipe needs its confirmation bytes")
        self.token.vault.wipe()
        self._fresh = None
        self.token.changed()

    def _config_get(self, req):
        name = req.text()
        req.end()
        found = False
        for n, value in self.token.config.items():
            if not name or n == name:
                self._put_text(n)
                self._put_text(_config_text(value))
                found = True
        if not found:
            raise Fail(_NOT_FOUND, "no setting %s" % name)

    def _config_set(self, req):
        name = req.text()
        text = req.text()
        req.end()
        config = self.token.config
        for n, value in config.items():
            if n == name:
                config.set(name, _config_value(value, text))
                self.token.changed()
                self._put_text(_config_text(config.get(name)))
                return
        raise Fail(_NOT_FOUND, "no setting %s" % name)


def _readable(poller):
    for _ in poller.ipoll(0):
        return True
    return False


def _config_text(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _config_value(current, text):
    # Settings travel as text; the current value's type says how to read the new one.
    if isinstance(current, bool):
        low = text.lower()
        if low in ("1", "true", "on", "yes"):
            return True
        if low in ("0", "false", "off", "no"):
            return False
        raise ValueError("expected true or false")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError("expected an integer") from None
    return text


async def serve(token, reader, writer):
    """Serve the protocol on (reader, writer) until the input ends (never, on a board)."""
    await Server(token, writer).run(reader)
