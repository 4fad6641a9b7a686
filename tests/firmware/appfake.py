# The fake board and helpers of the app tests (test_app.py, test_app_stops.py: two modules,
# one process each: their apps and firmware imports within an ESP32-sized heap).
import time

import app as appmod
import buttons
import fsutil
import vault
from fakes import RTC, Button, Display

SEED20 = b"12345678901234567890"
SEED32 = b"12345678901234567890123456789012"
SEED64 = SEED20 * 3 + b"1234"
# RFC 6238 Appendix B (8 digits; the 6/7-digit codes are the low digits of the same value)
RFC6238 = {
    1111111109: {"sha1": "07081804", "sha256": "68084774", "sha512": "25091201"},
    1234567890: {"sha1": "89005924", "sha256": "91819424", "sha512": "93441116"},
    2000000000: {"sha1": "69279037", "sha256": "90698825", "sha512": "38618901"},
}
RFC4226 = ("755224", "287082", "359152", "969429", "338314")
SHORT = buttons.SHORT_0
LONG = buttons.LONG_0
DOWN = buttons.DOWN_0
PREV_SHORT = buttons.SHORT_1


class Board:
    NAME = "fake"

    def __init__(self, data_dir, unix=1111111109, phase_ms=0, nbuttons=2, rtc=True):
        self.data_dir = data_dir
        self.i2c = None
        self.buttons = tuple(Button() for _ in range(nbuttons))
        self.fake_rtc = RTC(time.ticks_ms, unix, phase_ms) if rtc else None
        self.panel = Display()
        self.sleeps = []

    def display(self):
        return self.panel

    def rtc(self):
        if self.fake_rtc is None:
            raise OSError(19, "DS3231 at 0x68: no device")
        return self.fake_rtc

    def serial(self):
        raise OSError(19, "no serial in this test")

    def light_sleep(self, ms):
        self.sleeps.append(("light", ms))

    def deep_sleep(self, ms):
        self.sleeps.append(("deep", ms))


def make(accounts=(), **kw):
    d = fsutil.tmpdir("app")
    v = vault.Vault(d)
    for a in accounts:
        v.add(*a[:3], **a[3]) if len(a) > 3 else v.add(*a)
    b = Board(d, **kw)
    a = appmod.App(b)
    a.start()
    return b, a


def shown(b):
    # A bytearray: panelread reads it as it is (a bytes frame is copied again per check, 1 KB
    # more in an ESP32-sized heap).
    return bytearray(b.panel.shown)


def rfc_account(alg="sha1", digits=8, period=30, name="acct"):
    seed = {"sha1": SEED20, "sha256": SEED32, "sha512": SEED64}[alg]
    return ("RFC", name, seed, {"algorithm": alg, "digits": digits, "period": period})
