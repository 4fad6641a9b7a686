# Board: the virtual token (host_tools sim), the board contract of boards/README.md from models.
#
# The hardware (I2C bus with the SSD1306 model at 0x3C and the DS3231 model at 0x68, two
# buttons, the flash) is made by simboot.py at boot and lives in simlink.hardware(); this file
# only builds the contract on top of it, as an ESP32 board file does on machine.*.
# Beyond the contract, `hw` gives tests the models (hw.panel, hw.rtc, hw.i2c, hw.buttons).
#
# Differences from an ESP32 that the firmware can see:
#   - set_interrupt_char() also switches the terminal's ISIG flag: the unix port turns Ctrl-C
#     into SIGINT through the tty, and with kbd_intr(-1) alone a Ctrl-C would kill it.
#   - light_sleep() returns early on a button press; deep_sleep() hands over to the supervisor,
#     which restarts the firmware (main.py again, RAM lost) on a press or after ms.
#   - Used outside the sim (a firmware test importing board), there is no supervisor: the
#     RTC state is in memory, data_dir is a fresh host directory, deep_sleep() raises
#     SystemExit.

import os
import sys

import micropython
import simlink

NAME = "sim"

_ISIG = 0o1  # termios c_lflag bit on Linux
_LFLAG = 3
_ID_LEN = 6


def _mkdir(path):
    try:
        os.stat(path)
    except OSError:
        os.mkdir(path)


def _unique_id(state_dir):
    if state_dir is None:
        return b"\x5e\x00\x00\x00\x00\x01"
    path = state_dir + "/unique_id"
    try:
        with open(path, "rb") as f:
            uid = f.read()
        if len(uid) == _ID_LEN:
            return uid
    except OSError:
        pass
    uid = os.urandom(_ID_LEN)
    with open(path, "wb") as f:
        f.write(uid)
    return uid


class Board:
    NAME = NAME

    def __init__(self, hw):
        self.hw = hw
        self.i2c = hw.i2c
        self.buttons = hw.buttons
        if hw.flash is not None:
            self.data_dir = "/data"
        else:
            self.data_dir = "/tmp/simboard-%s" % "".join("%02x" % b for b in os.urandom(6))
        _mkdir(self.data_dir)
        self._uid = None
        self._display = None
        self._rtc = None
        # The firmware's waits for a quiet USB line before it sleeps (power.py, 30 s) and
        # before it unloads its protocol server (app.py, 12 s), when the sim was started with
        # --serial-quiet-ms / --server-idle-ms: tests of what follows need not wait them out
        # in real time. Unset (an ESP32 board, the default sim) the firmware's own apply.
        # (A port without os.getenv, like the RV32 test build, has no environment to ask.)
        getenv = getattr(os, "getenv", None)
        for name in ("serial_quiet_ms", "server_idle_ms"):
            ms = getenv("SIM_" + name.upper()) if getenv else None
            if ms:
                setattr(self, name, int(ms))

    def display(self):
        if self._display is None:
            from drivers.ssd1306 import SSD1306_I2C

            self._display = SSD1306_I2C(128, 64, self.i2c, simlink.PANEL_ADDR)
        return self._display

    def rtc(self):
        if self._rtc is None:
            from drivers.ds3231 import DS3231

            self._rtc = DS3231(self.i2c, simlink.RTC_ADDR)
        return self._rtc

    def serial(self):
        return sys.stdin.buffer, sys.stdout.buffer

    def set_interrupt_char(self, enabled):
        micropython.kbd_intr(3 if enabled else -1)
        self.hw.kbd_enabled = bool(enabled)
        try:
            import termios

            attrs = termios.tcgetattr(0)
        except (ImportError, OSError):
            return  # stdin is no terminal: no SIGINT can come from it
        if enabled:
            attrs[_LFLAG] |= _ISIG
        else:
            attrs[_LFLAG] &= ~_ISIG
        termios.tcsetattr(0, termios.TCSANOW, attrs)

    def light_sleep(self, ms):
        self.hw.light_sleep(ms)

    def deep_sleep(self, ms):
        self.hw.deep_sleep(ms)

    def unique_id(self):
        if self._uid is None:
            self._uid = _unique_id(self.hw.state_dir)
        return self._uid

    def random(self, n):
        return os.urandom(n)


def make():
    return Board(simlink.hardware())
