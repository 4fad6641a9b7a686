"""The app's security screens and actions (docs/security.md), imported only when one is needed:
a clock change waiting for a press, a wrong password's delay, a factory reset. app.App keeps
the state (pending_clock, backoff_note, security); this module draws and acts on it.

    appsec.draw(app, ui)        # True if it drew a screen (the codes wait)
    appsec.accept_clock(app)    # a press accepted the pending clock change
    appsec.factory_gesture(app) # every button held at start: factory.gesture
    appsec.factory_reset(app)   # erase everything, unlock
"""

import time

import uiscreens
from micropython import const

_PRESENCE_MS = const(60000)  # how long a clock change waits for a press
_BACKOFF_NOTE_MS = const(30000)  # how long the panel shows a wrong password's delay


def draw(app, ui):
    if app.pending_clock is not None and _presence_prompt(app, ui):
        return True
    if app.backoff_note is not None and _backoff_message(app, ui):
        return True
    return False


def _pending_ms(app):
    ms, at = app.pending_clock
    waited = time.ticks_diff(time.ticks_ms(), at)
    if waited > _PRESENCE_MS:
        app.pending_clock = None
        return None
    return ms + waited


def _presence_prompt(app, ui):
    new = _pending_ms(app)
    if new is None or not app.clock.valid():
        app.pending_clock = None
        return False
    delta = new // 1000 - app.clock.unix()
    sign = "+" if delta >= 0 else "-"
    delta = abs(delta)
    if delta >= 86400:
        text = "%s%d days" % (sign, delta // 86400)
    elif delta >= 3600:
        text = "%s%d hours" % (sign, delta // 3600)
    else:
        text = "%s%d min" % (sign, delta // 60)
    uiscreens.message(
        ui,
        ("Clock change?", "USB asks to", "move the clock", text, "", "Press a button",
         "to accept it")
    )  # fmt: skip
    return True


def _backoff_message(app, ui):
    at, now_s = app.backoff_note
    waited = time.ticks_diff(time.ticks_ms(), at)
    if waited > _BACKOFF_NOTE_MS or app.security is None:
        app.backoff_note = None
        return False
    back = app.security.backoff()
    left = back.wait_s(now_s + waited // 1000)
    uiscreens.message(
        ui, ("Wrong password", "%d in a row" % back.failures, "", "Next try in", "%d s" % left)
    )
    return True


def accept_clock(app):
    new = _pending_ms(app)
    app.pending_clock = None
    app.screen.changed()
    if new is None:
        return
    import asyncio

    app.token.clockguard.confirmed(app.clock.unix(), new // 1000)
    asyncio.create_task(_set_clock(app, new))


async def _set_clock(app, ms):
    try:
        await app.clock.set_unix_ms(ms)
    except (ValueError, OSError) as e:
        app._log("clock", e)
    app.screen.changed()


def factory_gesture(app):
    import factory

    try:
        factory.gesture(app)
    except Exception as e:  # noqa: BLE001 - a failed erase must not stop the token
        app._log("factory reset", e)


def factory_reset(app):
    """Every account, the PIN, the password, the lock and whatever else
    security.erase_security_state() covers. Only erases; the REPL is open afterwards."""
    import security

    app.vault.wipe(keep_pin=False)
    security.erase_security_state(app.board.data_dir)
    app.security = None
    app.clockguard = None
    security.open_repl(True)  # unlocked from now on: Ctrl-C reaches the REPL
    app.board.set_interrupt_char(True)
