"""Factory reset by the buttons at power-on (docs/security.md, "Factory reset").

    if factory.held(board.buttons):     # every button down as the app starts
        factory.gesture(app)            # True if the token was erased

Hold every button (the only one, on a one-button board) while the token starts, and keep
holding: after a second the panel says what is coming and counts down; released before
HOLD_MS nothing happens (so the press that wakes a token from deep sleep does nothing);
held to the end, app.factory_reset() erases every account, the password, the lock and
whatever security.erase_security_state() covers, and the panel says so. It never shows
anything stored: it only erases. Imported only when the buttons are held at boot.
"""

import time

from micropython import const

HOLD_MS = const(10000)
_SHOW_MS = const(1000)
_DONE_MS = const(2000)
_POLL_MS = const(50)


def held(pins):
    if not pins:
        return False
    for pin in pins:
        try:
            if not pin.pressed():
                return False
        except OSError:
            return False
    return True


def _show(display, lines):
    if display is None:
        return
    display.fill(0)
    display.fill_rect(0, 0, display.width, 8, 1)
    display.text(lines[0], 1, 0, 0)
    y = 16
    for line in lines[1:]:
        display.text(line, 0, y, 1)
        y += 10
    display.show()


def gesture(app, hold_ms=HOLD_MS):
    pins = app.board.buttons
    display = app.display
    t0 = time.ticks_ms()
    shown = -1
    while held(pins):
        el = time.ticks_diff(time.ticks_ms(), t0)
        if el >= hold_ms:
            _show(display, ("Factory reset", "Erasing...", "", "Keep the power on"))
            app.factory_reset()
            _show(display, ("Factory reset", "Done: no accounts", "no password,", "unlocked."))
            time.sleep_ms(_DONE_MS)
            return True
        if el >= _SHOW_MS:
            left = (hold_ms - el + 999) // 1000
            if left != shown:
                shown = left
                _show(
                    display,
                    ("Factory reset?", "Erases ALL data.", "Keep holding: %d s" % left,
                     "Release: cancel"),
                )  # fmt: skip
        time.sleep_ms(_POLL_MS)
    if shown >= 0 and display is not None:
        _show(display, ("Factory reset", "Cancelled", "", "Nothing erased."))
        time.sleep_ms(_DONE_MS // 2)
    return False
