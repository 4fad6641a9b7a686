# Board: Heltec WiFi Kit 32 (V1/V2, ESP32-D0WDQ6) with its built-in 128x64 SSD1306 OLED, plus a
# DS3231 module.
#
# Deployed to the device as /board.py (`host_tools deploy --board heltec_wifi_kit_32`); the
# contract is in boards/README.md and the wiring in docs/hardware.md. Pins as in Heltec's own
# board definition (variants/heltec_wifi_kit_32/pins_arduino.h: SDA_OLED 4, SCL_OLED 15,
# RST_OLED 16, KEY_BUILTIN 0):
#   I2C bus 0 at 400 kHz: SDA GPIO4, SCL GPIO15, wired to the OLED (0x3C) on the board. The
#   DS3231 module (0x68) goes on the same bus through the GPIO4/GPIO15 header pins: one bus,
#   and GPIO21/22 stay free (GPIO21 is the V2's Vext switch).
#   OLED reset: GPIO16, active low; the driver pulses it before the init sequence.
#   Button (next; a long press is previous): PRG, GPIO0, active low with the board's pull-up.
# Not for the WiFi Kit 32 V3 (ESP32-S3: different pins). Only documented MicroPython ESP32
# APIs; `make lint` checks this file against the ESP32 stubs.

import os
import sys

import esp32
import machine
import micropython
from micropython import const

NAME = "heltec_wifi_kit_32"

_I2C_ID = const(0)
_SDA = const(4)
_SCL = const(15)
_I2C_FREQ = const(400_000)
_OLED_ADDR = const(0x3C)
_OLED_WIDTH = const(128)
_OLED_HEIGHT = const(64)
_OLED_RESET = const(16)
_RTC_ADDR = const(0x68)
_BUTTON_NEXT = const(0)
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
        self.buttons = (Button(_BUTTON_NEXT),)
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

            reset = machine.Pin(_OLED_RESET, machine.Pin.OUT, value=1)
            self._display = SSD1306_I2C(
                _OLED_WIDTH, _OLED_HEIGHT, self.i2c, _OLED_ADDR, False, reset
            )
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
        # ext0 watches one RTC GPIO (GPIO0 is one) and wakes light and deep sleep alike.
        esp32.wake_on_ext0(self.buttons[0].pin, esp32.WAKEUP_ALL_LOW)

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
