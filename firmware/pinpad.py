"""The PIN picker on the panel: digits chosen with one button or two.

    pad = pinpad.PinPad()
    done = pad.press(ev, two, p, screen)   # a buttons event; p: pin.Pin. Once the PIN is
                                 # complete it is checked (p.enter; the screen shows
                                 # "Checking..." meanwhile): True when that ended the picker
                                 # (right PIN, or the wipe: pad.notice then says so)
    pad.lines(p, two)            # the screen: ui.message(lines)

One button: a short press shows the next value, a long press accepts it. Two buttons: button 0
shows the next value (a long press the previous one), button 1 accepts. The values of the
first four positions are 0..9; from the fifth on, "OK" comes first: accepting it ends the PIN
(4 to 8 digits; the eighth ends it by itself). Entered digits show as '*', the value being
chosen in clear (someone watching sees one digit at a time, as on a keypad).

The screen shows the position, the tries left before the token wipes itself, the wrong PINs
counted so far, and the delay before the next try is checked. Imported only while a PIN is
asked for.
"""

import buttons as b
from micropython import const

_WIPED = (
    "Token wiped", "", "10 wrong PINs", "in a row: every", "account and the", "PIN erased.",
    "", "Press a button"
)
_OK = const(10)
_MIN = const(4)
_MAX = const(8)


class PinPad:
    def __init__(self):
        self.reset()

    def reset(self):
        self._digits = ""
        self._value = 0
        self.note = ""  # the last try's result, shown until the next press
        self.notice = None  # a whole screen to show after the picker (the wipe)
        self.checking = False

    def _start(self):
        # A new position starts at 0; from the fifth on at OK.
        self._value = _OK if len(self._digits) >= _MIN else 0

    def _step(self, d):
        if len(self._digits) >= _MIN:
            self._value = (self._value + d) % 11  # 0..9, OK
        else:
            self._value = (self._value + d) % 10 if self._value != _OK else 0

    def press(self, ev, two, p, screen):
        """Handle a button event; check the PIN once complete. True if the picker is done."""
        text = self._key(ev, two)
        if text is None:
            return False
        import pin

        if not pin.valid(text):
            self.result("4 to 8 digits")
            return False
        if p.wait_s():
            self.result("Not yet")
            return False
        self.checking = True
        screen.render()  # "Checking...": the key derivation takes a while
        try:
            result = p.enter(text)
        finally:
            self.checking = False
        if result == pin.RIGHT:
            return True
        if result == pin.WIPED:
            self.notice = _WIPED
            return True
        self.result("Wrong PIN" if result == pin.WRONG else "Not yet")
        return False

    def _key(self, ev, two):
        # The PIN typed so far once it is complete, else None.
        if ev == b.DOWN_0 or ev == b.DOWN_1:
            return None
        self.note = ""
        if two:
            if ev == b.SHORT_0:
                self._step(1)
                return None
            if ev == b.LONG_0:
                self._step(-1)
                return None
            accept = ev == b.SHORT_1 or ev == b.LONG_1
        else:
            if ev == b.SHORT_0:
                self._step(1)
                return None
            accept = ev == b.LONG_0
        if not accept:
            return None
        if self._value == _OK:
            return self._done()
        self._digits += "0123456789"[self._value]
        if len(self._digits) >= _MAX:
            return self._done()
        self._start()
        return None

    def _done(self):
        text = self._digits
        self._digits = ""
        self._value = 0
        return text

    def result(self, note):
        self.note = note
        self._start()

    def lines(self, pin, two):
        n = len(self._digits)
        wait = pin.wait_s()
        shown = "*" * n + ("OK" if self._value == _OK else "0123456789"[self._value])
        if self.checking:
            status = "Checking..."
        elif wait:
            status = "Wait %d s" % wait
        else:
            status = "Digit %d of 4-8" % (n + 1)
        return (
            "Enter PIN",
            "",
            " " + shown,
            status,
            self.note,
            "Wrong PINs: %d" % pin.failures,
            "Tries left: %d" % pin.tries_left,
            "B1:+1  B2:OK" if two else "tap:+1 hold:OK",
        )
