"""The token application: wires the components and keeps what the token shows.

    import board, app
    app.run(board.make())          # never returns while the token runs; when it stops
                                   # (Ctrl-C, a crash) the panel is blanked and says why

Boot: display, settings, one RTC read (phase guessed), vault, first frame; then the tasks
start and the clock measures the RTC's second edge. Nothing here may crash the token: a
missing RTC, a damaged vault or flash, or an unexpected exception becomes a screen.

Components, each with its own state and task:
    screen   screen.Screen: the panel (redraws, once a second just after the clock's edge
             and when something changed; timeout, dimming, burn-in shift)
    power    power.Power: light and deep sleep while nobody uses the token
    buttons  buttons.Buttons: debounced presses as named events, polled by the input task
App's own tasks:
    input    polls the buttons every 10 ms (20 ms while the screen is off), applies settings
             and vault changes, and tells the screen what changed.
    clock    re-reads the RTC every 5 s (clock.check(): one read mid-second) and re-measures
             its phase every minute or after a sleep; a jump redraws at once.
    server   firmware/server.py's serve(token, reader, writer) on the board's serial streams,
             if that module exists.
A task whose exception escapes stops the app (run() then blanks the panel and says why); when
that was a MemoryError, main.py starts the app again and INFO says so (memory_note).

Buttons (button_mode "auto" picks "two" when the board has two): with two, a short press of
button 0 is next and of button 1 previous; with one, short is next and long is previous. On
an HOTP account a long press (either mode) makes a new code: the vault persists the counter
(vault.next_hotp) before the code is drawn. While the screen is off or dimmed, the first
press only wakes it.

Off the hot path (each imported when needed, dropped after use; app.py keeps only what the
idle token runs: the code screen, stepping through accounts, the tasks):
    appload     boot, and applying new settings or a changed vault (refresh())
    appscreens  every screen but a code (messages, the PIN, security prompts) and the presses
                they take, the HOTP counter's too
    uiscreens   the UI's message and HOTP screens (kept while HOTP accounts are shown)
    apptoken    what the protocol server sees of the app (token), made per server run
    bootinit    the setup (__init__) of the App, Vault, Clock, Buttons, Screen and UI: dropped
                after boot
    hmac_fast   a key's setup (otp.Key): dropped once the shown account's key is built
(vault's error classes, vaulterror.py, load when one is first raised or caught.)
"""

import gc
import sys
import time

import buttons as _buttons
from micropython import const

_POLL_MS = const(10)
_POLL_OFF_MS = const(20)
_CHECK_MS = const(5000)
_SYNC_EVERY = const(12)  # checks per full phase sync (one a minute)
# The protocol server is unloaded after this long without a byte from the host: longer than
# the host's longest wait for an answer (10 s) before it repeats a request, so a repeat is
# still answered from the server's cache instead of being run twice.
_SERVER_IDLE_MS = const(12000)
# What the code screen does not need: dropped once a code is drawn again (appscreens imports
# the others; a PinPad the app holds keeps its own class). uiscreens, which also draws HOTP
# accounts, goes once a TOTP code is drawn.
_RARE = ("appscreens", "appsec", "pinpad", "factory", "apptoken")
# Key setup (otp.Key's): dropped once the shown key is built, and after a command.
_KEY_SETUP = ("hmac_fast",)
_RARE_LOADED = const(1)  # App._rare: modules of _RARE (and uiscreens) may be loaded
_HOTP_UI = const(2)  # App._rare: uiscreens is (an HOTP account is shown)


class App:
    # Defaults of what is set only now and then: on the class, not in every instance's dict
    # (which then needs fewer slots).
    vault_error = None  # appscreens' name of the vault's screen, or None
    memory_note = None  # what ran out of memory (INFO reports it)
    security = None  # security.State, made at first use
    clockguard = None  # clockguard.Guard, made at first use
    pending_clock = None  # (unix ms, ticks): a clock change waiting for a press
    backoff_note = None  # (ticks, token s) of the last wrong password (shown 30 s)
    session = None  # the protocol server's session, kept while it is unloaded (apptoken)
    first_frame_ms = -1
    _failure = None  # the exception that ended a task: stops the app
    _pin = None  # pin.Pin, made when a PIN is first used (pin.py is imported then)
    _pad = None  # pinpad.PinPad while the PIN is asked for
    _notice = None  # a message shown until the next press (the PIN wipe)

    def __init__(self, board):
        # Runs once, at boot: its code is bootinit.py (App.start() drops it).
        import bootinit

        bootinit.app(self, board)

    @property
    def token(self):
        """What the protocol server sees (apptoken.Token): a new view each time."""
        import apptoken

        return apptoken.Token(self)

    # ---- boot, and changes from the host (appload)

    def start(self):
        """Everything up to the first frame, as fast as possible (no phase search yet)."""
        import appload

        appload.start(self)
        _drop(("appload", "bootinit"))
        # What loading the modules left behind (about 13 KB on a 32-bit port), and the code
        # that read the vault and the settings (in _COMMAND_MODULES: loaded again if needed).
        _unload_server()

    def refresh(self):
        """Apply new settings and a changed vault (each only if its revision moved)."""
        import appload

        appload.refresh(self)
        _drop(("appload",))

    def _log(self, what, e):
        print("token: %s: %s: %s" % (what, type(e).__name__, e))

    # ---- state changes

    def _resync(self):
        self._need_sync = True

    def screen_woke(self, was_off):
        self.selected_at = time.ticks_ms()  # scroll long labels again
        if was_off:
            self._need_sync = True  # ticks may have drifted during a sleep

    def screen_dark(self):
        self._hotp_code = -1  # an HOTP code is shown once, not again after a sleep
        if self._pin_set():
            self.vault.lock()  # the keys leave RAM: the PIN is asked again at the next wake
            self._key = self._key_of = None  # the shown account's key too
            self._pad = None

    # ---- the device PIN (pin.py, pinpad.py: imported only when a PIN is set)

    def pin(self):
        if self._pin is None:
            import pin

            self._pin = pin.Pin(self.vault, self.board.data_dir)
        return self._pin

    def _pin_set(self):
        v = self.vault
        try:
            return v is not None and not v.corrupt and v.protected
        except Exception:  # noqa: BLE001 - an unreadable vault: its own screen says so
            return False

    def _pin_asked(self):
        return self._pin_set() and not self.vault.unlocked

    def _select(self, index):
        import ui

        self.index = index
        self._hotp_code = -1
        self.selected_at = time.ticks_ms()
        v = self._view
        accounts = self.accounts
        if not accounts:
            v.top = v.bottom = v.position = ""
        else:
            a = accounts[index]
            if a.issuer:
                v.top = ui.ascii_label(a.issuer)
                v.bottom = ui.ascii_label(a.name)
            else:
                v.top = ui.ascii_label(a.name)
                v.bottom = ""
            v.position = "%d/%d" % (index + 1, len(accounts))
            v.digits = a.digits
            v.period_ms = a.period * 1000
        self.screen.changed()

    def _screens(self):
        # appscreens, for a screen or a press off the hot path (dropped at the next code).
        import appscreens

        self._rare = _RARE_LOADED
        return appscreens

    # ---- what the screen shows (called by the screen only)

    def _draw(self, ui):
        clock = self.clock
        clock.sample()
        accounts = self.accounts
        if (
            self.pending_clock is not None
            or self.backoff_note is not None
            or self.vault_error is not None
            or self._notice is not None
            or not accounts
            or self._pin_asked()
            or not (clock.valid() or accounts[self.index].kind == "hotp")  # HOTP needs no clock
        ) and self._screens().draw(self, ui):
            return
        a = accounts[self.index]
        v = self._view
        v.step = time.ticks_diff(time.ticks_ms(), self.selected_at) // 1000
        if a.kind == "hotp":
            # Drawn by uiscreens, which stays while HOTP accounts are shown; the rest goes.
            import uiscreens

            if self._rare == _RARE_LOADED:
                _drop(_RARE)
            self._rare = _HOTP_UI
            v.code = self._hotp_code
            uiscreens.hotp(ui, v)
            return
        if self._rare:
            self._rare = 0
            _drop(_RARE)
            sys.modules.pop("uiscreens", None)
        import otp

        days = clock.days
        sod = clock.sod
        period = a.period
        key = self._key
        if self._key_of is not a:
            # The vault keeps few keys built (they cost RAM): the app holds the shown one's.
            key = self._key = a.key()
            self._key_of = a
            # Key setup's code is done with until the next account is shown.
            _drop(_KEY_SETUP)
        counter = otp.counter(days, sod, period)
        left = period - otp.elapsed(days, sod, period)  # whole seconds left, incl. this one
        v.code = key.hotp(counter)
        v.preview = key.hotp(counter + 1) if left <= self._preview_s else -1
        v.left_ms = left * 1000 - clock.ms
        ui.totp(v)

    # ---- input

    def on_button(self, ev):
        b = _buttons
        screen = self.screen
        screen.touch()
        down = ev == b.DOWN_0 or ev == b.DOWN_1
        if self.pending_clock is not None and screen.on:
            self._screens().press(self, ev, down)  # the clock change waits for a press
            return
        if not screen.on or screen.dimmed:
            if down:
                screen.wake()
                self.buttons.swallow()  # the press that woke does nothing else
            return
        if down:
            return
        accounts = self.accounts
        n = len(accounts)
        long = ev == b.LONG_0 or ev == b.LONG_1
        if (self._notice is not None or self._pin_asked()
                or n and long and accounts[self.index].kind == "hotp"):  # fmt: skip
            self._screens().press(self, ev, down)  # a notice read, a PIN digit, an HOTP code
            return
        if not n:
            return
        if self._two:
            step = 1 if ev == b.SHORT_0 or ev == b.LONG_0 else -1
        elif ev == b.SHORT_0:
            step = 1
        elif ev == b.LONG_0:
            step = -1
        else:
            return  # button 1 does nothing in one-button mode
        self._select((self.index + step) % n)

    # ---- tasks

    async def _input_task(self):
        import asyncio

        poll = self.buttons.poll
        screen = self.screen
        while True:
            if self._failure is not None:
                raise self._failure  # another task died: stop the app (run() says why)
            try:
                ev = poll()
                if ev:
                    self.on_button(ev)
                if self._cfg_rev != self.config.revision or self._vault_rev != self.vault.revision:
                    self.refresh()
            except Exception as e:  # noqa: BLE001 - the token must keep running
                self._log("input", e)
            await asyncio.sleep_ms(_POLL_MS if screen.on else _POLL_OFF_MS)

    async def _clock_task(self):
        import asyncio

        clock = self.clock
        power = self.power
        checks = 0  # since the last phase sync
        self._need_sync = True
        while True:
            power.busy = True
            try:
                if power.napping:
                    pass  # between naps: the phase is measured again once they end
                elif self._need_sync or checks >= _SYNC_EVERY:
                    self._need_sync = False
                    checks = 0
                    await clock.sync()
                else:
                    await clock.check()
                if clock.revision != self._clock_rev:
                    self._clock_rev = clock.revision
                    self.screen.changed()
            except Exception as e:  # noqa: BLE001
                self._log("clock", e)
            power.busy = False
            checks += 1
            waited = 0
            while waited < _CHECK_MS:
                await asyncio.sleep_ms(100)
                waited += 100
                if self._need_sync and not power.napping:
                    break

    async def _server_task(self):
        # The protocol server (server.py over protocol.py, about 15 KB of heap on a 32-bit
        # port) is imported when the host sends its first byte and unloaded once the host has
        # been quiet for _SERVER_IDLE_MS: a token spends most of its life showing codes.
        import asyncio

        while True:
            try:
                reader, writer = self.board.serial()
                stream = asyncio.StreamReader(reader)
                one = bytearray(1)
                while await stream.readinto(one):
                    try:
                        import server
                    except ImportError:
                        _unload_server()
                        return  # a build without the protocol
                    except MemoryError:
                        # The host gets no answer this time (it retries); INFO says why once
                        # one fits. What did load goes below.
                        self.memory_note = "serial: protocol server"
                        server = None
                    try:
                        if server is not None:
                            # The sim's board may shorten the wait (tests of what follows)
                            idle_ms = getattr(self.board, "server_idle_ms", _SERVER_IDLE_MS)
                            await server.serve(self.token, reader, writer, one[0], idle_ms)
                    finally:
                        server = None  # dropped, with the modules, before the collection
                        # The clock guard's figures are all on flash: it is made again at
                        # its next use (security.State stays: its back-off keeps time).
                        self.clockguard = None
                        _drop(("apptoken", "clockguard", "version"))
                        _drop(_KEY_SETUP)
                        # The protocol's reads time out with asyncio.wait_for_ms: asyncio
                        # keeps what it imported for that (asyncio.funcs, about 430 bytes on
                        # a 32-bit port) as its own attributes; the next run imports it again.
                        asyncio.__dict__.pop("wait_for_ms", None)
                        asyncio.__dict__.pop("funcs", None)
                        _drop(("asyncio.funcs",))
                        _unload_server()
            except Exception as e:  # noqa: BLE001
                self._log("server", e)
            await asyncio.sleep_ms(1000)

    async def main(self):
        import asyncio

        self.start()
        # A task that dies would leave its part of the token frozen (a dead screen task
        # leaves a code on the panel): the loop hands its exception to _task_died, and the
        # input task stops the whole app with it (run() says why).
        asyncio.get_event_loop().set_exception_handler(self._task_died)
        asyncio.create_task(self.screen.run())
        asyncio.create_task(self._clock_task())
        asyncio.create_task(self._server_task())
        asyncio.create_task(self.power.run())
        await self._input_task()

    def _task_died(self, loop, context):
        self._failure = context["exception"]

    def run(self):
        """Run the tasks until something stops them. Whatever stops them (Ctrl-C, a crash,
        MemoryError), the panel is blanked and says why before the exception goes on: a
        token must never go on showing a code that is no longer current."""
        import asyncio

        try:
            asyncio.run(self.main())
        except BaseException as e:  # noqa: B036 - every way out, re-raised below
            # Room to say so first (a MemoryError may be why): the stopped tasks, the
            # protocol server among them, are dropped with their loop.
            asyncio.new_event_loop()
            _unload_server()
            if isinstance(e, MemoryError):  # main.py starts the app again: INFO says why
                _stopped_by_memory[0] = "app (restarted)"
            if self.display is not None:  # blank the panel and say why (the screen does it)
                screen = self.screen
                if screen is None:  # stopped before the screen was made
                    import screen as screenmod

                    screen = screenmod.Screen(self.display, self.clock, self._draw_fn)
                screen.stop(e)
            raise
        finally:
            # A clean loop for whatever runs next (the REPL, tests), which no longer hands
            # exceptions to this app.
            asyncio.get_event_loop().set_exception_handler(None)
            asyncio.new_event_loop()

    def factory_reset(self):
        """Factory reset (protocol or the power-on gesture): appsec.factory_reset."""
        import appsec

        appsec.factory_reset(self)


# Set when the app stopped out of memory (a task or boot ran out of heap): main.py starts it
# again, as a token whose heap is back, rather than fall to the REPL, which would hide it from
# the host; the new App's INFO says so.
_stopped_by_memory = [None]

# Modules that only commands use: imported by the protocol server (or a command's own path,
# or boot to read the flash), dropped with it once the host is quiet (and at the end of
# boot). A module named here must not be referred to by anything that outlives the command
# (no global, attribute or bound method keeps it).
_COMMAND_MODULES = (
    "server",
    "protocol",
    "vaultedit",
    "utf8",
    "vaultload",
    "configfile",
    "storeread",
    "storewrite",
    "clockset",
)


def _unload_server():
    # The command modules go from sys.modules; once nothing refers to them (their task has
    # ended), the collection frees their code.
    _drop(_COMMAND_MODULES)
    gc.collect()


def _drop(names):
    # Modules used off the hot path: gone from sys.modules, their code is freed by the next
    # collection once nothing refers to them.
    for name in names:
        sys.modules.pop(name, None)


def run(board):
    App(board).run()
