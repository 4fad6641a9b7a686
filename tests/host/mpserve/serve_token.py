# A token without hardware for host tests: the real protocol server and the real vault (on a
# directory given as argv[1]) behind a fake clock, config and display, serving the protocol on
# stdin/stdout. Run by tests/host/mptoken.py under the `micropython` interpreter.
#
#     micropython serve_token.py DATA_DIR [clock_offset_ms|unset]

import asyncio
import sys
import time

import framebuf
import server
import vault


class Clock:
    def __init__(self, offset):
        self.offset = offset  # None: never set

    def valid(self):
        return self.offset is not None

    def unix_ms(self):
        return time.time_ns() // 1000000 + self.offset

    def unix(self):
        return self.unix_ms() // 1000

    def set_unix_ms(self, ms):
        self.offset = ms - time.time_ns() // 1000000


class Config:
    NAMES = ("screen_timeout_s", "contrast", "rotate")

    def __init__(self):
        self.values = {"screen_timeout_s": 30, "contrast": 128, "rotate": False}

    def get(self, name):
        return self.values[name]

    def items(self):
        return tuple((n, self.values[n]) for n in self.NAMES)

    def set(self, name, value):
        if name == "contrast" and not 0 <= value <= 255:
            raise ValueError("contrast must be 0 to 255")
        self.values[name] = value


class Display(framebuf.FrameBuffer):
    def __init__(self):
        self.width = 128
        self.height = 64
        self.buffer = bytearray(1024)
        super().__init__(self.buffer, 128, 64, framebuf.MONO_VLSB)


class Token:
    FIRMWARE_VERSION = "test-harness"

    def __init__(self, directory, offset):
        self.vault = vault.Vault(directory)
        self.clock = Clock(offset)
        self.config = Config()
        self.display = Display()
        self.display.text("HARNESS", 0, 0, 1)
        self.changes = 0
        self._directory = directory
        self._pin = None

    @property
    def pin(self):
        # The device PIN's state, made when first used (as app.py's token does).
        if self._pin is None:
            import pin

            self._pin = pin.Pin(self.vault, self._directory)
        return self._pin

    def changed(self):
        self.changes += 1


def main():
    offset = None if len(sys.argv) < 3 or sys.argv[2] == "unset" else int(sys.argv[2])
    token = Token(sys.argv[1], offset)
    asyncio.run(server.serve(token, sys.stdin.buffer, sys.stdout.buffer))


main()
