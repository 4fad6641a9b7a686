"""The setup of the UI (ui.UI) and of the screen component (screen.Screen): run once, at boot
(and by a stopped app that had no screen yet), so the idle token does not hold this code:
App.start() drops this module once boot is done. Each function is its class's __init__
(`self` is the new object).
"""

import time

from micropython import const

_NONE = const(0)  # ui.UI._drawn: the frame holds another screen, or something unknown
_DIGIT_GLYPHS = const(10)  # ui: the digits' glyphs (the Steam letters come later)
_GW = const(12)  # ui: glyph width


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
