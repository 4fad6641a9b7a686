"""The setup of what boot makes once: the App, its UI (ui.UI), screen (screen.Screen), clock
(clock.Clock), buttons (buttons.Buttons) and vault (vault.Vault). Each function here is its
class's __init__ (`self` is the new object), so the idle token does not hold code that ran
once: App.start() drops this module once boot is done (a test, a command that opens another
vault, or a stopped app that had no screen yet imports it again).
"""

import time

from micropython import const

_NONE = const(0)  # ui.UI._drawn: the frame holds another screen, or something unknown
_DIGIT_GLYPHS = const(10)  # ui: the digits' glyphs (the Steam letters come later)
_GW = const(12)  # ui: glyph width
_NOT_READ = const(1)  # clock.NOT_READ
_MAX_CAPACITY = const(255)  # vault.Vault: accounts (the count is a byte in the file)


def ui(self, fb):
    """ui.UI(fb): checks the frame and sets up what the UI remembers of it."""
    buf = getattr(fb, "buffer", None)
    if buf is None or getattr(fb, "width", 0) != 128 or len(buf) != fb.height * 16:
        raise ValueError("UI: needs a 128-column MONO_VLSB frame with .buffer")
    self.fb = fb
    self.width = fb.width
    self.height = fb.height
    self.tall = self.height >= 64
    self._steam = None  # font_steam, once a Steam code is drawn
    # The glyphs' columns moved down to the code's row within its page (a 32-bit word per
    # column c of glyph d at [d * 12 + c], page k in its byte k), made when that row
    # changes, so drawing a digit copies bytes instead of shifting bits. The digits only,
    # until a Steam code needs the letters too.
    self._cols = bytearray(_DIGIT_GLYPHS * _GW * 4)  # word-aligned, as every heap block is
    self._cols_shift = -1
    self._split = bytearray(8)
    self._buf = buf  # the large digits are written straight into it
    self.dx = 0
    self.dy = 0
    # What the frame holds, so a TOTP frame redraws only what changed (set by _clear()).
    self._drawn = _NONE  # the digit count of the TOTP screen in the frame; 0: none
    # The area redrawn since the display's last show() (x0, y0, x1, y1, ends excluded, and
    # a state), which that show() resets; shared with the display, so no call between.
    self._area = getattr(fb, "area", None) or bytearray(b"\xff\xff\x00\x00\x02")
    self._dcode = bytearray(8)  # the digit in each cell
    if self.tall:
        self.y_top, self.y_name, self.y_code, self.y_bar, self.bar_h, self.y_bottom = (
            0,
            8,
            18,
            45,
            3,
            54,
        )
    else:
        self.y_top, self.y_name, self.y_code, self.y_bar, self.bar_h, self.y_bottom = (
            0,
            -1,
            8,
            8,
            24,
            -1,
        )


def screen(self, display, clock, draw, owner):
    """screen.Screen(display, clock, draw, owner): the panel's state at boot."""
    self.display = display
    self.ui = None
    if display is not None:
        import ui

        self.ui = ui.UI(display)
    self._clock = clock
    self._draw = draw
    self._owner = owner
    self.on = True
    self.dimmed = False
    self.dirty = True
    self.fault = None  # an error shown by the last render, until one works again
    self.frames = 0
    now = time.ticks_ms()
    self.input_at = now
    self._shift = 0
    self._shift_at = now
    self._second = -1  # clock.sod of the last frame drawn
    self._wake_ask = False
    # The settings (appload.apply_config writes them and applies them to the panel).
    self.contrast = 128
    self.rotated = None
    self.timeout_ms = 30000


def app(self, board):
    """app.App(board)."""
    import app as appmod

    stopped = appmod._stopped_by_memory[0]
    if stopped is not None:  # the app before this one (main.py restarted it)
        self.memory_note = stopped
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
    self.selected_at = time.ticks_ms()
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
    self._rare = 0  # what may be loaded off the hot path (_RARE_LOADED, _HOTP_UI)
    self._draw_fn = self._draw  # bound once: the screen calls it every frame


def clock(self, rtc, ticks_ms, sleep_ms):
    """clock.Clock(rtc, ticks_ms, sleep_ms)."""
    self._rtc = rtc
    self._ticks = ticks_ms or time.ticks_ms
    self._sleep = sleep_ms or time.sleep_ms
    self.days = 0
    self.sod = 0
    self.ms = 0
    self._anchor = 0  # ticks_ms at which second `sod` of day `days` began
    self._valid = False
    self._phase_ok = False  # anchor measured at an observed edge (not guessed)
    self.status = _NOT_READ
    self.error = "clock not read"
    self.revision = 0
    self.last_sync = 0  # ticks_ms of the last edge sync


def buttons(self, pins, debounce_ms, long_ms, ticks_ms):
    """buttons.Buttons(pins, debounce_ms, long_ms, ticks_ms)."""
    self._pins = tuple(pins)
    n = len(self._pins)
    self.count = n
    self._ticks = ticks_ms or time.ticks_ms
    self._debounce = debounce_ms
    self._long = long_ms
    self._raw = bytearray(n)  # last reading
    self._stable = bytearray(n)  # debounced state
    self._swallow = bytearray(n)  # ignore this press's SHORT/LONG
    self._long_done = bytearray(n)
    now = self._ticks()
    self._since = [now] * n  # when _raw last changed
    self._down_at = [now] * n
    for i in range(n):
        if self._read(i):  # held at start: wait for a release
            self._raw[i] = self._stable[i] = 1
            self._swallow[i] = 1
            self._long_done[i] = 1


def vault(self, capacity):
    """vault.Vault(directory, capacity) but its store (vault.py makes that)."""
    import vault

    if (
        not isinstance(capacity, int)
        or isinstance(capacity, bool)
        or capacity < 1
        or capacity > _MAX_CAPACITY
    ):
        import vaulterror

        raise vaulterror.InvalidError("capacity must be an integer from 1 to %d" % _MAX_CAPACITY)
    self.capacity = capacity
    self._seal = vault._Seal()
    self._header = None  # the PIN block of the copy being decoded
    self._accounts = []
    self._loaded = False
    self.corrupt = False
    self.recovered = False
    self.revision = 0
