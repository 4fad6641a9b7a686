# The protocol's tool commands (docs/protocol.md): VECTORS (the OTP core on the host's own
# secrets), SCREEN (the panel's picture) and WIPE. Imported by server.Server's dispatch table
# for one of them and dropped after.
#
#     cmdtools.run(server, code, request)   # raises protocol.Fail to refuse

import asyncio

import protocol
from micropython import const
from protocol import Fail
from server import ALGORITHMS

_VECTORS = const(0x0C)
_SCREEN = const(0x0D)
_NO_DISPLAY = const(0x32)
_MAX_SECRET = const(128)
_STEAM_DIGITS = const(5)
_MAX_VECTORS = const(32)
_WIPE_MAGIC = b"WIPE"


def run(server, code, req):
    if code == _VECTORS:
        return _vectors(server, req)  # a coroutine: it lets the display run between codes
    if code == _SCREEN:
        _screen(server, req)
    else:
        _wipe(server, req)


async def _vectors(server, req):
    import otp

    n = req.u8()
    if n > _MAX_VECTORS:
        raise Fail(protocol.BAD_REQUEST, "at most %d vectors" % _MAX_VECTORS)
    for _ in range(n):
        algorithm = req.u8()
        digits = req.u8()
        period = req.u16()
        value = req.u64()
        secret = req.raw(_MAX_SECRET)
        if not 1 <= algorithm <= len(ALGORITHMS):
            raise Fail(protocol.INVALID, "unknown algorithm")
        if not secret:
            raise Fail(protocol.INVALID, "empty secret")
        steam = digits == _STEAM_DIGITS  # digits 5: a Steam code (docs/protocol.md)
        if period == 0:  # HOTP: value is the counter
            key = otp.Key(secret, ALGORITHMS[algorithm - 1], digits, 30, steam)
            code = key.hotp(value)
        else:
            key = otp.Key(secret, ALGORITHMS[algorithm - 1], digits, period, steam)
            code = key.totp(value)
        server.resp.put("<I", code)
        await asyncio.sleep_ms(0)  # let the display run between vectors
    req.end()


def _screen(server, req):
    req.end()
    server._unlocked()
    server._no_codes_after_a_jump()  # the panel shows the codes
    display = server.token.display
    if display is None:
        raise Fail(_NO_DISPLAY, "this token has no display")
    server.resp.put("<BBB", display.width, display.height, 0)  # 0: MONO_VLSB, page-major
    server.resp.put_bytes(display.buffer)


def _wipe(server, req):
    if bytes(req.buf) != _WIPE_MAGIC:
        raise Fail(protocol.BAD_REQUEST, "wipe needs its confirmation bytes")
    server.token.vault.wipe()
    server._fresh = None
    server.token.changed()
