# Fake hardware for the app-level firmware tests: a controllable tick counter, a DS3231-like
# RTC running on those ticks, a framebuf display recording what it was asked to do, buttons.
import time

import framebuf


class Ticks:
    """A ticks_ms() stand-in that moves only when told (sleep/advance). Starts close to the
    tick counter's wrap-around so every test also crosses it."""

    def __init__(self, start_before_wrap=1500):
        self._t = [time.ticks_add(0, -start_before_wrap)]
        t = self._t

        def ticks_ms():
            return t[0]

        def sleep_ms(ms):
            t[0] = time.ticks_add(t[0], ms)

        self.ticks_ms = ticks_ms
        self.sleep_ms = sleep_ms
        self.advance = sleep_ms


class RTC:
    """The DS3231 driver's surface, keeping UTC as ms relative to a ticks source."""

    def __init__(self, ticks_ms, unix_s, phase_ms=0):
        self._ticks = ticks_ms
        self._t0 = ticks_ms()
        self._ms0 = unix_s * 1000 + phase_ms  # RTC time (ms) at tick _t0
        self.osf = False
        self.present = True
        self.reads = 0
        self.writes = 0

    def now_ms(self):
        return self._ms0 + time.ticks_diff(self._ticks(), self._t0)

    def _check(self):
        if not self.present:
            raise OSError(19, "DS3231 at 0x68: no device")

    def days_seconds(self):
        self._check()
        self.reads += 1
        s = self.now_ms() // 1000
        return s // 86400, s % 86400  # small ints, as the driver returns (divmod would not)

    def time(self):
        self._check()
        return self.now_ms() // 1000

    def oscillator_stopped(self):
        self._check()
        return self.osf

    def clear_oscillator_stop(self):
        self._check()
        self.osf = False

    def set_time(self, unix_s):
        self._check()
        self.writes += 1
        self._t0 = self._ticks()
        self._ms0 = unix_s * 1000

    def shift(self, seconds):
        self._ms0 += seconds * 1000


class Display(framebuf.FrameBuffer):
    """The SSD1306 driver's surface without a bus: keeps the last frame shown."""

    def __init__(self, width=128, height=64):
        self.width = width
        self.height = height
        self.buffer = bytearray(width * height // 8)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self.shown = bytearray(len(self.buffer))
        self.shows = 0
        self.on = True
        self.contrast_value = 255
        self.rotated = False

    def show(self, full=False):
        self.shown[:] = self.buffer
        self.shows += 1

    def poweroff(self):
        self.on = False

    def poweron(self):
        self.on = True

    def contrast(self, value):
        self.contrast_value = value

    def invert(self, on):
        pass

    def rotate(self, on):
        self.rotated = on


class Button:
    def __init__(self):
        self.down = False

    def pressed(self):
        return self.down
