# The protocol's device PIN commands (docs/protocol.md): PIN_SET, PIN_CLEAR, PIN_STATUS; the
# PIN itself is firmware/pin.py's. Imported by server.Server's dispatch table for one of them
# and dropped after.
#
#     cmdpin.run(server, code, request)   # raises protocol.Fail or the vault's errors

from micropython import const

_PIN_SET = const(0x18)
_PIN_CLEAR = const(0x19)
_MAX_ENTROPY = const(32)


def run(server, code, req):
    token = server.token
    if code == _PIN_SET:
        old = req.text()
        new = req.text()
        entropy = req.raw(_MAX_ENTROPY)
        req.end()
        token.pin.set(new, old, entropy)
    elif code == _PIN_CLEAR:
        old = req.text()
        req.end()
        token.pin.clear(old)
    else:
        _status(server, req)
        return
    server._fresh = None
    token.changed()


def _status(server, req):
    req.end()
    token = server.token
    if not token.vault.protected:
        server.resp.put("<BBBBH", 0, 0, 0, 0, 0)
        return
    p = token.pin
    server.resp.put(
        "<BBBBH", 1, 0 if p.required else 1, min(p.failures, 255), p.tries_left, p.wait_s()
    )
