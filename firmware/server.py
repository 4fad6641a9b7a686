# The provisioning protocol's command layer (docs/protocol.md): an asyncio task beside the
# display.
#
#     await server.serve(token, reader, writer)
#
# reader/writer are the board's binary serial streams (board.serial()); token exposes vault,
# clock, config, display (a framebuf or None), changed() and FIRMWARE_VERSION (see app.py).
# Frames, chunks, retries and the serial stream are the message layer's (protocol.Messages):
# this module sees whole requests and maps each command code to its handler: a method here
# (HELLO and the vault changes ADD, DELETE, RENAME, beside the session state every command
# needs) or a module imported for its commands only (cmdcodes, cmdinfo, cmdconfig, cmdpin,
# cmdtools, authcmds: `run(server, code, request)`), so a command's heap holds its own code.
#
# Buffers (frame codec, request, response) are made once, in protocol.Messages. Secrets arrive
# in ADD and VECTORS and never leave: no command returns one, and no error message contains one.

import gc
import sys
import time

import protocol
from micropython import const
from protocol import Fail

PROTOCOL_MAJOR = const(1)
PROTOCOL_MINOR = const(2)  # 1: INFO heap figures; 2: Steam, password, lock, PIN

# Commands (host -> token); CONTINUE (0x00) is the message layer's.
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
_PIN_SET = const(0x18)
_PIN_CLEAR = const(0x19)
_PIN_STATUS = const(0x1A)
# Security (docs/security.md): the management password, the lock, factory reset.
_AUTH_CHALLENGE = const(0x11)
_AUTH_PROOF = const(0x12)
_PASSWORD_SET = const(0x13)
_PASSWORD_CLEAR = const(0x14)
_LOCK = const(0x15)
_UNLOCK = const(0x16)
_FACTORY_RESET = const(0x17)

# Statuses (token -> host) of the commands; OK, BAD_REQUEST, INVALID, INTERNAL and the
# message layer's own (MORE, SEQUENCE, TOO_LARGE) are in protocol.py.
_UNKNOWN_COMMAND = const(0x11)
_FULL = const(0x20)
_DUPLICATE = const(0x21)
_NOT_FOUND = const(0x22)
_CORRUPT = const(0x24)
_AMBIGUOUS = const(0x25)
_OUT_OF_MEMORY = const(0x33)
_PIN_REQUIRED = const(0x38)
_PIN_WRONG = const(0x39)
_AUTH_REQUIRED = const(0x34)

# With a password set, these need an authenticated session: everything that changes the vault
# or the settings, shows labels or codes (VECTORS too: `verify` shows codes, if of the host's
# own secrets), sets or clears the PIN, or opens the REPL. Open: HELLO, INFO, TIME_GET,
# TIME_SET (within the clock-jump rule), the login itself and FACTORY_RESET (it only erases).
_PROTECTED = (
    _LIST, _ADD, _DELETE, _RENAME, _CODES, _CALC, _CHECK, _VECTORS, _SCREEN, _WIPE, _CONFIG_GET,
    _CONFIG_SET, _PASSWORD_SET, _PASSWORD_CLEAR, _LOCK, _UNLOCK, _PIN_SET, _PIN_CLEAR,
)  # fmt: skip
_AUTH_IDLE_MS = const(300000)  # a login lasts until HELLO, a reset or 5 idle minutes

_VAULT_STATUS = {
    "FULL": _FULL,
    "DUPLICATE": _DUPLICATE,
    "NOT_FOUND": _NOT_FOUND,
    "INVALID": protocol.INVALID,
    "CORRUPT": _CORRUPT,
    "AMBIGUOUS": _AMBIGUOUS,
    "PIN_REQUIRED": _PIN_REQUIRED,
    "PIN_WRONG": _PIN_WRONG,
}
ALGORITHMS = ("sha1", "sha256", "sha512")  # wire values 1, 2, 3
KINDS = ("totp", "hotp", "steam")  # wire values 0, 1, 2
_MAX_SECRET = const(128)
_ENOSPC = const(28)
_ACCOUNT_OVERHEAD = const(112)  # an account's object and its bytes' headers (32-bit port)
HEAP_MARGIN = 8192  # free heap ADD leaves beside the new account (a variable: tests set it)


class Server:
    """The command layer: a dispatch table from command code to handler. A handler reads its
    request (protocol.Request), appends its answer to self.resp (protocol.Response) and
    raises protocol.Fail (or the vault's ValueError/OSError) to refuse."""

    def __init__(self, token, writer):
        self.token = token
        self.messages = protocol.Messages(writer.write, self._execute)
        self.resp = self.messages.response
        self._fresh = None  # account added last: the only one CHECK accepts
        self._fresh_ms = 0
        self._oom = None  # the command that last ran out of memory (INFO reports it)
        self._auth = None  # auth.Auth, made at the first login
        self._authed_ms = None  # ticks of the last command of a logged-in session
        self._lazy = None  # the handler module imported last (see _execute)
        kept = getattr(token, "session", None)  # from a server unloaded while idle (serve())
        if kept is not None:
            self._fresh, self._fresh_ms, self._auth, self._authed_ms = kept
        self._handlers = {
            _HELLO: self._hello,
            _INFO: "cmdinfo",
            _TIME_GET: "cmdinfo",
            _TIME_SET: "cmdinfo",
            _LIST: "cmdcodes",
            _ADD: self._add,
            _DELETE: self._delete,
            _RENAME: self._rename,
            _CODES: "cmdcodes",
            _CALC: "cmdcodes",
            _CHECK: "cmdcodes",
            _VECTORS: "cmdtools",
            _SCREEN: "cmdtools",
            _WIPE: "cmdtools",
            _CONFIG_GET: "cmdconfig",
            _CONFIG_SET: "cmdconfig",
            _PIN_SET: "cmdpin",
            _PIN_CLEAR: "cmdpin",
            _PIN_STATUS: "cmdpin",
            _AUTH_CHALLENGE: "authcmds",
            _AUTH_PROOF: "authcmds",
            _PASSWORD_SET: "authcmds",
            _PASSWORD_CLEAR: "authcmds",
            _LOCK: "authcmds",
            _UNLOCK: "authcmds",
            _FACTORY_RESET: "authcmds",
        }

    async def run(self, reader, first=-1, idle_ms=0):
        await self.messages.run(reader, first, idle_ms)

    async def _execute(self, code, request, response):
        # Every failure becomes a status and a message: the host always gets an answer.
        handler = self._handlers.get(code)
        if self._lazy is not None and self._lazy != handler:
            self.drop_lazy()  # another command: its handler module's code may go
        try:
            if handler is None:
                raise Fail(_UNKNOWN_COMMAND, "unknown command 0x%02x" % code)
            if code in _PROTECTED:
                self._require_login()
            if isinstance(handler, str):
                # Most handlers live in modules of their own (cmdcodes, cmdinfo, ...): imported
                # for their commands and dropped at the next other command (drop_lazy), so a
                # command carries the dispatcher and its own handler only, not every command's.
                self._lazy = handler
                result = __import__(handler).run(self, code, request)
            else:
                result = handler(request)
            if result is not None:  # a coroutine: commands that take a while
                await result
            # A quiet moment: what the command left behind is freed now, in one piece,
            # rather than when some later allocation finds the heap full.
            gc.collect()
            return protocol.OK
        except Fail as e:
            status, message = e.args[0], e.args[1]
        except ValueError as e:
            # Vault errors carry a stable code; other ValueErrors are bad field values.
            status = _VAULT_STATUS.get(getattr(e, "code", ""), protocol.INVALID)
            message = e.args[0] if e.args else "invalid value"
        except OSError as e:
            errno = e.args[0] if e.args else 0
            status = protocol.INTERNAL
            if errno == _ENOSPC:
                message = "the token's flash is full"
            else:
                message = "device error %s" % errno
        except MemoryError:
            # Its own status, never INTERNAL: the host says "token out of memory". What the
            # command allocated is garbage now; collect it so the answer and the next command
            # have the room back. The vault saves a new copy before switching to it, so a
            # MemoryError leaves it at its old state.
            gc.collect()
            self._oom = code
            try:
                self.token.memory_note = "command 0x%02x" % code  # outlives this module
            except AttributeError:
                pass  # a token without the note: INFO reports self._oom while loaded
            status = _OUT_OF_MEMORY
            free = gc.mem_free()
            message = "command 0x%02x did not fit in the heap (%d bytes free)" % (code, free)
        except Exception as e:  # noqa: BLE001 - a bug must not leave the host without an answer
            # The type only: an exception's text could quote a value we were given.
            status, message = protocol.INTERNAL, "internal error (%s)" % type(e).__name__
        response.message(message)
        return status

    # ---- commands

    def firmware_version(self):
        return str(getattr(self.token, "FIRMWARE_VERSION", "unknown"))

    def _hello(self, req):
        req.u8()  # the host's protocol major/minor: the host decides whether it can talk to us
        req.u8()
        req.end()
        self._fresh = None
        self._authed_ms = None  # a new session logs in again
        if self._auth is not None:
            self._auth.forget()  # nor may it use another session's challenge
        self.resp.put(
            "<BBHHH",
            PROTOCOL_MAJOR,
            PROTOCOL_MINOR,
            protocol.MAX_PAYLOAD,
            protocol.MAX_REQUEST,
            protocol.MAX_RESPONSE,
        )
        self.resp.put_text(self.firmware_version())

    def _no_codes_after_a_jump(self):
        guard = getattr(self.token, "clockguard", None)
        if guard is not None:
            guard.check_codes(self.token.clock)

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
        if kind >= len(KINDS) or not 1 <= algorithm <= len(ALGORITHMS):
            raise Fail(protocol.INVALID, "unknown kind or algorithm")
        vault = self.token.vault
        self._heap_room(vault, len(issuer) + len(name) + len(secret))
        account = vault.add(
            issuer,
            name,
            secret,
            algorithm=ALGORITHMS[algorithm - 1],
            digits=digits,
            period=period,
            kind=KINDS[kind],
            counter=counter,
            replace=bool(flags & 1),
        )
        self._fresh = account
        self._fresh_ms = time.ticks_ms()
        self.token.changed()
        self.resp.put("<BB", vault.count, vault.capacity)

    def _heap_room(self, vault, size):
        # Capacity is honest: when the heap, not the slot count, is what limits, ADD says so
        # before anything is written. An account costs its bytes plus about 100 (its object);
        # HEAP_MARGIN stays free beside it for what the token does with it afterwards (a
        # save, a key, a CODES answer, the panel).
        gc.collect()
        free = gc.mem_free()
        need = size + _ACCOUNT_OVERHEAD + HEAP_MARGIN
        if free < need:
            raise Fail(
                _OUT_OF_MEMORY,
                "no heap for another account (%d bytes free, %d needed; %d of %d slots used)"
                % (free, need, vault.count, vault.capacity),
            )

    def _delete(self, req):
        account = self._account(req)
        req.end()
        vault = self.token.vault
        vault.delete(account)
        self._fresh = None
        self.token.changed()
        self.resp.put("<BB", vault.count, vault.capacity)

    def _rename(self, req):
        account = self._account(req)
        issuer = req.text()
        name = req.text()
        req.end()
        self.token.vault.rename(account, issuer, name)
        self._fresh = None
        self.token.changed()

    # ---- the device PIN (firmware/pin.py, imported by the token only when it is used)

    def _unlocked(self):
        # Codes (CODES, CALC, CHECK) and the panel's picture (SCREEN) only once the PIN was
        # entered on the token: while it is asked for, a host sees none of them either.
        vault = self.token.vault
        if getattr(vault, "protected", False) and not vault.unlocked:
            raise Fail(_PIN_REQUIRED, "enter the PIN on the token first")

    def drop_lazy(self):
        """Drop the handler module imported last from sys.modules: once its command is done,
        nothing refers to it and the next collection frees its code."""
        sys.modules.pop(self._lazy, None)
        self._lazy = None

    def kept(self):
        """The session state the app keeps while this module is unloaded (None: nothing).
        Each part keeps its own time limit: a login ends after _AUTH_IDLE_MS without a
        command and CHECK after 5 minutes (cmdcodes), unloaded or not; HELLO ends both."""
        if self._fresh is None and self._auth is None and self._authed_ms is None:
            return None
        return (self._fresh, self._fresh_ms, self._auth, self._authed_ms)

    # ---- security (docs/security.md)

    def _security(self):
        # The password's state, or None when the token never had one (see apptoken).
        return getattr(self.token, "password_state", None)

    def _logged_in(self):
        at = self._authed_ms
        return at is not None and time.ticks_diff(time.ticks_ms(), at) < _AUTH_IDLE_MS

    def _require_login(self):
        sec = self._security()
        if sec is None or not sec.has_password():
            return
        if not self._logged_in():
            self._authed_ms = None
            raise Fail(_AUTH_REQUIRED, "the token has a password: log in first")
        self._authed_ms = time.ticks_ms()

    def _clock_s(self):
        clock = self.token.clock
        # The token's seconds for the back-off; ticks when the clock is not set.
        return clock.unix() if clock.valid() else time.ticks_ms() // 1000


async def serve(token, reader, writer, first=-1, idle_ms=0):
    """Serve the protocol on (reader, writer) until the input ends (never, on a board), or,
    with idle_ms, until the host has been quiet that long (the app then unloads this module
    and protocol.py: about 15 KB of heap on a 32-bit port). `first`: a byte the caller
    already read from `reader`."""
    server = Server(token, writer)
    try:
        await server.run(reader, first, idle_ms)
    finally:
        server.drop_lazy()
        if idle_ms:
            token.session = server.kept()
