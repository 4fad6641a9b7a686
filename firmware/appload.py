"""The app's state loaded into it: at boot, and again when the settings or the vault changed
(a host's command). Imported for that, then dropped (app.App.start(), App.refresh()): the
idle token does not hold this code.

    appload.start(app)      # display, clock, screen, power, buttons, settings, vault, first frame
    appload.refresh(app)    # new settings and a changed vault, each if its revision moved
"""

import gc
import time


def start(app):
    """Everything up to the first frame, as fast as possible (no phase search yet): a missing
    RTC, a damaged vault or flash becomes a screen, never a crash."""
    t0 = time.ticks_ms()
    board = app.board
    import buttons
    import clock
    import config
    import power
    import screen
    import ui
    import vault

    gc.collect()  # what loading the modules left: the display's buffers need whole blocks
    app.display = _make_display(app)
    app._view = ui.View()
    rtc = None
    try:
        rtc = board.rtc()
    except Exception as e:  # noqa: BLE001
        app._log("rtc", e)
    c = app.clock = clock.Clock(rtc)
    c.read()
    app._clock_rev = c.revision
    app.screen = screen.Screen(app.display, c, app._draw_fn, app)
    app.power = power.Power(board, app.screen, app._resync)
    app.buttons = buttons.Buttons(board.buttons)
    app.config = config.Config(board.data_dir)
    apply_config(app)
    v = app.vault = vault.Vault(board.data_dir)
    try:
        v.load()
    except vault.VaultError as e:
        app._log("vault", e)
    except OSError as e:
        app._log("vault", e)
        app._storage_rev = v.revision  # until the vault changes again
    _factory_gesture(app)
    sync_accounts(app)
    app.screen.render()
    app.first_frame_ms = time.ticks_diff(time.ticks_ms(), t0)


def _make_display(app):
    # A MemoryError is not a missing panel: collect and try once more, and if the heap still
    # has no room, say so (log and INFO) instead of "no display".
    for attempt in (0, 1):
        try:
            return app.board.display()
        except MemoryError as e:
            app._log("display", e)
            if attempt:
                app.memory_note = "boot: display"
                return None
            gc.collect()
        except Exception as e:  # noqa: BLE001 - a token without a panel still serves USB
            app._log("display", e)
            return None
    return None


def _factory_gesture(app):
    # Every button held as the token starts: the factory reset gesture (factory.py).
    pins = app.board.buttons
    if not pins:
        return
    for pin in pins:
        try:
            if not pin.pressed():
                return
        except OSError:
            return
    import appsec

    app._rare = 1  # appsec and factory go at the first code frame (app._RARE_LOADED)
    appsec.factory_gesture(app)


def refresh(app):
    if app._cfg_rev != app.config.revision:
        apply_config(app)
    if app._vault_rev != app.vault.revision:
        sync_accounts(app)


def apply_config(app):
    c = app.config
    app._cfg_rev = c.revision
    app._preview_s = c.get("preview_s")
    app.power.sleep_ms = c.get("sleep_s") * 1000
    two = app.buttons is not None and app.buttons.count >= 2
    app._two = two and c.get("button_mode") != "one"
    s = app.screen
    s.contrast = c.get("contrast")
    s.timeout_ms = c.get("screen_timeout_s") * 1000
    rotate = c.get("rotate")
    d = s.display
    if d is not None:
        try:
            if not s.dimmed:  # a dimmed panel gets it when it lights up again
                d.contrast(s.contrast)
            if rotate != s.rotated:
                d.rotate(rotate)
                s.rotated = rotate
        except OSError as e:
            app._log("display", e)
    s.changed()


def sync_accounts(app):
    """The accounts as the vault has them now; the selection follows the account shown, or
    moves to one the host just added."""
    v = app.vault
    app._vault_rev = v.revision
    app._key = app._key_of = None  # built again for what is shown now
    old = app.accounts
    current = old[app.index] if app.index < len(old) else None
    try:
        accounts = v.accounts()
    except OSError as e:
        app._log("vault", e)
        app._storage_rev = v.revision
        accounts = ()
    if v.corrupt:
        app.vault_error = "damaged"
    elif v.revision == app._storage_rev:
        app.vault_error = "storage"
    else:
        app.vault_error = None
    app.accounts = accounts
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
        index = min(app.index, len(accounts) - 1) if accounts else 0
    app._select(index)
