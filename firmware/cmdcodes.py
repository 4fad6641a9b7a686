# The protocol's reading commands (docs/protocol.md): LIST, CODES, CALC and CHECK. Imported by
# server.Server's dispatch table for one of them and kept while the host sends more of them
# (a listing comes in pages); the next other command drops it, so a vault save (ADD, RENAME,
# ...) never carries this code on the heap beside it.
#
#     cmdcodes.run(server, code, request)   # raises protocol.Fail to refuse

import asyncio
import time

import protocol
from micropython import const
from protocol import Fail
from server import ALGORITHMS, KINDS

_LIST = const(0x05)
_CODES = const(0x09)
_CALC = const(0x0A)
_CLOCK_NOT_SET = const(0x30)
_DENIED = const(0x31)
_MAX_CHECKS = const(16)
_ENTRY_MAX = const(145)  # largest CODES entry: 10 fixed + 2 * 65 labels + 5 code
_CHECK_WINDOW_MS = const(300000)  # CHECK works on a fresh account for 5 minutes


def run(server, code, req):
    if code == _LIST:
        _list(server, req)
    elif code == _CODES:
        return _codes(server, req)  # coroutines: they let the UI run between codes
    elif code == _CALC:
        _calc(server, req)
    else:
        return _check(server, req)


def _list(server, req):
    start = req.u8()
    req.end()
    accounts = server.token.vault.accounts()
    resp = server.resp
    resp.put("B", len(accounts))
    # As many whole entries as surely fit; the host asks again from the next index.
    i = start
    while i < len(accounts) and resp.length + _ENTRY_MAX <= protocol.MAX_RESPONSE:
        _put_entry(resp, i, accounts[i])
        i += 1


async def _codes(server, req):
    start = req.u8()
    req.end()
    server._unlocked()
    server._no_codes_after_a_jump()
    clock = server.token.clock
    valid = clock.valid()
    now = clock.unix() if valid else 0
    accounts = server.token.vault.accounts()
    resp = server.resp
    resp.put("<BBQ", len(accounts), 1 if valid else 0, now)
    i = start
    while i < len(accounts) and resp.length + _ENTRY_MAX <= protocol.MAX_RESPONSE:
        account = accounts[i]
        _put_entry(resp, i, account)
        if valid and account.kind != "hotp":  # TOTP and Steam
            period = account.period
            resp.put("<IB", account.key().totp(now), period - now % period)
            await asyncio.sleep_ms(0)  # let the UI run between codes
        else:
            resp.put("<IB", 0xFFFFFFFF, 0)  # no clock, or HOTP (only CALC counts)
        i += 1


def _put_entry(resp, index, account):
    hotp = account.kind == "hotp"
    resp.put(
        "<BBBBHI",
        index,
        KINDS.index(account.kind),
        ALGORITHMS.index(account.algorithm) + 1,
        account.digits,
        account.period,
        # a u32 on the wire: enough for any counter a person presses to; saturate beyond
        min(account.counter, 0xFFFFFFFF) if hotp else 0,
    )
    resp.put_text(account.issuer)
    resp.put_text(account.name)


def _calc(server, req):
    account = server._account(req)
    req.end()
    server._unlocked()
    key = account.key()
    token = server.token
    if account.kind == "hotp":
        counter = token.vault.next_hotp(account)  # on flash before the code leaves
        token.changed()
        server.resp.put("<IBQ", key.hotp(counter), 0, counter)
        return
    clock = token.clock
    if not clock.valid():
        raise Fail(_CLOCK_NOT_SET, "the token's clock is not set")
    server._no_codes_after_a_jump()
    now = clock.unix()
    period = account.period
    server.resp.put("<IBQ", key.totp(now), period - now % period, now // period)


async def _check(server, req):
    # Codes at host-chosen times (TOTP) or counters (HOTP), without side effects, for the
    # account just added: provisioning proves the stored secret this way. Limited to that
    # account and a short window, so the serial port cannot harvest future codes of the
    # accounts already on the token.
    account = server._account(req)
    n = req.u8()
    if n > _MAX_CHECKS:
        raise Fail(protocol.BAD_REQUEST, "at most %d values" % _MAX_CHECKS)
    fresh = server._fresh
    if (
        fresh is None
        or fresh is not account
        or time.ticks_diff(time.ticks_ms(), server._fresh_ms) > _CHECK_WINDOW_MS
    ):
        raise Fail(_DENIED, "CHECK works only on the account just added")
    server._unlocked()
    key = account.key()
    hotp = account.kind == "hotp"
    for _ in range(n):
        value = req.u64()
        server.resp.put("<I", key.hotp(value) if hotp else key.totp(value))
        await asyncio.sleep_ms(0)  # a SHA512 code takes a while on an ESP32: let the UI run
    req.end()
