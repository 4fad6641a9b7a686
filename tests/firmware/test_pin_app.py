# The PIN on the token's panel and buttons (app.py, pinpad.py) on the fake board: no code
# until the PIN is entered, with one button and with two; the screen timeout asks again; wrong
# PINs are counted and shown; the tenth in a row wipes the token and says so.
import time

import app as appmod
import buttons
import fsutil
import mptest
import panelread
import pin
import vault
from fakes import RTC, Button, Display

SEED20 = b"12345678901234567890"

# RFC 6238 Appendix B, SHA1, 8 digits, t = 1234567890: the start of a 30 s step, so slow
# interpreters (RV32 in QEMU checks a PIN in about a second) see the same code throughout.
CODE = "89005924"
SHORT = buttons.SHORT_0
LONG = buttons.LONG_0


class Board:
    # The fake board of test_app.py, reduced to what these tests use (a test module cannot
    # import another on a device: device-test copies only helpers beside the one it runs).
    NAME = "fake"

    def __init__(self, data_dir, nbuttons=1):
        self.data_dir = data_dir
        self.i2c = None
        self.buttons = tuple(Button() for _ in range(nbuttons))
        self.fake_rtc = RTC(time.ticks_ms, 1234567890, 0)
        self.panel = Display()

    def display(self):
        return self.panel

    def rtc(self):
        return self.fake_rtc

    def serial(self):
        raise OSError(19, "no serial in this test")

    def light_sleep(self, ms):
        pass

    def deep_sleep(self, ms):
        pass


def shown(b):
    # A bytearray: panelread reads it as it is (a bytes frame is copied again per check, 1 KB
    # more in an ESP32-sized heap).
    return bytearray(b.panel.shown)


class Clock:
    # Stands for the time module in pin.py (its delays run on time.time()), from before the
    # app's first frame: that frame already asks how long to wait.
    t = 5000

    def __call__(self):
        return self.t

    def time(self):
        return self.t


def make(code="1234", nbuttons=1, accounts=1):
    d = fsutil.tmpdir("pinapp")
    v = vault.Vault(d)
    for i in range(accounts):
        v.add("RFC", "acct%d" % i, SEED20, digits=8)
    if code:
        pin.Pin(v, d).set(code)
    b = Board(d, nbuttons=nbuttons)
    clock = Clock()
    pin.time = clock
    a = appmod.App(b)
    a.start()
    return b, a, clock


def refresh(a):
    a.refresh()
    a.screen.render()


def enter(a, code, two=False):
    """Type code with the buttons: per digit, that many 'next' presses (one more from the
    fifth position, which starts on OK), then 'accept'; then accept the OK (a PIN of 8 digits
    ends by itself)."""
    nxt = buttons.SHORT_0
    ok = buttons.SHORT_1 if two else buttons.LONG_0
    for i, ch in enumerate(code):
        for _ in range(int(ch) + (1 if i >= 4 else 0)):
            a.on_button(nxt)
        a.on_button(ok)
    if len(code) < 8:
        a.on_button(ok)
    refresh(a)


def _no_key_built(a):
    # Neither the vault's cache of built keys nor the app (which holds the shown account's
    # key itself) keeps a key made from a sealed secret.
    return a._key is None and not [p for p in vault._keys if p[0] is a.vault.accounts()[0]]


def test_a_pin_protected_token_shows_no_code_until_the_pin_is_entered():
    b, a, clock = make("1234")
    f = shown(b)
    assert panelread.code(f) is None
    assert panelread.has_text(f, "Enter PIN", ink=0)
    assert panelread.has_text(f, "Tries left: 10")
    assert panelread.has_text(f, "Wrong PINs: 0")
    assert _no_key_built(a)
    enter(a, "1234")
    assert panelread.code(shown(b)) == CODE
    assert not a._pin_asked()


def test_two_buttons_step_with_one_and_accept_with_the_other():
    b, a, clock = make("90817263", nbuttons=2)
    enter(a, "90817263", two=True)
    assert panelread.code(shown(b)) == CODE


def test_the_picker_shows_the_position_and_masks_entered_digits():
    b, a, clock = make("1234")
    a.on_button(SHORT)
    a.on_button(SHORT)
    refresh(a)
    assert panelread.has_text(shown(b), " 2") and panelread.has_text(shown(b), "Digit 1 of 4-8")
    a.on_button(LONG)
    refresh(a)
    assert panelread.has_text(shown(b), " *0") and panelread.has_text(shown(b), "Digit 2 of 4-8")
    for _ in range(3):
        a.on_button(LONG)
    refresh(a)
    # Four digits in: the fifth position starts on OK.
    assert panelread.has_text(shown(b), " ****OK")


def test_the_screen_timeout_locks_again():
    b, a, clock = make("1234")
    enter(a, "1234")
    assert panelread.code(shown(b)) == CODE
    a.screen.off()  # the timeout
    assert not a.vault.unlocked and _no_key_built(a)
    a.on_button(buttons.DOWN_0)  # wakes: the PIN again, no code
    f = shown(b)
    assert panelread.code(f) is None and panelread.has_text(f, "Enter PIN", ink=0)
    enter(a, "1234")
    assert panelread.code(shown(b)) == CODE


def test_a_wrong_pin_is_counted_shown_and_delays_the_next_try():
    b, a, clock = make("1234")
    enter(a, "4321")
    f = shown(b)
    assert panelread.code(f) is None
    assert panelread.has_text(f, "Wrong PIN")
    assert panelread.has_text(f, "Wrong PINs: 1") and panelread.has_text(f, "Tries left: 9")
    assert panelread.has_text(f, "Wait 1 s")
    enter(a, "1234")  # during the delay: not checked, not counted
    assert panelread.code(shown(b)) is None and a.pin().failures == 1
    clock.t += 1
    refresh(a)
    assert not panelread.has_text(shown(b), "Wait")
    enter(a, "1234")
    assert panelread.code(shown(b)) == CODE and a.pin().failures == 0


def test_the_count_survives_a_reset():
    b, a, clock = make("1234")
    enter(a, "0000")
    clock.t += 1
    enter(a, "0001")
    # A reset: a new app on the same flash.
    a2 = appmod.App(b)
    a2.start()
    refresh(a2)
    f = shown(b)
    assert panelread.has_text(f, "Wrong PINs: 2") and panelread.has_text(f, "Tries left: 8")
    assert panelread.has_text(f, "Wait 2 s")  # the delay starts again in full at boot


def test_the_tenth_wrong_pin_wipes_the_token_and_says_so():
    b, a, clock = make("1234", accounts=3)
    for i in range(9):
        enter(a, "9999")
        assert a.pin().failures == i + 1
        clock.t += 3600
    assert panelread.has_text(shown(b), "Tries left: 1")
    enter(a, "9999")
    f = shown(b)
    assert panelread.has_text(f, "Token wiped", ink=0)
    assert panelread.has_text(f, "10 wrong PINs")
    assert a.vault.count == 0 and not a.vault.protected
    import os

    assert os.listdir(b.data_dir) == []
    a.on_button(SHORT)  # read: the empty token's screen
    refresh(a)
    assert panelread.has_text(shown(b), "No accounts", ink=0)


def test_without_a_pin_the_pin_modules_are_not_loaded():
    import sys

    for name in ("pin", "pinpad", "vaultcrypt", "backoff"):
        sys.modules.pop(name, None)
    d = fsutil.tmpdir("nopin")
    v = vault.Vault(d)
    v.add("RFC", "acct", SEED20, digits=8)
    b = Board(d, nbuttons=1)
    a = appmod.App(b)
    a.start()
    a.screen.off()
    a.on_button(buttons.DOWN_0)
    assert panelread.code(shown(b)) == CODE
    for name in ("pin", "pinpad", "vaultcrypt", "backoff"):
        assert name not in sys.modules, name


def teardown_function():
    import time

    pin.time = time
    fsutil.cleanup()


if __name__ == "__main__":
    mptest.main(globals())
