"""The token application: asyncio tasks for the screen, buttons, clock, serial server, power.

    import board, app
    app.run(board.make())          # never returns while the token runs

Boot: display, settings, one RTC read (phase guessed), vault, first frame; then the tasks
start and the clock measures the RTC's second edge. Nothing here may crash the token: a
missing RTC, a damaged vault or flash, or an unexpected exception becomes a screen.

Tasks
    screen   sleeps until just after the clock's next second edge, then draws: a code changes
             within a few ms of its period boundary, the countdown moves once a second.
    input    polls the buttons every 10 ms (20 ms while the screen is off), applies settings
             and vault changes, redraws when asked (token.changed()), turns the screen off
             after screen_timeout_s without input.
    clock    re-reads the RTC every 5 s (clock.check(): one read mid-second) and re-measures
             its phase every minute or after a sleep; a jump redraws at once.
    server   firmware/server.py's serve(token, reader, writer) on the board's serial streams,
             if that module exists.
    power    with the screen off, sleep_s without input and 30 s without serial traffic:
             board.light_sleep() in 1 s naps (a press wakes); after 6 x sleep_s,
             board.deep_sleep(). sleep_s 0 never sleeps (a sleeping ESP32 misses USB input).

Buttons (button_mode "auto" picks "two" when the board has two): with two, a short press of
button 0 is next and of button 1 previous; with one, short is next and long is previous. On
an HOTP account a long press (either mode) makes a new code: the vault persists the counter
(vault.next_hotp) before the code is drawn. While the screen is off or dimmed, the first
press only wakes it. Burn-in: the picture moves by a pixel every 3 minutes, and after a minute
without input a screen that never times out is dimmed.

token (what the protocol server sees): vault, clock, config, display (framebuf or None),
changed() (redraw soon; also wakes the screen and selects an account the host just added),
FIRMWARE_VERSION. Using any of them counts as serial activity (keeps the token out of sleep).
"""

import time

from micropython import const

_POLL_MS = const(10)
_POLL_OFF_MS = const(20)
_EDGE_MARGIN_MS = const(2)  # wake this long after the predicted second edge
_CHECK_MS = const(5000)
_SYNC_EVERY = const(12)  # checks per full phase sync (one a minute)
_SHIFT_MS = const(180000)
_DIM_AFTER_MS = const(60000)
_LIGHT_NAP_MS = const(1000)
_DEEP_FACTOR = const(6)  # deep sleep after this many times sleep_s
_DEEP_TIMER_MS = const(86400000)  # a deep sleep also ends after a day (then sleeps again)
_SERIAL_QUIET_MS = const(30000)
# Burn-in offsets (dx, dy), the next one every _SHIFT_MS.
_SHIFTS = ((0, 0), (1, 1), (2, 0), (1, 2), (0, 1), (2, 2), (1, 0), (0, 2), (2, 1))

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
_STOP_REPL = (
    "Token stopped", "", "Ctrl-C reached", "the USB REPL.", "", "Press reset to",
    "start again."
)
_STORAGE = (
    "Storage error", "", "Flash could not", "be read. Retry", "or reflash the", "firmware."
)


class Token:
    """What the protocol server may use; any access counts as serial activity."""

    def __init__(self, app):
        import version

        self._app = app
        self.FIRMWARE_VERSION = version.FIRMWARE_VERSION

    @property
    def vault(self):
        self._app.serial_seen()
        return self._app.vault

    @property
    def clock(self):
        self._app.serial_seen()
        return self._app.clock

    @property
    def config(self):
        self._app.serial_seen()
        return self._app.config

    @property
    def display(self):
        self._app.serial_seen()
        return self._app.display

    def changed(self):
        self._app.serial_seen()
        self._app.changed()


class App:
    def __init__(self, board):
        self.board = board
        self.display = None
        self.ui = None
        self.clock = None
        self.config = None
        self.vault = None
        self.buttons = None
        self.accounts = ()
        self.index = 0
        self.vault_error = None
        self.fault = None  # an unexpected error, shown until the next redraw that works
        self.screen_on = True
        self.dirty = True
        now = time.ticks_ms()
        self.started = now
        self.input_at = now
        self.serial_at = now
        self.selected_at = now
        self.first_frame_ms = -1
        self.frames = 0
        self._vault_rev = -1
        self._storage_rev = -1  # vault revision at which reading the flash failed
        self._cfg_rev = -1
        self._clock_rev = -1
        self._hotp_code = -1
        self._hotp_text = ""
        self._top = ""
        self._bottom = ""
        self._pos = ""
        self._shift = 0
        self._dimmed = False
        self._rotated = None
        self._contrast = 128
        self._timeout_ms = 30000
        self._preview_s = 5
        self._sleep_ms = 600000
        self._two = False
        self._need_sync = False
        self._napping = False
        self._clock_busy = False
        self._wake_ask = False
        self._failure = None  # the exception that ended a task: stops the app
        self.token = Token(self)

    # ---- boot

    def start(self):
        """Everything up to the first frame, as fast as possible (no phase search yet)."""
        t0 = time.ticks_ms()
        board = self.board
        import buttons
        import clock
        import config
        import vault

        try:
            self.display = board.display()
        except Exception as e:  # noqa: BLE001 - a token without a panel still serves USB
            self._log("display", e)
        if self.display is not None:
            import ui

            self.ui = ui.UI(self.display)
        self.buttons = buttons.Buttons(board.buttons)
        self.config = config.Config(board.data_dir)
        self._apply_config()
        rtc = None
        try:
            rtc = board.rtc()
        except Exception as e:  # noqa: BLE001
            self._log("rtc", e)
        self.clock = clock.Clock(rtc)
        self.clock.read()
        self._clock_rev = self.clock.revision
        self.vault = vault.Vault(board.data_dir)
        try:
            self.vault.load()
        except vault.VaultError as e:
            self._log("vault", e)
        except OSError as e:
            self._log("vault", e)
            self._storage_rev = self.vault.revision  # until the vault changes again
        self._sync_accounts()
        self.render()
        self.first_frame_ms = time.ticks_diff(time.ticks_ms(), t0)

    # ---- state changes

    def _log(self, what, e):
        print("token: %s: %s: %s" % (what, type(e).__name__, e))

    def serial_seen(self):
        self.serial_at = time.ticks_ms()

    def changed(self):
        self.dirty = True
        self._wake_ask = True

    def _apply_config(self):
        c = self.config
        self._cfg_rev = c.revision
        self._timeout_ms = c.get("screen_timeout_s") * 1000
        self._preview_s = c.get("preview_s")
        self._sleep_ms = c.get("sleep_s") * 1000
        mode = c.get("button_mode")
        two = self.buttons is not None and self.buttons.count >= 2
        self._two = two and mode != "one"
        self._contrast = c.get("contrast")
        d = self.display
        if d is not None:
            try:
                if not self._dimmed:
                    d.contrast(self._contrast)
                rotate = c.get("rotate")
                if rotate != self._rotated:
                    d.rotate(rotate)
                    self._rotated = rotate
            except OSError as e:
                self._log("display", e)
        self.dirty = True

    def _sync_accounts(self):
        v = self.vault
        if v.revision == self._vault_rev:
            return
        self._vault_rev = v.revision
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
        accounts = self.accounts
        if not accounts:
            self._top = self._bottom = self._pos = ""
        else:
            a = accounts[index]
            if a.issuer:
                self._top = ui.ascii_label(a.issuer)
                self._bottom = ui.ascii_label(a.name)
            else:
                self._top = ui.ascii_label(a.name)
                self._bottom = ""
            self._pos = "%d/%d" % (index + 1, len(accounts))
        self.dirty = True

    # ---- drawing

    def render(self):
        """Draw the current screen and send what changed to the panel."""
        self.dirty = False
        if self.ui is None or not self.screen_on:
            return
        try:
            self._draw()
            self.fault = None
        except Exception as e:  # noqa: BLE001 - show it rather than freeze
            self._log("draw", e)
            self.fault = e
            self._draw_fault(e)
        try:
            self.display.show()
            self.frames += 1
        except OSError as e:
            self._log("display", e)

    def _draw(self):
        ui = self.ui
        clock = self.clock
        clock.sample()
        dx, dy = _SHIFTS[self._shift % len(_SHIFTS)]
        ui.shift(dx, dy)
        if self.vault_error is not None:
            ui.message(self.vault_error)
            return
        accounts = self.accounts
        if not accounts:
            ui.message(_NO_ACCOUNTS)
            return
        a = accounts[self.index]
        step = time.ticks_diff(time.ticks_ms(), self.selected_at) // 1000
        if a.kind == "hotp":
            ui.hotp(self._top, self._bottom, step, self._hotp_code, a.digits, self._hotp_text,
                    self._pos)
            return
        if not clock.valid():
            err = clock.error
            ui.message(_NOT_SET if err == "clock not set" else
                       _STOPPED if err == "RTC not ticking" else _NO_RTC)
            return
        self._draw_totp(a, step)

    def _draw_totp(self, a, step):
        import otp

        clock = self.clock
        days = clock.days
        sod = clock.sod
        period = a.period
        key = a.key()
        counter = otp.counter(days, sod, period)
        left = period - otp.elapsed(days, sod, period)  # whole seconds left, incl. this one
        preview = -1
        if left <= self._preview_s:
            preview = key.hotp(counter + 1)
        self.ui.totp(self._top, self._bottom, step, key.hotp(counter), a.digits,
                     left * 1000 - clock.ms, period * 1000, self._pos, preview)

    def _draw_fault(self, e):
        name = type(e).__name__
        text = str(e)
        try:
            self.ui.message(("Error", name[:16], text[:16], text[16:32], text[32:48], "",
                             "USB: REPL has", "the details"))
        except Exception:  # noqa: BLE001, S110 - nothing more to show
            pass

    # ---- input

    def on_button(self, ev):
        import buttons

        button = ev >> 2
        kind = ev & 3
        self.input_at = time.ticks_ms()
        if not self.screen_on or self._dimmed:
            if kind == buttons.DOWN:
                self.wake()
                self.buttons.swallow()  # the press that woke does nothing else
            return
        if kind == buttons.DOWN:
            return
        accounts = self.accounts
        n = len(accounts)
        if not n:
            return
        if kind == buttons.LONG and accounts[self.index].kind == "hotp":
            self._new_hotp(accounts[self.index])
            return
        if self._two:
            step = 1 if button == 0 else -1
        else:
            if button != 0:
                return
            step = 1 if kind == buttons.SHORT else -1
        self._select((self.index + step) % n)

    def _new_hotp(self, account):
        try:
            counter = self.vault.next_hotp(account)  # on flash before the code is shown
        except (ValueError, OSError) as e:
            self._log("hotp", e)
            self.fault = e
            self._draw_fault(e)
            self.display.show()
            return
        self._vault_rev = self.vault.revision  # our own change: keep the selection and code
        self._hotp_code = account.key().hotp(counter)
        self._hotp_text = "#%d" % counter
        self.dirty = True

    def wake(self):
        self.input_at = time.ticks_ms()
        self.selected_at = self.input_at  # scroll long labels again
        was_off = not self.screen_on
        self.screen_on = True
        if was_off:
            self._need_sync = True  # ticks may have drifted during a sleep
        # Draw first, light the panel after: the panel keeps its RAM while off, and must not
        # flash the code it showed when it went dark.
        self.render()
        d = self.display
        if d is not None:
            try:
                if was_off:
                    d.poweron()
                if self._dimmed:
                    d.contrast(self._contrast)
            except OSError as e:
                self._log("display", e)
        self._dimmed = False

    def screen_off(self):
        self.screen_on = False
        self._hotp_code = -1
        d = self.display
        if d is not None:
            try:
                d.poweroff()
            except OSError as e:
                self._log("display", e)

    def _idle(self, now):
        idle = time.ticks_diff(now, self.input_at)
        timeout = self._timeout_ms
        if self.screen_on and timeout and idle >= timeout:
            self.screen_off()
        elif self.screen_on and not self._dimmed and idle >= _DIM_AFTER_MS:
            self._dimmed = True
            d = self.display
            if d is not None:
                try:
                    d.contrast(self._contrast // 4)
                except OSError as e:
                    self._log("display", e)

    # ---- tasks

    async def _input_task(self):
        import asyncio

        poll = self.buttons.poll
        while True:
            if self._failure is not None:
                raise self._failure  # another task died: stop the app (run() says why)
            try:
                ev = poll()
                if ev:
                    self.on_button(ev)
                if self._cfg_rev != self.config.revision:
                    self._apply_config()
                if self._vault_rev != self.vault.revision:
                    self._sync_accounts()
                if self._wake_ask:
                    self._wake_ask = False
                    self.wake()
                if self.dirty:
                    self.render()
                self._idle(time.ticks_ms())
            except Exception as e:  # noqa: BLE001 - the token must keep running
                self._log("input", e)
            await asyncio.sleep_ms(_POLL_MS if self.screen_on else _POLL_OFF_MS)

    async def _screen_task(self):
        import asyncio

        clock = self.clock
        while True:
            wait = clock.ms_to_edge() + _EDGE_MARGIN_MS if clock.valid() else 1000
            await asyncio.sleep_ms(wait)
            if self.screen_on:
                self.render()

    async def _clock_task(self):
        import asyncio

        clock = self.clock
        checks = 0  # since the last phase sync
        shift_in = _SHIFT_MS // _CHECK_MS  # checks until the next burn-in shift
        self._need_sync = True
        while True:
            self._clock_busy = True
            try:
                if self._napping:
                    pass  # between naps: the phase is measured again once they end
                elif self._need_sync or checks >= _SYNC_EVERY:
                    self._need_sync = False
                    checks = 0
                    await clock.sync()
                else:
                    await clock.check()
                if clock.revision != self._clock_rev:
                    self._clock_rev = clock.revision
                    self.render()
            except Exception as e:  # noqa: BLE001
                self._log("clock", e)
            self._clock_busy = False
            checks += 1
            shift_in -= 1
            if shift_in <= 0:
                shift_in = _SHIFT_MS // _CHECK_MS
                self._shift = (self._shift + 1) % len(_SHIFTS)
                self.dirty = True
            waited = 0
            while waited < _CHECK_MS:
                await asyncio.sleep_ms(100)
                waited += 100
                if self._need_sync and not self._napping:
                    break

    async def _server_task(self):
        import asyncio

        try:
            import server
        except ImportError:
            return  # a build without the protocol
        while True:
            try:
                reader, writer = self.board.serial()
                await server.serve(self.token, reader, writer)
            except Exception as e:  # noqa: BLE001
                self._log("server", e)
            await asyncio.sleep_ms(1000)

    def _input_pending(self):
        import select

        try:
            reader = self.board.serial()[0]
            p = select.poll()
            p.register(reader, select.POLLIN)
            return bool(p.poll(0))
        except Exception:  # noqa: BLE001 - unknown stream: assume busy
            return True

    async def _power_task(self):
        import asyncio

        board = self.board
        while True:
            await asyncio.sleep_ms(1000)
            # Nap while the screen is off, no serial traffic came for a while and nothing
            # waits to be read; between naps the other tasks get a short turn (the input
            # task sees a press that ended a nap).
            while not self.screen_on and self._sleep_ms:
                now = time.ticks_ms()
                if time.ticks_diff(now, self.serial_at) < _SERIAL_QUIET_MS:
                    break
                if self._input_pending():
                    break
                idle = time.ticks_diff(now, self.input_at)
                try:
                    if idle >= self._sleep_ms * _DEEP_FACTOR:
                        board.deep_sleep(_DEEP_TIMER_MS)  # a device reboots on waking
                    elif idle >= self._sleep_ms:
                        if self._clock_busy:
                            break  # never nap inside an edge measurement
                        self._napping = True  # until the naps end, no RTC checks
                        board.light_sleep(_LIGHT_NAP_MS)
                        self._need_sync = True  # measure the phase again before trusting it
                    else:
                        break
                except Exception as e:  # noqa: BLE001 - a board without sleep keeps running
                    self._log("sleep", e)
                    break
                await asyncio.sleep_ms(_POLL_OFF_MS * 2)
            self._napping = False

    async def main(self):
        import asyncio

        self.start()
        # A task that dies would leave its part of the token frozen (a dead screen task
        # leaves a code on the panel): its exception stops the whole app instead (run()).
        asyncio.create_task(self._guard(self._screen_task()))
        asyncio.create_task(self._guard(self._clock_task()))
        asyncio.create_task(self._guard(self._server_task()))
        asyncio.create_task(self._guard(self._power_task()))
        await self._input_task()

    async def _guard(self, task):
        try:
            await task
        except Exception as e:  # noqa: BLE001 - handed to the input task, which stops the app
            self._failure = e


    def run(self):
        """Run the tasks until something stops them. Whatever stops them (Ctrl-C, a crash,
        MemoryError), the panel is blanked and says why before the exception goes on: a
        token must never go on showing a code that is no longer current."""
        import asyncio

        try:
            asyncio.run(self.main())
        except BaseException as e:  # noqa: B036 - every way out, re-raised below
            self.stopped(e)
            raise
        finally:
            asyncio.new_event_loop()  # a clean loop for whatever runs next (the REPL, tests)

    def stopped(self, e):
        """The stop screen: first a blank panel, then why the app stopped."""
        d = self.display
        if d is None:
            return
        for _ in range(2):  # a second Ctrl-C may land in the first attempt: try once more
            try:
                d.fill(0)
                d.show(True)  # all of it: an interrupted show() may have left the panel stale
                try:
                    self._stop_message(e)
                    d.show(True)
                finally:
                    d.poweron()  # also lights a panel that had timed out or dimmed
                    d.contrast(self._contrast)
                return
            except KeyboardInterrupt:
                continue
            except Exception:  # noqa: BLE001, S112 - a failing panel: nothing more to show
                return

    def _stop_message(self, e):
        if isinstance(e, KeyboardInterrupt):
            lines = _STOP_REPL
        elif isinstance(e, MemoryError):
            import gc

            gc.collect()  # what the stopped tasks held is garbage now: room for the text
            lines = ("Token stopped", "", "MemoryError", "", "", "", "Press reset to",
                     "start again.")
        else:
            name = type(e).__name__
            text = str(e)
            lines = ("Token stopped", "", name[:16], text[:16], text[16:32], "",
                     "Press reset to", "start again.")
        if self.ui is not None:
            self.ui.message(lines)
        else:
            self.display.text(lines[0], 0, 0, 1)


def run(board):
    App(board).run()
