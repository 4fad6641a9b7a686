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
A task whose exception escapes stops the app (run() then blanks the panel and says why); one
that runs out of heap is started again instead, and the panel and INFO say so.

Buttons (button_mode "auto" picks "two" when the board has two): with two, a short press of
button 0 is next and of button 1 previous; with one, short is next and long is previous. On
an HOTP account a long press (either mode) makes a new code: the vault persists the counter
(vault.next_hotp) before the code is drawn. While the screen is off or dimmed, the first
press only wakes it.

token (what the protocol server sees): vault, clock, config, display (framebuf or None),
changed() (redraw soon; also wakes the screen and selects an account the host just added),
FIRMWARE_VERSION. Using any of them counts as serial activity (keeps the token out of sleep).
"""

import gc
import time

import buttons as _buttons
import clock as _clock
from micropython import const

_POLL_MS = const(10)
_POLL_OFF_MS = const(20)
_CHECK_MS = const(5000)
_SYNC_EVERY = const(12)  # checks per full phase sync (one a minute)
# The protocol server is unloaded after this long without a byte from the host: longer than
# the host's longest wait for an answer (10 s) before it repeats a request, so a repeat is
# still answered from the server's cache instead of being run twice.
_SERVER_IDLE_MS = const(12000)
_RESTART_MS = const(200)  # a task that ran out of heap starts again after this

# Message screens: up to 8 lines of at most 15 characters (the burn-in shift needs 2 px).
_NOT_SET = (
    "Clock not set", "", "Connect USB and", "run on the PC:", "", "host_tools", "  time sync"
)
_STOPPED = (
    "Clock stopped", "", "Check the RTC", "coin cell, then", "", "host_tools", "  time sync"
)
_NO_RTC = (
    "RTC not found", "", "No DS3231 found", "on the I2C bus:", "check wiring", "(address 0x68)"
)
_NO_ACCOUNTS = (
    "No accounts", "", "Connect USB and", "run on the PC:", "", "host_tools", "  provision URI"
)
_VAULT_DAMAGED = ("Vault damaged", "", "No good copy on", "flash. Reset:", "", "host_tools wipe")
_STORAGE = (
    "Storage error", "", "Flash could not", "be read. Retry", "or reflash the", "firmware."
)
_OUT_OF_MEMORY = (
    "Out of memory", "", "A task ran out", "of heap and was", "restarted. Its", "name: run",
    "host_tools info"
)


class Token:
    """What the protocol server may use; any access counts as serial activity."""

    def __init__(self, app):
        import version

        self._app = app
        self.FIRMWARE_VERSION = version.FIRMWARE_VERSION
        # The protocol server's session (a login, its challenge, the CHECK window of the
        # account added last), kept here while the server is unloaded between commands: a
        # host that pauses longer than _SERVER_IDLE_MS (a user typing a code) keeps its login,
        # each part still within its own time limit (server.Server.kept).
        self.session = None

    @property
    def vault(self):
        self._app.power.serial_seen()
        return self._app.vault

    @property
    def clock(self):
        self._app.power.serial_seen()
        return self._app.clock

    @property
    def config(self):
        self._app.power.serial_seen()
        return self._app.config

    @property
    def display(self):
        self._app.power.serial_seen()
        return self._app.display

    @property
    def memory_note(self):
        return self._app.memory_note

    @memory_note.setter
    def memory_note(self, note):
        # Kept by the app: the protocol server is unloaded when idle, its state with it.
        self._app.memory_note = note

    @property
    def pin(self):
        self._app.power.serial_seen()
        return self._app.pin()

    def changed(self):
        self._app.power.serial_seen()
        self._app.screen.wake_soon()

    # ---- security (firmware/security.py, docs/security.md)

    @property
    def security(self):
        app = self._app
        if app.security is None:
            import security

            app.security = security.State(app.board.data_dir)
        return app.security

    def set_repl(self, on):
        """Open (Ctrl-C reaches the REPL) or close the REPL until the next reset."""
        import security

        security.open_repl(on)
        self._app.board.set_interrupt_char(on)

    def factory_reset(self):
        """Erase every secret and the security state; the token is then empty and unlocked."""
        self._app.factory_reset()

    @property
    def clockguard(self):
        app = self._app
        if app.clockguard is None:
            import clockguard

            app.clockguard = clockguard.Guard(app.board.data_dir)
        return app.clockguard

    def login_failed(self, now_s):
        """A wrong password (or a try during the back-off): the panel shows the delay."""
        self._app.backoff_note = (time.ticks_ms(), now_s)
        self.changed()

    def ask_presence(self, unix_ms):
        """A clock change waits for a press: the panel asks for it (60 s)."""
        self._app.pending_clock = (unix_ms, time.ticks_ms())
        self.changed()


class App:
    def __init__(self, board):
        self.board = board
        self.display = None
        self.clock = None
        self.config = None
        self.vault = None
        self.buttons = None
        self.screen = None
        self.power = None
        self.accounts = ()
        self.index = 0
        self.vault_error = None
        self.memory_note = _stopped_by_memory[0]  # what ran out of memory (INFO reports it)
        self.security = None  # security.State, made at first use
        self.clockguard = None  # clockguard.Guard, made at first use
        self.pending_clock = None  # (unix ms, ticks): a clock change waiting for a press
        self.backoff_note = None  # (ticks, token s) of the last wrong password (shown 30 s)
        self.selected_at = time.ticks_ms()
        self.first_frame_ms = -1
        self._view = None  # ui.View of the selected account, filled per frame
        self._key = None  # otp.Key of the account whose code is drawn (_key_of)
        self._key_of = None
        self._vault_rev = -1
        self._storage_rev = -1  # vault revision at which reading the flash failed
        self._cfg_rev = -1
        self._clock_rev = -1
        self._hotp_code = -1
        self._preview_s = 5
        self._two = False
        self._need_sync = False
        self._failure = None  # the exception that ended a task: stops the app
        self._draw_fn = self._draw  # bound once: the screen calls it every frame
        self._pin = None  # pin.Pin, made when a PIN is first used (pin.py is imported then)
        self._pad = None  # pinpad.PinPad while the PIN is asked for
        self._notice = None  # a message shown until the next press (the PIN wipe)
        self.token = Token(self)

    # ---- boot

    def start(self):
        """Everything up to the first frame, as fast as possible (no phase search yet)."""
        t0 = time.ticks_ms()
        board = self.board
        import config
        import power
        import screen
        import ui
        import vault

        self.display = self._make_display()
        self._view = ui.View()
        rtc = None
        try:
            rtc = board.rtc()
        except Exception as e:  # noqa: BLE001
            self._log("rtc", e)
        self.clock = _clock.Clock(rtc)
        self.clock.read()
        self._clock_rev = self.clock.revision
        self.screen = screen.Screen(self.display, self.clock, self._draw_fn, self)
        self.power = power.Power(board, self.screen, self._resync)
        self.buttons = _buttons.Buttons(board.buttons)
        self.config = config.Config(board.data_dir)
        self._apply_config()
        self.vault = vault.Vault(board.data_dir)
        try:
            self.vault.load()
        except vault.VaultError as e:
            self._log("vault", e)
        except OSError as e:
            self._log("vault", e)
            self._storage_rev = self.vault.revision  # until the vault changes again
        self._factory_gesture()
        self._sync_accounts()
        self.screen.render()
        self.first_frame_ms = time.ticks_diff(time.ticks_ms(), t0)
        # What loading the modules left behind (about 13 KB on a 32-bit port), and the code
        # that read the vault and the settings (in _COMMAND_MODULES: loaded again if needed).
        _unload_server()

    def _make_display(self):
        # A MemoryError is not a missing panel: collect and try once more, and if the heap
        # still has no room, say so (log and INFO) instead of "no display".
        for attempt in (0, 1):
            try:
                return self.board.display()
            except MemoryError as e:
                self._log("display", e)
                if attempt:
                    self.memory_note = "boot: display"
                    return None
                gc.collect()
            except Exception as e:  # noqa: BLE001 - a token without a panel still serves USB
                self._log("display", e)
                return None
        return None

    # ---- state changes

    def _log(self, what, e):
        print("token: %s: %s: %s" % (what, type(e).__name__, e))

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

    def _pinpad(self):
        if self._pad is None:
            import pinpad

            self._pad = pinpad.PinPad()
        return self._pad

    def _pin_button(self, ev):
        # The picker handles the press; once the PIN is right (or wiped) it is done.
        pad = self._pinpad()
        done = pad.press(ev, self._two, self.pin(), self.screen)
        self.screen.changed()
        if done:
            self._pad = None
            self._notice = pad.notice  # the wipe says so until the next press
            self._vault_rev = -1  # the codes (or the empty vault) are drawn again

    def _apply_config(self):
        c = self.config
        self._cfg_rev = c.revision
        self._preview_s = c.get("preview_s")
        self.power.sleep_ms = c.get("sleep_s") * 1000
        two = self.buttons is not None and self.buttons.count >= 2
        self._two = two and c.get("button_mode") != "one"
        self.screen.configure(c.get("contrast"), c.get("rotate"),
                              c.get("screen_timeout_s") * 1000)

    def _sync_accounts(self):
        v = self.vault
        if v.revision == self._vault_rev:
            return
        self._vault_rev = v.revision
        self._key = self._key_of = None  # built again for what is shown now
        old = self.accounts
        current = old[self.index] if self.index < len(old) else None
        try:
            accounts = v.accounts()
        except OSError as e:
            self._log("vault", e)
            self._storage_rev = v.revision
            accounts = ()
        if v.corrupt:
            self.vault_error = _VAULT_DAMAGED
        elif v.revision == self._storage_rev:
            self.vault_error = _STORAGE
        else:
            self.vault_error = None
        self.accounts = accounts
        index = 0
        added = None
        for i, a in enumerate(accounts):
            if a is current:
                index = i
            if a not in old:
                added = i
        if added is not None and old:
            index = added  # show what the host just provisioned
        elif current is not None and current not in accounts:
            index = min(self.index, len(accounts) - 1) if accounts else 0
        self._select(index)

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

    # ---- what the screen shows (called by the screen only)

    def _draw(self, ui):
        clock = self.clock
        clock.sample()
        if self.pending_clock is not None or self.backoff_note is not None:
            import appsec  # only while one of its screens is up

            if appsec.draw(self, ui):
                return
        if self.vault_error is not None:
            ui.message(self.vault_error)
            return
        if self._notice is not None:
            ui.message(self._notice)
            return
        if self._pin_asked():
            ui.message(self._pinpad().lines(self.pin(), self._two))
            return
        accounts = self.accounts
        if not accounts:
            ui.message(_NO_ACCOUNTS)
            return
        a = accounts[self.index]
        v = self._view
        v.step = time.ticks_diff(time.ticks_ms(), self.selected_at) // 1000
        if a.kind == "hotp":
            v.code = self._hotp_code
            ui.hotp(v)
            return
        if not clock.valid():
            status = clock.status
            ui.message(_NOT_SET if status == _clock.NOT_SET else
                       _STOPPED if status == _clock.NOT_TICKING else _NO_RTC)
            return
        import otp

        days = clock.days
        sod = clock.sod
        period = a.period
        key = self._key
        if self._key_of is not a:
            # The vault keeps few keys built (they cost RAM): the app holds the shown one's.
            key = self._key = a.key()
            self._key_of = a
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
            if not down:
                import appsec

                appsec.accept_clock(self)
            return
        if not screen.on or screen.dimmed:
            if down:
                screen.wake()
                self.buttons.swallow()  # the press that woke does nothing else
            return
        if down:
            return
        if self._notice is not None:
            self._notice = None  # read: back to the token's screens
            screen.changed()
            return
        if self._pin_asked():
            self._pin_button(ev)
            return
        accounts = self.accounts
        n = len(accounts)
        if not n:
            return
        long = ev == b.LONG_0 or ev == b.LONG_1
        if long and accounts[self.index].kind == "hotp":
            self._new_hotp(accounts[self.index])
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

    def _new_hotp(self, account):
        try:
            counter = self.vault.next_hotp(account)  # on flash before the code is shown
        except (ValueError, OSError) as e:
            self.screen.fail(e)
            return
        self._vault_rev = self.vault.revision  # our own change: keep the selection and code
        self._hotp_code = account.key().hotp(counter)
        self._view.counter_text = "#%d" % counter
        self.screen.changed()

    # ---- tasks

    async def _input_task(self):
        import asyncio

        poll = self.buttons.poll
        screen = self.screen
        while True:
            if self._failure is not None:
                return  # another task died: main() raises its exception (run() says why)
            try:
                ev = poll()
                if ev:
                    self.on_button(ev)
                if self._cfg_rev != self.config.revision:
                    self._apply_config()
                if self._vault_rev != self.vault.revision:
                    self._sync_accounts()
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
                    if not await self._serve(reader, writer, one[0]):
                        return  # a build without the protocol
            except Exception as e:  # noqa: BLE001
                self._log("server", e)
            await asyncio.sleep_ms(1000)

    async def _serve(self, reader, writer, first):
        try:
            try:
                import server
            except ImportError:
                return False
            except MemoryError:
                # The host gets no answer this time (it retries); INFO says why once one fits.
                self.memory_note = "serial: protocol server"
                gc.collect()
                return True
            idle_ms = getattr(self.board, "server_idle_ms", _SERVER_IDLE_MS)  # sim: shorter
            await server.serve(self.token, reader, writer, first, idle_ms)
        finally:
            server = None  # noqa: F841 - dropped, with the modules, before the collection
            _unload_server()
        return True

    async def main(self):
        import asyncio

        self.start()
        asyncio.create_task(self._guard("screen", self.screen.run))
        asyncio.create_task(self._guard("clock", self._clock_task))
        asyncio.create_task(self._guard("serial", self._server_task))
        asyncio.create_task(self._guard("power", self.power.run))
        await self._guard("buttons", self._input_task)
        raise self._failure  # the input task ends only when some task died

    async def _guard(self, name, task):
        """Run one of the app's tasks. A task that dies would leave its part of the token
        frozen (a dead screen task leaves a code on the panel): its exception stops the whole
        app instead (the input task raises it, run() blanks the panel and says why). Running
        out of heap is not a bug of the task, and stopping would hide it behind the REPL: the
        heap is collected, the panel says so until the next press, INFO names the task
        (memory_note), and the task starts again."""
        import asyncio

        while True:
            try:
                await task()
                return
            except MemoryError:
                self.memory_note = name
                self._notice = _OUT_OF_MEMORY
                gc.collect()
                if self.screen is not None:
                    self.screen.changed()
            except Exception as e:  # noqa: BLE001 - handed to the input task (see above)
                self._failure = e
                return
            await asyncio.sleep_ms(_RESTART_MS)

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
            self.stopped(e)
            raise
        finally:
            asyncio.new_event_loop()  # a clean loop for whatever runs next (the REPL, tests)

    def _factory_gesture(self):
        # Every button held as the token starts: the factory reset gesture (factory.py).
        for pin in self.board.buttons or ():
            try:
                if not pin.pressed():
                    return
            except OSError:
                return
        if self.board.buttons:
            import appsec

            appsec.factory_gesture(self)

    def factory_reset(self):
        """Factory reset (protocol or the power-on gesture): appsec.factory_reset."""
        import appsec

        appsec.factory_reset(self)

    def stopped(self, e):
        """Blank the panel and say why the app stopped (the screen does it)."""
        if self.display is None:
            return
        screen = self.screen
        if screen is None:  # stopped before the screen was made
            import screen as screenmod

            screen = screenmod.Screen(self.display, self.clock, self._draw_fn)
        screen.stop(e)


# Set when the app stopped out of memory (outside its tasks, e.g. at boot): main.py starts it
# again, and the new App's INFO still says so.
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
    import sys

    for name in _COMMAND_MODULES:
        sys.modules.pop(name, None)
    gc.collect()


def run(board):
    App(board).run()
