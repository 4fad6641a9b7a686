# The security commands of the protocol (docs/protocol.md, docs/security.md): the login, the
# management password, the lock and factory reset. server.Server's dispatch table sends these
# command codes here, imported at the first one, so a token nobody logs in to never loads them.
#
#     authcmds.run(server, code, request)   # raises protocol.Fail to refuse
#
# The server keeps what every command needs (the login check, its lifetime); this module
# keeps the commands' bodies and the statuses only they answer.

import time

import protocol
from micropython import const
from protocol import Fail

_AUTH_CHALLENGE = const(0x11)
_AUTH_PROOF = const(0x12)
_PASSWORD_SET = const(0x13)
_PASSWORD_CLEAR = const(0x14)
_LOCK = const(0x15)
_UNLOCK = const(0x16)
_FACTORY_RESET = const(0x17)

_UNKNOWN_COMMAND = const(0x11)
_AUTH_FAILED = const(0x35)
_RETRY_LATER = const(0x36)

_FACTORY_MAGIC = b"FACTORY RESET"


def run(server, code, req):
    if code == _AUTH_CHALLENGE:
        _challenge(server, req)
    elif code == _AUTH_PROOF:
        _proof(server, req)
    elif code == _PASSWORD_SET:
        _password_set(server, req)
    elif code == _PASSWORD_CLEAR:
        req.end()
        server.token.security.clear_password()
        server.token.changed()
    elif code == _LOCK:
        req.end()
        server.token.security.set_locked(True)
        server.token.set_repl(False)
        server.token.changed()
    elif code == _UNLOCK:
        flags = req.u8()
        req.end()
        if flags & 1:
            server.token.security.set_locked(False)
        server.token.set_repl(True)  # until the next reset (or for good with flag 1)
        server.token.changed()
    elif code == _FACTORY_RESET:
        _factory_reset(server, req)
    else:
        raise Fail(_UNKNOWN_COMMAND, "unknown command 0x%02x" % code)


def _security(server):
    sec = getattr(server.token, "security", None)
    if sec is None:
        raise Fail(_UNKNOWN_COMMAND, "this token has no password support")
    return sec


def _challenge(server, req):
    req.end()
    import auth

    sec = _security(server)
    if server._auth is None:
        server._auth = auth.Auth(sec)
    has = sec.has_password()
    nonce = server._auth.challenge()
    wait = sec.backoff().wait_s(server._clock_s()) if has else 0
    resp = server.resp
    resp.put("<BIB", 1 if has else 0, sec.iterations, len(sec.salt))
    resp.put_bytes(sec.salt)
    resp.put("B", len(nonce))
    resp.put_bytes(nonce)
    resp.put("<I", wait)


def _proof(server, req):
    client_nonce = req.raw(32)
    proof = req.raw(32)
    req.end()
    sec = _security(server)
    checker = server._auth
    if not sec.has_password():
        raise Fail(protocol.BAD_REQUEST, "the token has no password")
    if checker is None:
        raise Fail(protocol.BAD_REQUEST, "ask for a challenge first")
    back = sec.backoff()
    now = server._clock_s()
    wait = back.wait_s(now)
    if wait:
        checker.forget()  # the challenge is spent either way
        _show_backoff(server, now)
        raise Fail(_RETRY_LATER, "too many wrong passwords: try again in %d s" % wait)
    # Counted before the check: a power cut during the check cannot make a guess free.
    back.fail(now)
    if not checker.verify(client_nonce, proof):
        _show_backoff(server, now)
        raise Fail(
            _AUTH_FAILED,
            "wrong password (%d in a row; next try in %d s)" % (back.failures, back.wait_s(now)),
        )
    back.succeed()
    server._authed_ms = time.ticks_ms()


def _show_backoff(server, now):
    # The panel says that wrong passwords came in and how long the next try waits.
    shown = getattr(server.token, "login_failed", None)
    if shown is not None:
        shown(now)
    else:
        server.token.changed()


def _password_set(server, req):
    salt = req.raw(64)
    iterations = req.u32()
    stored_key = req.raw(32)
    req.end()
    _security(server).set_password(salt, iterations, stored_key)
    server._authed_ms = time.ticks_ms()  # the new password's owner is logged in
    server.token.changed()


def _factory_reset(server, req):
    if bytes(req.buf) != _FACTORY_MAGIC:
        raise Fail(protocol.BAD_REQUEST, "factory reset needs its confirmation bytes")
    server.token.factory_reset()
    server._fresh = None
    server._authed_ms = None
    server.token.changed()
