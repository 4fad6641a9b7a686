# The app on a fake board: screens, codes against RFC 6238/4226 values, buttons, timeout,
# clock states, settings, HOTP persistence, and an allocation-free steady-state refresh.
import time

import app as appmod
import fsutil
import micropython
import mptest
import panelread
import vault
from appfake import (
    DOWN,
    LONG,
    PREV_SHORT,
    RFC4226,
    RFC6238,
    SEED20,
    SHORT,
    Board,
    make,
    rfc_account,
    shown,
)


def test_no_accounts_says_how_to_provision():
    b, a = make()
    f = shown(b)
    assert panelread.has_text(f, "No accounts", ink=0)
    assert panelread.has_text(f, "provision URI")
    assert panelread.code(f) is None
    assert a.first_frame_ms >= 0


def test_codes_match_rfc6238_for_6_7_8_digits_and_each_algorithm():
    for t, want in RFC6238.items():
        for alg in ("sha1", "sha256", "sha512"):
            for digits in (6, 7, 8):
                b, a = make([rfc_account(alg, digits)], unix=t)
                got = panelread.code(shown(b))
                assert got == want[alg][-digits:], (t, alg, digits, got)
                del b, a  # before the next app is made (an ESP32-sized heap holds one)


def test_labels_and_position_are_drawn():
    b, a = make([("GitHub", "alice", SEED20), ("", "solo", SEED20)])
    f = shown(b)
    assert panelread.has_text(f, "GitHub")
    assert panelread.has_text(f, "alice")
    assert panelread.has_text(f, "1/2")


def test_non_ascii_labels_are_readable():
    b, a = make([("Bänk", "zoë@例", SEED20)])
    f = shown(b)
    assert panelread.has_text(f, "Bank")
    assert panelread.has_text(f, "zoe@?")


def test_long_label_scrolls_to_its_end():
    name = "a.very.long.account.name@example.com"
    b, a = make([("Issuer", name, SEED20)])
    assert panelread.has_text(shown(b), name[:15])
    a.selected_at = time.ticks_add(time.ticks_ms(), -60000)  # as if shown for a while
    seen_end = False
    for s in range(0, 60):
        a.selected_at = time.ticks_add(time.ticks_ms(), -1000 * s)
        a.screen.render()
        if panelread.has_text(shown(b), name[-15:]):
            seen_end = True
            break
    assert seen_end


def test_countdown_bar_shrinks_and_preview_appears_in_the_last_seconds():
    # t = 1111111109 is 29 s into its period (1 s left): preview of the next code shown.
    b, a = make([rfc_account("sha1", 8)], unix=1111111109)
    f = shown(b)
    del b, a  # one app at a time: an ESP32-sized heap holds one with this harness
    # The preview is the code one second later (the next period), in small type.
    b2, a2 = make([rfc_account("sha1", 8)], unix=1111111110)
    code_next = panelread.code(shown(b2))
    del b2, a2
    assert panelread.has_text(f, code_next[:4]) and panelread.has_text(f, code_next[4:])
    # Early in a period: no preview, and a wider bar than late in the period.
    b3, a3 = make([rfc_account("sha1", 8)], unix=1111111111)  # 1 s into the period
    f3 = shown(b3)
    assert not panelread.has_text(f3, ">")

    def bar_width(frame):
        row = 45 + 1  # the bar's rows are 45..47 (+ the burn-in dy)
        best = 0
        for dy in (0, 1, 2):
            y = row + dy
            n = sum(1 for x in range(128) if frame[(y // 8) * 128 + x] >> (y % 8) & 1)
            best = max(best, n)
        return best

    assert bar_width(f3) > 100 > 10 > bar_width(f) > 0, (bar_width(f3), bar_width(f))


def test_preview_setting_zero_turns_it_off():
    d = fsutil.tmpdir("app")
    vault.Vault(d).add("RFC", "x", SEED20)
    import config

    config.Config(d).set("preview_s", 0)
    b = Board(d, unix=1111111109)
    a = appmod.App(b)
    a.start()
    assert not panelread.has_text(shown(b), ">")


def test_clock_not_set_shows_guidance_and_no_digits():
    b, a = make([rfc_account()], unix=1111111109)
    assert panelread.code(shown(b)) is not None
    b.fake_rtc.osf = True
    a.clock.read()
    a.screen.render()
    f = shown(b)
    assert panelread.code(f) is None
    assert panelread.has_text(f, "Clock not set", ink=0)
    assert panelread.has_text(f, "  time sync")


def test_missing_rtc_is_a_screen_not_a_crash():
    b, a = make([rfc_account()], rtc=False)
    f = shown(b)
    assert panelread.code(f) is None
    assert panelread.has_text(f, "RTC not found", ink=0)


def test_damaged_vault_is_a_screen_not_a_crash():
    d = fsutil.tmpdir("app")
    vault.Vault(d).add("A", "b", SEED20)
    for name in ("vault.bin",):
        data = bytearray(fsutil.read(d + "/" + name))
        data[30] ^= 0xFF
        fsutil.write(d + "/" + name, data)
    b = Board(d)
    a = appmod.App(b)
    a.start()
    f = shown(b)
    assert panelread.has_text(f, "Vault damaged", ink=0)
    assert panelread.code(f) is None


def test_unreadable_flash_is_a_screen_not_a_crash():
    d = fsutil.tmpdir("app")
    b = Board(d)
    a = appmod.App(b)
    real = vault.Vault.load

    def failing(self):
        real(self)
        raise OSError(5, "flash read failed")

    vault.Vault.load = failing
    try:
        a.start()
    finally:
        vault.Vault.load = real
    f = shown(b)
    assert panelread.has_text(f, "Storage error", ink=0)
    assert panelread.code(f) is None


def test_two_buttons_step_and_wrap():
    accts = [("A", "one", SEED20), ("B", "two", SEED20), ("C", "three", SEED20)]
    b, a = make(accts, nbuttons=2)
    seen = []
    for _ in range(4):
        a.on_button(SHORT)
        a.screen.render()
        seen.append(a.index)
    assert seen == [1, 2, 0, 1]
    a.on_button(PREV_SHORT)
    a.on_button(PREV_SHORT)
    a.screen.render()
    assert a.index == 2
    assert panelread.has_text(shown(b), "3/3")


def test_one_button_short_is_next_long_is_previous():
    accts = [("A", "one", SEED20), ("B", "two", SEED20), ("C", "three", SEED20)]
    b, a = make(accts, nbuttons=1)
    a.on_button(SHORT)
    assert a.index == 1
    a.on_button(LONG)
    a.on_button(LONG)
    assert a.index == 2


def test_button_mode_one_on_a_two_button_board_applies_live():
    accts = [("A", "one", SEED20), ("B", "two", SEED20)]
    b, a = make(accts, nbuttons=2)
    a.config.set("button_mode", "one")
    a.refresh()
    a.on_button(PREV_SHORT)  # button 1 is ignored in one-button mode
    assert a.index == 0
    a.on_button(LONG)
    assert a.index == 1


def test_timeout_turns_the_screen_off_and_a_press_only_wakes():
    b, a = make([("A", "one", SEED20), ("B", "two", SEED20)])
    a.screen.idle(time.ticks_add(a.screen.input_at, 29000))
    assert a.screen.on and b.panel.on
    a.screen.idle(time.ticks_add(a.screen.input_at, 30000))
    assert not a.screen.on and not b.panel.on
    a.on_button(DOWN)
    assert a.screen.on and b.panel.on
    assert a.index == 0
    # The whole press, through buttons.Buttons: its release must not step either.
    a.screen.off()
    pin = b.buttons[0]
    pin.down = True
    t = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t) < 120:
        ev = a.buttons.poll()
        if ev:
            a.on_button(ev)
        time.sleep_ms(5)
    pin.down = False
    t = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t) < 120:
        ev = a.buttons.poll()
        if ev:
            a.on_button(ev)
        time.sleep_ms(5)
    assert a.screen.on and a.index == 0


def test_timeout_setting_applies_live():
    b, a = make([("A", "one", SEED20)])
    a.config.set("screen_timeout_s", 5)
    a.refresh()
    a.screen.idle(time.ticks_add(a.screen.input_at, 5000))
    assert not a.screen.on


def test_contrast_and_rotation_apply_live():
    b, a = make([("A", "one", SEED20)])
    a.config.set("contrast", 17)
    a.config.set("rotate", True)
    a.refresh()
    assert b.panel.contrast_value == 17
    assert b.panel.rotated is True


def _run_power(a, ms):
    import asyncio

    async def go():
        task = asyncio.create_task(a.power.run())
        await asyncio.sleep_ms(ms)
        task.cancel()

    asyncio.run(go())
    # The cancelled task stays queued, holding the app, until the loop runs again: a clean
    # loop lets the app go (an ESP32-sized heap holds one at a time), as App.run() does.
    asyncio.new_event_loop()


def _idle_for(a, ms):
    past = time.ticks_add(time.ticks_ms(), -ms)
    a.screen.input_at = past
    a.power.serial_at = past
    a.power._input_pending = lambda: False


def test_idle_with_the_screen_off_light_sleeps_then_deep_sleeps():
    b, a = make([("A", "one", SEED20)])
    a.config.set("sleep_s", 10)
    a.refresh()
    a.screen.off()
    _idle_for(a, 31000)  # past sleep_s, and USB quiet for 30 s
    _run_power(a, 1200)
    assert b.sleeps and set(b.sleeps) == {("light", 1000)}, b.sleeps[:3]
    del b.sleeps[:]
    _idle_for(a, 61000)
    _run_power(a, 1200)
    assert b.sleeps and b.sleeps[0][0] == "deep", b.sleeps[:3]


def test_no_sleep_with_the_screen_on_recent_usb_traffic_or_sleep_s_zero():
    b, a = make([("A", "one", SEED20)])
    a.config.set("sleep_s", 10)
    a.refresh()
    _idle_for(a, 20000)
    _run_power(a, 1200)  # screen on
    a.screen.off()
    _idle_for(a, 20000)
    a.power.serial_at = time.ticks_ms()
    _run_power(a, 1200)  # USB traffic just now
    a.config.set("sleep_s", 0)
    a.refresh()
    a.screen.off()
    _idle_for(a, 3600000)
    _run_power(a, 1200)
    assert b.sleeps == [], b.sleeps[:3]


def test_a_board_may_shorten_the_wait_for_a_quiet_usb_line():
    # board.serial_quiet_ms (the sim's --serial-quiet-ms, for tests) replaces the 30 s.
    b, a = make([("A", "one", SEED20)])
    a.config.set("sleep_s", 10)
    a.refresh()
    a.screen.off()
    _idle_for(a, 20000)  # quiet for 20 s: not long enough for the firmware's own 30 s
    _run_power(a, 1200)
    assert b.sleeps == [], b.sleeps[:3]
    b.serial_quiet_ms = 5000
    _idle_for(a, 20000)
    _run_power(a, 1200)
    assert b.sleeps and set(b.sleeps) == {("light", 1000)}, b.sleeps[:3]


def test_hotp_long_press_persists_the_counter_before_showing_the_code():
    d = fsutil.tmpdir("app")
    v = vault.Vault(d)
    v.add("H", "counter", SEED20, kind="hotp", digits=6)
    b = Board(d)
    a = appmod.App(b)
    a.start()
    assert panelread.code(shown(b)) is None  # nothing until asked
    assert panelread.has_text(shown(b), "hold: code")
    for i in range(3):
        a.on_button(LONG)
        a.screen.render()
        assert panelread.code(shown(b)) == RFC4226[i]
        assert vault.Vault(d).accounts()[0].counter == i + 1  # on flash already


def test_hotp_code_hides_when_the_screen_sleeps():
    d = fsutil.tmpdir("app")
    vault.Vault(d).add("H", "c", SEED20, kind="hotp")
    b = Board(d)
    a = appmod.App(b)
    a.start()
    a.on_button(LONG)
    a.screen.off()
    a.screen.wake()
    assert panelread.code(shown(b)) is None


def test_a_host_added_account_is_selected_and_the_screen_wakes():
    b, a = make([("A", "one", SEED20)])
    a.screen.off()
    a.vault.add("New", "acct", SEED20)
    a.token.changed()
    a.refresh()
    assert a.index == 1
    a.screen.update()  # the screen task's step: wakes as the host asked
    assert a.screen.on
    assert panelread.has_text(shown(b), "New")


def test_steady_state_refresh_allocates_nothing():
    b, a = make([rfc_account("sha1", 6)], unix=1795000000)
    a.screen.render()
    micropython.heap_lock()
    try:
        n = 3
        while n:
            a.screen.render()
            n -= 1
    finally:
        micropython.heap_unlock()
    assert a.screen.fault is None, a.screen.fault
    assert panelread.code(shown(b)) is not None


def test_a_screen_task_step_on_a_code_screen_allocates_nothing():
    b, a = make([rfc_account("sha1", 6)], unix=1795000000)
    a.screen.update()
    micropython.heap_lock()
    try:
        a.screen.changed()
        a.screen.update()  # a redraw through the app's content
        a.screen.update()  # nothing to do
    finally:
        micropython.heap_unlock()
    assert a.screen.fault is None, a.screen.fault
    assert panelread.code(shown(b)) is not None


def test_message_screen_redraw_allocates_nothing():
    b, a = make()  # "No accounts"
    a.screen.render()
    micropython.heap_lock()
    try:
        a.screen.draw()
    finally:
        micropython.heap_unlock()
    assert panelread.has_text(bytes(b.panel.buffer), "No accounts", ink=0)


# What the code screen does not run: imported when needed, dropped once a code is drawn again.
_OFF_HOT_PATH = ("appload", "appscreens", "apptoken", "appsec", "pinpad", "factory",
                 "uiscreens", "screenmsg", "font_digits")  # fmt: skip


def _loaded_off_hot_path():
    import sys

    return [m for m in _OFF_HOT_PATH if m in sys.modules]


def _as_at_power_on():
    # The tests before ran other apps in this process: none of their modules is loaded on a
    # token that just started.
    import sys

    for m in _OFF_HOT_PATH:
        sys.modules.pop(m, None)


def test_the_code_screen_holds_no_module_of_the_other_screens():
    d = fsutil.tmpdir("app")
    v = vault.Vault(d)
    v.add("T", "totp", SEED20)
    v.add("H", "hotp", SEED20, kind="hotp")
    b = Board(d)
    a = appmod.App(b)
    _as_at_power_on()
    a.start()
    assert panelread.code(shown(b)) is not None
    assert _loaded_off_hot_path() == [], _loaded_off_hot_path()
    a.on_button(SHORT)  # the HOTP account: drawn with uiscreens only
    a.screen.render()
    assert panelread.has_text(shown(b), "hold: code")
    assert _loaded_off_hot_path() == ["uiscreens"], _loaded_off_hot_path()
    a.on_button(LONG)  # a new HOTP code: appscreens handles the press
    a.screen.render()
    assert panelread.code(shown(b)) == RFC4226[0]
    assert _loaded_off_hot_path() == ["uiscreens"], _loaded_off_hot_path()
    a.token.changed()  # the protocol server's view, made and dropped with it
    a.vault.delete(a.vault.accounts()[0])  # the host deletes the TOTP account...
    a.refresh()
    a.vault.add("T", "again", SEED20)  # ...and adds one: shown, as the host just added it
    a.refresh()
    a.screen.render()
    assert panelread.code(shown(b)) is not None and panelread.has_text(shown(b), "again")
    assert _loaded_off_hot_path() == [], _loaded_off_hot_path()


def test_an_hotp_account_is_shown_without_a_clock():
    d = fsutil.tmpdir("app")
    vault.Vault(d).add("H", "counter", SEED20, kind="hotp")
    b = Board(d, rtc=False)
    a = appmod.App(b)
    _as_at_power_on()
    a.start()
    assert panelread.has_text(shown(b), "hold: code")
    a.on_button(LONG)
    a.screen.render()
    assert panelread.code(shown(b)) == RFC4226[0]
    micropython.heap_lock()  # its frames need nothing but uiscreens: nothing loaded each second
    try:
        a.screen.render()
    finally:
        micropython.heap_unlock()
    assert a.screen.fault is None, a.screen.fault
    assert panelread.code(shown(b)) == RFC4226[0]
    assert _loaded_off_hot_path() == ["uiscreens"], _loaded_off_hot_path()


def test_a_message_screen_loads_its_modules_and_the_next_code_drops_them():
    _as_at_power_on()
    b, a = make()  # "No accounts"
    assert "appscreens" in _loaded_off_hot_path()
    a.vault.add("A", "one", SEED20)
    a.refresh()
    a.screen.render()
    assert panelread.code(shown(b)) is not None
    assert _loaded_off_hot_path() == [], _loaded_off_hot_path()


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
