# Board: a generic ESP32 DevKit (ESP32-WROOM-32) wired to an SSD1306 OLED and a DS3231 module.
#
# Deployed to the device as /board.py (`host_tools deploy --board esp32_devkit`); the contract
# is in boards/README.md and the wiring in docs/hardware.md:
#   I2C bus 0 at 400 kHz: SDA GPIO21, SCL GPIO22 (the DevKit's usual I2C pins), OLED at 0x3C,
#   DS3231 at 0x68 (a ZS-042 module also shows its EEPROM at 0x57).
#   Button 1 (next): BOOT, GPIO0, active low with the DevKit's own pull-up; enough on its own.
#   Button 2 (previous, optional): a push button from GPIO27 to GND; set _TWO_BUTTONS to 1
#   below before deploying. Both pins are RTC GPIOs, so either press wakes the chip from sleep.
# Only documented MicroPython ESP32 APIs; `make lint` checks this file against the ESP32 stubs.

import os
import sys

import esp32
import machine
import micropython
from micropython import const

NAME = "esp32_devkit"

_I2C_ID = const(0)
_SDA = const(21)
_SCL = const(22)
_I2C_FREQ = const(400_000)
_OLED_ADDR = const(0x3C)
_OLED_WIDTH = const(128)
_OLED_HEIGHT = const(64)
_RTC_ADDR = const(0x68)
_BUTTON_NEXT = const(0)
_BUTTON_PREV = const(27)
_TWO_BUTTONS = const(0)  # 1 when a second button is wired to GPIO27
_DATA_DIR = "/data"


class Button:
    """A push button to GND on a pin with a pull-up: pressed while the pin reads 0."""

    def __init__(self, gpio):
        self.gpio = gpio
        self.pin = machine.Pin(gpio, machine.Pin.IN, machine.Pin.PULL_UP)

    def pressed(self):
        return self.pin.value() == 0

    def restore(self):
        # A sleep wake source turns the pad into an RTC IO; make it a plain input again.
        self.pin.init(machine.Pin.IN, machine.Pin.PULL_UP)


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

    def _arm_wake(self):
        # ext0 watches one RTC GPIO; ext1 with a single pin and "all low" watches the other.
        buttons = self.buttons
        esp32.wake_on_ext0(buttons[0].pin, esp32.WAKEUP_ALL_LOW)
        if len(buttons) > 1:
            esp32.wake_on_ext1((buttons[1].pin,), esp32.WAKEUP_ALL_LOW)

    def light_sleep(self, ms):
        self._arm_wake()
        machine.lightsleep(ms)
        for button in self.buttons:
            button.restore()

    def deep_sleep(self, ms):
        self._arm_wake()
        machine.deepsleep(ms)

    def unique_id(self):
        return machine.unique_id()

    def random(self, n):
        return os.urandom(n)


def make():
    return Board()
