"""The screens of ui.UI other than a TOTP code: a message and an HOTP account. Split from
ui.py so the idle token, which draws codes, does not hold them: the app imports this only
while one of these screens is up (appscreens, screenmsg) and drops it after. It draws with
ui.py's own pieces (the frame, its area, the large-digit routine); the layout is ui.py's.

    uiscreens.message(u, lines)     # a few lines of small text (errors, guidance)
    uiscreens.hotp(u, v)            # top, bottom, step, code, digits, counter_text, position
    uiscreens.digits(u, code, digits, y)   # the code in large digits, grouped, centred
"""

import ui as _ui
from micropython import const

# ui.py's layout figures (const() is per module).
_GW = const(12)  # glyph width
_GH = const(24)  # glyph height
_GAP = const(2)  # between digits of a group
_GROUP_GAP = const(10)  # between the two groups
_NO_DIGIT = const(255)  # a digit cell that holds no digit


def message(u, lines):
    """Up to 8 lines (4 on a 32-row panel) of small text, the first one highlighted."""
    fb = u.fb
    u.forget()
    fb.fill(0)
    n = min(len(lines), u.height // 8)
    y = u.dy
    i = 0
    while i < n:  # no slice, no enumerate: a message redrawn each second allocates nothing
        if i == 0:
            fb.fill_rect(0, y, u.width, 8, 1)
            fb.text(lines[0], u.dx + 1, y, 0)
        else:
            fb.text(lines[i], u.dx, y, 1)
        y += 8
        i += 1


def hotp(u, v):
    """An HOTP account (v: ui.View): the code once revealed (v.code >= 0) with its counter,
    else dashes and a hint to hold the button."""
    fb = u.fb
    u.forget()
    fb.fill(0)
    step = v.step
    fb.text(v.top, u.dx - u.scroll(v.top, step), u.y_top + u.dy, 1)
    if v.bottom and u.y_name >= 0:
        fb.text(v.bottom, u.dx - u.scroll(v.bottom, step), u.y_name + u.dy, 1)
    if v.code >= 0:
        digits(u, v.code, v.digits, u.y_code)
        hint = v.counter_text
    else:
        _dashes(u, v.digits, u.y_code)
        hint = "hold: code"
    if u.y_bottom >= 0:
        fb.text(hint, u.dx, u.y_bottom + u.dy, 1)
    u._position(v.position)


def digits(u, code, n, y):
    """The code (n digits) in large digits, grouped, centred at row y (over whatever screen
    is there: the next one is drawn whole)."""
    u.forget()  # so the TOTP screen's record of its cells is free to use: none holds a digit
    blank = u._dcode
    i = 0
    while i < 8:
        blank[i] = _NO_DIGIT
        i += 1
    x = (u.width - _ui.code_width(n)) // 2 + u.dx - 1
    y += u.dy
    _ui._cells(u._buf, u._shifted(y, n), blank, code,
               x | (y << 8) | (n << 16) | ((u.height >> 3) << 24), u._area)  # fmt: skip


def _dashes(u, n, y):
    # Placeholders where a code will be (an HOTP account before its press).
    x = (u.width - _ui.code_width(n)) // 2 + u.dx - 1
    first = _ui.group_split(n)
    mid = y + u.dy + _GH // 2
    i = 0
    while i < n:
        u.fb.fill_rect(x + 2, mid - 1, _GW - 4, 3, 1)
        x += _GW + (_GROUP_GAP if i == first - 1 else _GAP)
        i += 1
