# The protocol's status commands (docs/protocol.md): INFO and the clock's TIME_GET/TIME_SET.
# server.Server's dispatch table imports this module for one of these commands and drops it
# after: the commands a host sends once per session cost no heap during the others.
#
#     cmdinfo.run(server, code, request)   # raises protocol.Fail to refuse

import gc

from micropython import const

_INFO = const(0x02)
_TIME_GET = const(0x03)

# INFO flag bits
_INFO_CLOCK = const(0x01)
_INFO_DISPLAY = const(0x02)
_INFO_CORRUPT = const(0x04)
_INFO_RECOVERED = const(0x08)
_INFO_PASSWORD = const(0x10)
_INFO_LOCKED = const(0x20)
_INFO_PIN = const(0x40)


def run(server, code, req):
    if code == _INFO:
        _info(server, req)
    elif code == _TIME_GET:
        _time_get(server, req)
    else:
        return _time_set(server, req)  # a coroutine: the clock may wait for a second edge


def _info(server, req):
    req.end()
    token = server.token
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
        flags |= _INFO_CLOCK
    if token.display is not None:
        flags |= _INFO_DISPLAY
    if corrupt:
        flags |= _INFO_CORRUPT
    if getattr(vault, "recovered", False):
        flags |= _INFO_RECOVERED
    if not corrupt and getattr(vault, "protected", False):
        flags |= _INFO_PIN
    sec = server._security()
    if sec is not None:
        if sec.has_password():
            flags |= _INFO_PASSWORD
        if sec.locked() and not _repl_open():
            flags |= _INFO_LOCKED  # the REPL is closed now (UNLOCK opens it until reset)
    resp = server.resp
    resp.put("<BBB", vault.capacity, count, flags)
    resp.put_text(server.firmware_version())
    # Minor 1: the heap this token has left, and where it last ran out of memory.
    gc.collect()
    resp.put("<II", gc.mem_free(), largest_free_block())
    note = getattr(token, "memory_note", None) or ""
    if server._oom is not None:
        note = "command 0x%02x" % server._oom
    resp.put_text(note)


def _time_get(server, req):
    req.end()
    clock = server.token.clock
    valid = clock.valid()
    server.resp.put("<BQ", 1 if valid else 0, clock.unix_ms() if valid else 0)


async def _time_set(server, req):
    ms = req.u64()
    req.end()
    token = server.token
    guard = getattr(token, "clockguard", None)
    clock = token.clock
    if guard is not None:  # docs/security.md, "Clock changes"
        guard.check_set(token, ms, server._logged_in())
    result = clock.set_unix_ms(ms)
    if result is not None:  # a clock may wait for the second edge as a coroutine
        await result
    token.changed()


def _repl_open():
    import security

    return security.repl_open()


def largest_free_block():
    """The largest allocation that succeeds now, in bytes (to 16), found by trying: the
    heap's fragmentation is what limits a big allocation, and MicroPython reports it only as
    printed text (micropython.mem_info). A failed try makes the allocator collect first, so
    the blocks of earlier tries do not count against later ones. Not for a hot path."""
    lo = 0
    hi = gc.mem_free()
    while hi - lo > 16:
        mid = (lo + hi) // 2
        try:
            buf = bytearray(mid)
        except MemoryError:
            hi = mid
        else:
            buf = None  # noqa: F841 - dropped: the next try may need its room
            lo = mid
    return lo
