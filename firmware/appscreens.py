"""Every screen of the app but a code (TOTP or HOTP), and the presses they take (app.App
calls these only off its hot path; the module is dropped once a code is drawn again).

    appscreens.draw(app, ui)        # True if it drew a screen (else the app draws the code,
                                    #   TOTP or HOTP): a security prompt (appsec), the vault's
                                    #   error, a notice, the PIN picker, no accounts, a clock
                                    #   that is not set, stopped or missing
    appscreens.press(app, ev, down) # a press one of them takes: the clock change's accept,
                                    #   a notice read, a PIN digit, a new HOTP code

HOTP: a long press (either button mode) makes a new code; the vault persists the counter
(vault.next_hotp) before the code is drawn.
"""

import buttons as b
import clock as _clock
import uiscreens

# Message screens: up to 8 lines of at most 15 characters (the burn-in shift needs 2 px).
_NOT_SET = (
    "Clock not set", "", "Connect USB and", "run on the PC:", "", "host_tools", "  time sync"
)  # fmt: skip
_STOPPED = (
    "Clock stopped", "", "Check the RTC", "coin cell, then", "", "host_tools", "  time sync"
)  # fmt: skip
_NO_RTC = (
    "RTC not found", "", "No DS3231 found", "on the I2C bus:", "check wiring", "(address 0x68)"
)  # fmt: skip
_NO_ACCOUNTS = (
    "No accounts", "", "Connect USB and", "run on the PC:", "", "host_tools", "  provision URI"
)  # fmt: skip
_VAULT_DAMAGED = ("Vault damaged", "", "No good copy on", "flash. Reset:", "", "host_tools wipe")
_STORAGE = (
    "Storage error", "", "Flash could not", "be read. Retry", "or reflash the", "firmware."
)  # fmt: skip


def draw(app, ui):
    if app.pending_clock is not None or app.backoff_note is not None:
        import appsec

        if appsec.draw(app, ui):
            return True
    if app.vault_error is not None:
        uiscreens.message(ui, _VAULT_DAMAGED if app.vault_error == "damaged" else _STORAGE)
        return True
    if app._notice is not None:
        uiscreens.message(ui, app._notice)
        return True
    if app._pin_asked():
        uiscreens.message(ui, _pinpad(app).lines(app.pin(), app._two))
        return True
    accounts = app.accounts
    if not accounts:
        uiscreens.message(ui, _NO_ACCOUNTS)
        return True
    if accounts[app.index].kind == "hotp":
        return False  # the app draws it (uiscreens.hotp), whatever the clock says
    clock = app.clock
    if clock.valid():
        return False  # a TOTP code: the app's own
    status = clock.status
    uiscreens.message(ui, _NOT_SET if status == _clock.NOT_SET else
                      _STOPPED if status == _clock.NOT_TICKING else _NO_RTC)  # fmt: skip
    return True


def press(app, ev, down):
    screen = app.screen
    if app.pending_clock is not None and screen.on:
        if not down:
            import appsec

            appsec.accept_clock(app)
    elif app._notice is not None:
        app._notice = None  # read: back to the token's screens
        screen.changed()
    elif app._pin_asked():
        _pin_button(app, ev)
    elif ev == b.LONG_0 or ev == b.LONG_1:
        _new_hotp(app, app.accounts[app.index])


def _pinpad(app):
    if app._pad is None:
        import pinpad

        app._pad = pinpad.PinPad()
    return app._pad


def _pin_button(app, ev):
    # The picker handles the press; once the PIN is right (or wiped) it is done.
    pad = _pinpad(app)
    done = pad.press(ev, app._two, app.pin(), app.screen)
    app.screen.changed()
    if done:
        app._pad = None
        app._notice = pad.notice  # the wipe says so until the next press
        app._vault_rev = -1  # the codes (or the empty vault) are drawn again


def _new_hotp(app, account):
    try:
        counter = app.vault.next_hotp(account)  # on flash before the code is shown
    except (ValueError, OSError) as e:
        app.screen.fail(e)
        return
    app._vault_rev = app.vault.revision  # our own change: keep the selection and code
    app._hotp_code = account.key().hotp(counter)
    app._view.counter_text = "#%d" % counter
    app.screen.changed()
