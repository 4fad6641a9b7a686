"""Sleep while nobody uses the token, as one component with its own task.

    p = power.Power(board, screen, resync)   # resync(): the clock must measure its phase again
    p.sleep_ms = config sleep_s * 1000       # 0: never sleep (a sleeping ESP32 misses USB input)
    p.serial_seen()                          # the protocol server was used: stay awake
    p.busy = True / False                    # around work a nap must not cut (an edge search)
    p.napping                                # True between light-sleep naps
    await p.run()

With the screen off, sleep_ms without input and _SERIAL_QUIET_MS without serial traffic:
board.light_sleep() in 1 s naps (a press wakes); after 6 x sleep_ms, board.deep_sleep() (a
board reboots on waking). Between naps the other tasks get a short turn, so the input task
sees a press that ended a nap.
"""

import time

from micropython import const

_LIGHT_NAP_MS = const(1000)
_BETWEEN_NAPS_MS = const(40)
_DEEP_FACTOR = const(6)  # deep sleep after this many times sleep_ms
_DEEP_TIMER_MS = const(86400000)  # a deep sleep also ends after a day (then sleeps again)
_SERIAL_QUIET_MS = const(30000)  # unless the board says (serial_quiet_ms: the sim's tests)


class Power:
    def __init__(self, board, screen, resync):
        self._board = board
        self._screen = screen
        self._resync = resync
        self.sleep_ms = 600000
        self.serial_at = time.ticks_ms()
        self.busy = False
        self.napping = False

    def serial_seen(self):
        self.serial_at = time.ticks_ms()

    def _input_pending(self):
        import select

        try:
            reader = self._board.serial()[0]
            p = select.poll()
            p.register(reader, select.POLLIN)
            return bool(p.poll(0))
        except Exception:  # noqa: BLE001 - unknown stream: assume busy
            return True

    async def run(self):
        import asyncio

        board = self._board
        screen = self._screen
        quiet_ms = getattr(board, "serial_quiet_ms", _SERIAL_QUIET_MS)
        while True:
            await asyncio.sleep_ms(1000)
            # Nap while the screen is off, no serial traffic came for a while and nothing
            # waits to be read.
            while not screen.on and self.sleep_ms:
                now = time.ticks_ms()
                if time.ticks_diff(now, self.serial_at) < quiet_ms:
                    break
                if self._input_pending():
                    break
                idle = time.ticks_diff(now, screen.input_at)
                try:
                    if idle >= self.sleep_ms * _DEEP_FACTOR:
                        board.deep_sleep(_DEEP_TIMER_MS)  # a device reboots on waking
                    elif idle >= self.sleep_ms:
                        if self.busy:
                            break  # never nap inside an edge measurement
                        self.napping = True  # until the naps end, no RTC checks
                        board.light_sleep(_LIGHT_NAP_MS)
                        self._resync()  # measure the phase again before trusting it
                    else:
                        break
                except Exception as e:  # noqa: BLE001 - a board without sleep keeps running
                    print("token: sleep: %s: %s" % (type(e).__name__, e))
                    break
                await asyncio.sleep_ms(_BETWEEN_NAPS_MS)
            self.napping = False
