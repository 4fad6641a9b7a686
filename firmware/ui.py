"""The token's screens, drawn on a framebuf (the SSD1306 driver is one); no I/O here.

    u = ui.UI(display)                 # display: 128-column MONO_VLSB framebuf.FrameBuffer
                                       #   with .width, .height, .buffer
    u.shift(dx, dy)                    # burn-in: move everything by a pixel or two
    v = ui.View()                      # what an account screen shows: made once, filled per frame
    u.totp(v)                          # top, bottom, step, code, digits, left_ms, period_ms,
                                       #   position, preview
    (uiscreens.py draws the other screens, a message and an HOTP account, with this UI)
    display.show()                     # the display shows the frame (only what was redrawn)
    ascii_label(text) -> str           # a label the 8x8 font can draw (call once per label)

Layout of a 128x64 panel (y in pixels; everything may move by the burn-in shift, 0..2 px):
    0..7    issuer (or the name alone)          small text; too long: scrolled, twice
    8..15   name                                small text; too long: scrolled, twice
    18..41  the code, large digits, grouped 3+3, 3+4 or 4+4, centred
    45..47  countdown bar: full at the start of the period, empty at its end
    54..61  next code (left, in the last seconds), position "2/7" (right)
A 128x32 panel shows one label line, the digits, and the bar upright at the right edge.

The large digits are the project's own font (font_digits.py, 12x24, MONO_VLSB, imported only
while the glyphs are shifted to the code's row: at boot and after a burn-in shift), written
straight into the frame's buffer by a viper routine (blit() would visit every pixel through
calls); small text is framebuf's built-in 8x8 font, ASCII only.
Drawing a code screen allocates nothing: the digits of a code are split into a preallocated
bytearray and small digits come from a tuple of one-character strings.

Steam Guard codes: View.digits 5 means a Steam code (the vault allows 5 for Steam accounts
only; docs/protocol.md), whose value (otp.py) holds five base-26 characters, the least
significant first. They are drawn in the same cells, ungrouped, with the letters of
font_steam.py: a character of value v is glyph v + 2 (digits 0-9, then LETTER_CHARS). That
module and the letters' shifted columns (864 bytes) are loaded only once a Steam code is shown.

Only the TOTP screen lives here: it is what the idle token draws; the other screens are in
uiscreens.py, imported while one is shown.

A TOTP screen is redrawn in place: the UI remembers what it drew (labels and their scroll
offsets, each digit, the bar's length, the bottom line) and redraws only the parts that differ,
each over a cleared area that nothing else draws on, so the frame ends up exactly as a full
redraw would leave it. A one-digit change touches 12x24 pixels instead of the whole frame.
The UI grows the display's `area` (the SSD1306 driver's: x0, y0, x1, y1, state) by what it
redraws, so the display's own show() compares and sends just that area; a frame without
`area` gets a private one and its show() compares everything. Any other screen, a new burn-in
shift, another digit count or a 32-row panel (whose vertical bar shares rows with the label)
redraw the whole frame. Whoever draws on the frame behind the UI's back calls forget().
"""

import micropython
from micropython import const

_GW = const(12)  # glyph width
_GH = const(24)  # glyph height
_GB = const(36)  # glyph bytes
_GAP = const(2)  # between digits of a group
_GROUP_GAP = const(10)  # between the two groups
_CHAR = const(8)
_PAUSE = const(2)  # scroll steps to rest at each end of a long label
_PASSES = const(2)  # then it rests at its start: a moving line costs I2C traffic
_NONE = const(0)  # UI._drawn: the frame holds another screen, or something unknown
_VOUCHED = const(1)  # area[4]: the changes since the display's last show() lie in area[0:4]
_UNKNOWN = const(2)  # area[4]: anything may have changed (0: nothing drawn since the show())
_NO_DIGIT = const(255)  # a digit cell that holds no digit
_NEVER_QUIET = const(0x3FFFFFFF)  # UI._quiet while a label moves (a small int on 32 bits)
_STEAM = const(5)  # View.digits of a Steam code
_DIGIT_GLYPHS = const(10)
_ALL_GLYPHS = const(28)  # the digits and the 18 letters of Steam's alphabet

DIGIT_TEXT = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")

# Latin-1 letters U+00C0..U+00FF without their accents, so "Müller" reads "Muller".
_LATIN1 = "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty"


def ascii_label(text):
    """`text` with every character the 8x8 font lacks replaced: Latin-1 letters lose their
    accents, anything else becomes '?'. Allocates: call when a label is chosen, not per frame."""
    for c in text:
        if not 32 <= ord(c) < 127:
            break
    else:
        return text
    out = []
    for c in text:
        o = ord(c)
        if 32 <= o < 127:
            out.append(c)
        elif 0xC0 <= o <= 0xFF:
            out.append(_LATIN1[o - 0xC0])
        else:
            out.append("?")
    return "".join(out)


def group_split(digits):
    """Digits in the first group: 6 -> 3+3, 7 -> 3+4, 8 -> 4+4 (a Steam code: one group)."""
    return digits if digits == _STEAM else digits // 2


def code_width(digits):
    if digits == _STEAM:  # five characters, no group gap
        return digits * _GW + (digits - 1) * _GAP
    return digits * _GW + (digits - 2) * _GAP + _GROUP_GAP


class View:
    """What an account screen shows. The app keeps one and updates its fields (small ints and
    strings it already holds), so drawing a frame passes no argument list and allocates
    nothing."""

    def __init__(self):
        self.top = ""  # first label line: the issuer, or the name alone
        self.bottom = ""  # second label line: the name under an issuer, else ""
        self.position = ""  # "2/7"
        self.step = 0  # seconds since the account was selected (label scrolling)
        self.code = -1  # the code; -1: none yet (an HOTP account before its press)
        self.digits = 6
        self.left_ms = 0  # TOTP: time left in the period
        self.period_ms = 30000
        self.preview = -1  # TOTP: the next code, in the last seconds of a period; else -1
        self.counter_text = ""  # HOTP: "#5", the counter of the code shown


class UI:
    def __init__(self, fb):
        # Runs once, at boot: its code is bootinit.py (dropped by the app after boot).
        import bootinit

        bootinit.ui(self, fb)

    def shift(self, dx, dy):
        if dx != self.dx or dy != self.dy:
            self.dx = dx
            self.dy = dy
            self._drawn = _NONE  # everything moves

    # ---- pieces

    def scroll(self, text, step):
        """How far (pixels) a label is scrolled to the left at this step."""
        over = len(text) * _CHAR - (self.width - 2)
        x = 0
        if over > 0:
            steps = (over + _CHAR - 1) // _CHAR
            cycle = steps + 2 * _PAUSE
            pos = step % cycle - _PAUSE if step < _PASSES * cycle else 0
            if pos > 0:
                x = pos * _CHAR
                if x > over:
                    x = over
        return x

    def _shifted(self, y, digits):
        """The glyph columns (self._cols) for a code of `digits` drawn at row y (a Steam code
        needs the letters' columns too)."""
        if digits == _STEAM and len(self._cols) < _ALL_GLYPHS * _GW * 4:
            self._steam_font()
            self._cols = bytearray(_ALL_GLYPHS * _GW * 4)
            self._cols_shift = -1
        if y & 7 != self._cols_shift:
            # The digits' font is needed only now (at boot, after a burn-in shift): imported
            # for this and dropped (624 B of heap on a 32-bit port).
            import sys

            import font_digits

            self._cols_shift = y & 7
            _shift_glyphs(font_digits.DIGITS, self._cols, y & 7, 0)
            font_digits = None  # noqa: F841 - nothing keeps it once out of sys.modules
            sys.modules.pop("font_digits", None)
            if len(self._cols) > _DIGIT_GLYPHS * _GW * 4:
                _shift_glyphs(self._steam.LETTERS, self._cols, y & 7, _DIGIT_GLYPHS)
        return self._cols

    def _steam_font(self):
        """The Steam letters' module, imported the first time a Steam code is drawn."""
        if self._steam is None:
            import font_steam

            self._steam = font_steam
        return self._steam

    def small_digits(self, code, digits, x, y):
        """The code in small type, a space between the groups; returns the x after it."""
        fb = self.fb
        if digits == _STEAM:  # five characters, the least significant first
            text = self._steam_font().TEXT
            i = 0
            while i < digits:
                fb.text(text[code % 26], x, y, 1)
                code //= 26
                x += _CHAR
                i += 1
            return x
        split = self._split  # the digits, most significant first, zero-padded (no allocation)
        i = digits
        while i:
            i -= 1
            split[i] = code % 10
            code //= 10
        first = group_split(digits)
        i = 0
        while i < digits:
            fb.text(DIGIT_TEXT[split[i]], x, y, 1)
            x += _CHAR + (_CHAR // 2 if i == first - 1 else 0)
            i += 1
        return x

    def _position(self, position):
        if position and self.y_bottom >= 0:
            x = self.width - len(position) * _CHAR + self.dx - 2
            self.fb.text(position, x, self.y_bottom + self.dy, 1)

    # ---- screens

    def forget(self):
        """The frame was changed behind the UI's back: the next screen is drawn whole."""
        self._drawn = _NONE
        self._area[4] = _UNKNOWN

    def totp(self, v):
        """A TOTP account (v: View): labels, code, countdown, position, and the preview of
        the next code if v.preview >= 0. Redraws only the parts that changed (see above):
        each part first checks the fields it shows against what it drew, so an unchanged
        part costs a comparison or two."""
        if v.digits != self._drawn:
            self._clear(v.digits)
        if v.top is not self._dtop or v.bottom is not self._dname or (
                v.step != self._dstep and v.step < self._quiet):
            self._labels_changed(v)
        code = v.code
        if code != self._dcode_val:
            self._dcode_val = code
            _cells(self._buf, self._cols, self._dcode, code, self._geom, self._area)
        if v.left_ms != self._dleft or v.period_ms != self._dperiod:
            self._dleft = v.left_ms
            self._dperiod = v.period_ms
            self._bar(v.left_ms, v.period_ms)
        if v.preview != self._dprev or v.position is not self._dpos:
            self._bottom_changed(v)

    def _clear(self, digits):
        """A blank frame, and a memory of it that every part of the next screen differs from;
        the code's place for this digit count and shift."""
        self.fb.fill(0)
        self._area[4] = _UNKNOWN
        # A 32-row panel's bar shares rows with the label: its frames are always drawn whole.
        self._drawn = digits if self.tall else _NONE
        self._dtop = self._dname = self._dpos = None
        self._dtop_x = self._dname_x = 0
        self._dstep = -1
        self._quiet = 0  # labels drawn at _dstep look the same at every step from this one
        self._dcode_val = -1
        self._dleft = self._dperiod = -1
        self._dprev = -1
        self._dbar = 0
        d = self._dcode
        i = 0
        while i < 8:
            d[i] = _NO_DIGIT
            i += 1
        x = (self.width - code_width(digits)) // 2 + self.dx - 1
        y = self.y_code + self.dy
        self._geom = x | (y << 8) | (digits << 16) | ((self.height >> 3) << 24)
        self._shifted(y, digits)

    def _labels_changed(self, v):
        """The label lines whose text or scroll offset changed, each redrawn over its band."""
        step = v.step
        self._dstep = step
        text = v.top
        x = self.scroll(text, step)
        end = self._scroll_end(text)
        if text is not self._dtop or x != self._dtop_x:
            self._dtop = text
            self._dtop_x = x
            self._band(text, x, self.y_top)
        text = v.bottom
        if self.y_name >= 0:
            x = self.scroll(text, step)
            end = max(end, self._scroll_end(text))
            if text is not self._dname or x != self._dname_x:
                self._dname_x = x
                self._band(text, x, self.y_name)
        self._dname = text
        # Drawn at rest (every label at its start for good): only a step before `end` (the
        # account shown again) looks different; while they move, every new step does.
        self._quiet = end if step >= end else _NEVER_QUIET

    def _scroll_end(self, text):
        """The first step from which the label rests at its start for good (0: it fits)."""
        over = len(text) * _CHAR - (self.width - 2)
        if over <= 0:
            return 0
        return _PASSES * ((over + _CHAR - 1) // _CHAR + 2 * _PAUSE)

    def _bottom_changed(self, v):
        """The bottom line (preview, position) redrawn over its cleared band."""
        self._dprev = v.preview
        self._dpos = v.position
        if self.y_bottom < 0:
            return
        y = self.y_bottom + self.dy
        self.fb.fill_rect(0, y, self.width, _CHAR, 0)
        _grow(self._area, 0, y, self.width, _CHAR)
        self._position(v.position)
        if v.preview >= 0:
            self.fb.text(">", self.dx, y, 1)
            self.small_digits(v.preview, v.digits, self.dx + _CHAR + 2, y)

    def _band(self, text, x, y):
        """A label line redrawn over its cleared rows (the full width: only it draws there)."""
        y += self.dy
        self.fb.fill_rect(0, y, self.width, _CHAR, 0)
        _grow(self._area, 0, y, self.width, _CHAR)
        if text:
            self.fb.text(text, self.dx - x, y, 1)

    def _bar(self, left, total):
        """The countdown bar, by filling or clearing only the part that changed."""
        full = self.width - 4 if self.tall else self.bar_h
        n = (left * full) // total if total > 0 else 0
        if n < 0:
            n = 0
        if n > full:
            n = full
        old = self._dbar
        if n == old:
            return
        self._dbar = n
        if n < old:  # shorter: clear its end (no tuple for the three values: it allocates)
            lo = n
            hi = old
            ink = 0
        else:
            lo = old
            hi = n
            ink = 1
        if self.tall:
            x = 1 + self.dx + lo
            y = self.y_bar + self.dy
            self.fb.fill_rect(x, y, hi - lo, self.bar_h, ink)
            _grow(self._area, x, y, hi - lo, self.bar_h)
        else:  # drawn whole each frame (see totp())
            self.fb.fill_rect(self.width - 3, self.y_bar + full - hi, 2, hi - lo, ink)

@micropython.viper
def _shift_glyphs(font, cols: ptr32, shift: int, first: int):
    """cols[(first + d) * 12 + c] (a word) = column c of glyph d of `font` moved down by shift
    rows: its byte k (bits 8k..8k+7) is page k. Words, not bytes: _cells reads a column with
    one load. Every glyph of `font` (font_digits.DIGITS or font_steam.LETTERS) is shifted."""
    n = int(len(font)) // _GB * _GW
    f = ptr8(font)
    out = first * _GW
    i = 0
    while i < n:
        g = (i // _GW) * _GB + i % _GW
        bits = uint(f[g]) | (uint(f[g + _GW]) << 8)
        bits = (bits | (uint(f[g + 2 * _GW]) << 16)) << shift
        cols[out + i] = bits
        i += 1


@micropython.viper
def _cells(buf, cols: ptr32, drawn: ptr8, code: int, geom: int, area: ptr8):
    """The code's large digits into a 128-column MONO_VLSB frame: geom packs the first cell's
    x (bits 0..7, 0..127), its row y (bits 8..15), the digit count (bits 16..23) and the
    frame's pages (bits 24..; passed, as len() would cost a call per frame); cols holds
    the glyph columns shifted for that row (UI._shifted). A code of 5 digits is a Steam code:
    base-26 characters, the least significant in the first cell, glyph value + 2, no group
    gap (see the module docstring). Only the cells whose digit differs
    from drawn[i] are written, then recorded in drawn. A cell's 24 rows of each column are
    replaced, blank pixels too (as blit does); the rows above and below are kept; columns
    and pages outside the frame are clipped. The cells written are added to area (x0, y0,
    x1, y1, ends excluded, state: UI._area) unless anything may have changed already."""
    fb = ptr8(buf)
    f1 = ptr8(uint(fb) + 128)  # the next three pages
    f2 = ptr8(uint(fb) + 256)
    f3 = ptr8(uint(fb) + 384)
    digits = (geom >> 16) & 0xFF
    y = (geom >> 8) & 0xFF
    above = uint((1 << (y & 7)) - 1)  # rows of the cell's first page above it: kept
    below = above ^ 0xFF  # rows of its fourth page below it: kept
    p0 = y >> 3
    n = (geom >> 24) - p0  # pages of the cell inside the frame
    steam = digits == _STEAM
    first = digits if steam else digits >> 1
    lo = 255
    hi = -1
    k = 0
    while k < digits:
        if steam:  # the first cell holds the least significant character
            i = k
            d = code % 26 + 2
            code = code // 26
        else:  # the last cell holds the least significant digit
            i = digits - 1 - k
            d = code % 10
            code = code // 10
        k += 1
        if d != int(drawn[i]):
            drawn[i] = d
            x = (geom & 0xFF) + i * (_GW + _GAP)
            if i >= first:
                x += _GROUP_GAP - _GAP  # the gap between the groups
            end = x + _GW
            if end > 128:
                end = 128
            if x < lo:
                lo = x
            if end - 1 > hi:
                hi = end - 1
            t = d * _GW  # the glyph's first column: one word, its 4 pages from the low byte
            j = (p0 << 7) + x
            end += j - x
            if n > 3:  # all 4 pages in the frame (always on a 64-row panel): no page checks,
                while j < end:  # a third cheaper per column
                    w = cols[t]
                    fb[j] = (fb[j] & above) | w  # a store keeps the low byte
                    f1[j] = w >> 8
                    f2[j] = w >> 16
                    f3[j] = (f3[j] & below) | (w >> 24)
                    j += 1
                    t += 1
            else:
                while j < end:
                    w = cols[t]
                    fb[j] = (fb[j] & above) | w
                    if n > 1:
                        f1[j] = w >> 8
                    if n > 2:
                        f2[j] = w >> 16
                    j += 1
                    t += 1
    if hi >= 0 and area[4] < _UNKNOWN:
        area[4] = _VOUCHED
        if lo < int(area[0]):
            area[0] = lo
        if y < int(area[1]):
            area[1] = y
        if hi + 1 > int(area[2]):
            area[2] = hi + 1
        if y + _GH > int(area[3]):
            area[3] = y + _GH


@micropython.viper
def _grow(area: ptr8, x: int, y: int, w: int, h: int):
    """Add the rectangle (x, y, w, h), inside the frame, to area (x0, y0, x1, y1, ends
    excluded, state: UI._area), unless anything may have changed already. In viper: it runs
    for each part redrawn, and as a method it cost as much as the drawing."""
    if area[4] >= _UNKNOWN:
        return
    area[4] = _VOUCHED
    if x < int(area[0]):
        area[0] = x
    if y < int(area[1]):
        area[1] = y
    if x + w > int(area[2]):
        area[2] = x + w
    if y + h > int(area[3]):
        area[3] = y + h
