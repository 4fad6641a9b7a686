# Board: an ESP32-C3 development board (ESP32-C3-DevKitM-1, ESP32-C3-MINI-1 module; RISC-V
# RV32IMC) wired to an SSD1306 OLED and a DS3231 module, with one or two push buttons.
#
# Deployed to the device as /board.py (`host_tools deploy --board esp32_c3_devkit`); the
# contract is in boards/README.md and the wiring in docs/hardware.md:
#   I2C bus 0 at 400 kHz: SDA GPIO6, SCL GPIO7, OLED at 0x3C, DS3231 at 0x68 (a ZS-042 module
#   also shows its EEPROM at 0x57).
#   Button 1 (next; a long press is previous): a push button from GPIO3 to GND.
#   Button 2 (previous, optional): a push button from GPIO4 to GND; set _TWO_BUTTONS to 1.
# Pins avoided: the strapping pins GPIO2, GPIO8 (also the board's RGB LED) and GPIO9 (BOOT),
# the USB pins GPIO18/19, UART0 GPIO20/21 (the USB-UART bridge and REPL), and the in-package
# flash pins GPIO12-17. The buttons are on GPIO0-5, the only pins that can wake a C3 from deep
# sleep. Only documented MicroPython ESP32 APIs; `make lint` checks this file against the
# ESP32 stubs.

import os
import sys

import esp32
import machine
import micropython
from micropython import const

NAME = "esp32_c3_devkit"

_I2C_ID = const(0)
_SDA = const(6)
_SCL = const(7)
_I2C_FREQ = const(400_000)
_OLED_ADDR = const(0x3C)
_OLED_WIDTH = const(128)
_OLED_HEIGHT = const(64)
_RTC_ADDR = const(0x68)
_BUTTON_NEXT = const(3)
_BUTTON_PREV = const(4)
_TWO_BUTTONS = const(0)  # 1 when a second button is wired to GPIO4
_POLL_MS = const(50)  # light-sleep slice between button checks (see light_sleep)
_DATA_DIR = "/data"


class Button:
    """A push button to GND on a pin with a pull-up: pressed while the pin reads 0."""

    def __init__(self, gpio):
        self.gpio = gpio
        self.pin = machine.Pin(gpio, machine.Pin.IN, machine.Pin.PULL_UP)

    def pressed(self):
        return self.pin.value() == 0


class Board:
    NAME = NAME

    def __init__(self):
        self.i2c = machine.I2C(
            _I2C_ID, scl=machine.Pin(_SCL), sda=machine.Pin(_SDA), freq=_I2C_FREQ
        )
        pins = (_BUTTON_NEXT, _BUTTON_PREV) if _TWO_BUTTONS else (_BUTTON_NEXT,)
        self.buttons = tuple(Button(gpio) for gpio in pins)
        self.data_dir = _DATA_DIR
        try:
            os.stat(_DATA_DIR)
        except OSError:
            os.mkdir(_DATA_DIR)
        self._display = None
        self._rtc = None

    def display(self):
        if self._display is None:
            from drivers.ssd1306 import SSD1306_I2C

            self._display = SSD1306_I2C(_OLED_WIDTH, _OLED_HEIGHT, self.i2c, _OLED_ADDR)
        return self._display

    def rtc(self):
        if self._rtc is None:
            from drivers.ds3231 import DS3231

            self._rtc = DS3231(self.i2c, _RTC_ADDR)
        return self._rtc

    def serial(self):
        return sys.stdin.buffer, sys.stdout.buffer

    def set_interrupt_char(self, enabled):
        micropython.kbd_intr(3 if enabled else -1)

    def _any_pressed(self):
        for button in self.buttons:
            if button.pressed():
                return True
        return False

    def _arm_wake(self):
        # The C3 has no ext0/ext1; its GPIO wake source is esp32.wake_on_gpio (GPIO0-5 for
        # deep sleep), which older MicroPython builds lack: then report False.
        wake_on_gpio = getattr(esp32, "wake_on_gpio", None)
        if wake_on_gpio is None:
            return False
        wake_on_gpio(tuple(b.pin for b in self.buttons), esp32.WAKEUP_ALL_LOW)
        return True

    def _poll_sleep(self, ms):
        # Without a wake source: light-sleep in short slices and look at the buttons in
        # between, so a press is still seen within _POLL_MS.
        left = ms
        while left > 0 and not self._any_pressed():
            step = _POLL_MS if left > _POLL_MS else left
            machine.lightsleep(step)
            left -= step

    def light_sleep(self, ms):
        if self._arm_wake():
            machine.lightsleep(ms)
        else:
            self._poll_sleep(ms)

    def deep_sleep(self, ms):
        if self._arm_wake():
            machine.deepsleep(ms)
        # No GPIO wake: sleep the same time awake-able, then reset, which is what waking from
        # deep sleep looks like to the firmware.
        self._poll_sleep(ms)
        machine.reset()

    def unique_id(self):
        return machine.unique_id()

    def random(self, n):
        return os.urandom(n)


def make():
    return Board()
