"""The serial line from the user to the firmware, as an ESP32's UART receives it.

Input queues on the host's side of the cable and goes out at the line rate (`baud`, 8N1:
ten bit times per byte; 0: as fast as the firmware reads). It lands in a receive ring of
`rx_buffer` bytes (0: unlimited): what arrives while the firmware has that many unread is
dropped and counted, so a protocol without flow control fails as on a board, at any baud.
A Ctrl-C while the firmware runs code is taken out before the ring and goes over the side
channel; input that arrives while the firmware sleeps is lost; input that arrives while it
boots is held (what fits in the ring) until it reads.

Everything the line needs from the rest of the sim comes in through two small interfaces
and a Timers on an injected clock, so it runs in unit tests without a process or a pty.
"""

from __future__ import annotations

import logging
from typing import Protocol

from host_tools.sim.timers import Timers

log = logging.getLogger(__name__)

CTRL_C = 3
BURST_S = 0.002  # an idle line may send this much time's worth of bytes at once
CATCH_UP_S = 0.02  # a busy line makes up at most this much lateness of the loop (see _pump)
RETRY_S = 0.002  # how soon a line with bytes left tries again
INTERRUPT_FALLBACK_S = 0.1  # then a Ctrl-C the firmware did not take goes in as SIGINT
STALL_MAX_S = 0.25  # longest the line waits for a runnable firmware to read (see _stall)


class Uart(Protocol):
    """The firmware's end of the line (ptys.FirmwareTty)."""

    def unread(self) -> int: ...

    def isig(self) -> bool: ...

    def write(self, data: bytes) -> int: ...


class Receiver(Protocol):
    """What the line asks about the firmware (the supervisor answers)."""

    def reading(self) -> bool:
        """The firmware has booted and reads its UART."""
        ...

    def asleep(self) -> bool:
        """Light or deep sleep: the UART is clock-gated."""
        ...

    def can_interrupt(self) -> bool:
        """The side channel is up and the firmware runs: a Ctrl-C can go over it."""
        ...

    def interrupt(self) -> None:
        """Send a Ctrl-C over the side channel (raised at the next hardware access)."""
        ...

    def runnable(self) -> bool:
        """The firmware process is on a CPU or waiting for one (busy, not reading yet)."""
        ...


class SerialLine:
    def __init__(
        self, uart: Uart, receiver: Receiver, timers: Timers, baud: int, rx_buffer: int
    ) -> None:
        self.uart = uart
        self.receiver = receiver
        self.timers = timers
        self.rate = baud / 10  # bytes per second; 0: unpaced
        self.rx_buffer = rx_buffer
        self.rx_dropped = 0
        self.rx_dropped_asleep = 0
        self._held = bytearray()  # input that arrived while the firmware booted
        self._queue = bytearray()  # input on its way down the line
        self._line_clock = 0.0  # when the line finished (or will finish) sending
        self._pump_scheduled = False
        self._stall_since: float | None = None
        self._intr_pending = False  # a Ctrl-C sent over the side channel, not yet taken
        self._intr_gen = 0

    # --- events --------------------------------------------------------------------------------

    def from_user(self, data: bytes) -> None:
        """The user wrote data to the port."""
        if self.receiver.asleep():
            # A sleeping ESP32's UART is clock-gated: what arrives meanwhile is lost.
            self.rx_dropped_asleep += len(data)
            return
        if not self.receiver.reading():
            # Nothing reads the UART while the board boots: keep what fits in the ring.
            room = self.rx_buffer - len(self._held) if self.rx_buffer else len(data)
            keep = data[: max(room, 0)]
            self._held += keep
            self.rx_dropped += len(data) - len(keep)
            return
        self._send(data)

    def firmware_reading(self) -> None:
        """The firmware booted: what was held goes down the line."""
        if self._held:
            data, self._held = bytes(self._held), bytearray()
            self._send(data)

    def interrupt_taken(self) -> None:
        """The firmware raised the Ctrl-C sent over the side channel."""
        self._intr_pending = False
        self._schedule(0)

    def firmware_gone(self) -> None:
        """The firmware process ended: no Ctrl-C is pending in it any more."""
        self._intr_pending = False

    @property
    def queued(self) -> int:
        """Bytes on the line, not yet received."""
        return len(self._queue)

    # --- the line ------------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        if not self._queue and self.rate:
            # The line was idle: it starts now, with a burst of at most BURST_S.
            self._line_clock = max(self._line_clock, self.timers.clock() - BURST_S)
        self._queue += data
        self._pump()

    def _schedule(self, delay: float) -> None:
        if not self._pump_scheduled:
            self._pump_scheduled = True
            self.timers.add(delay, self._pump)

    def _pump(self) -> None:
        self._pump_scheduled = False
        if not self._queue:
            return
        if self._intr_pending:
            if self.uart.isig():
                self._schedule(RETRY_S)  # the firmware has not taken the Ctrl-C yet
                return
            self._intr_pending = False  # it reached the REPL (or disabled Ctrl-C)
        rate = self.rate
        if rate:
            # A busy line sends what its rate allows since the last byte went, so a pump
            # that runs late (a loaded host) keeps the rate; but never more than CATCH_UP_S
            # worth at once, well below the ring's size at 115200 baud.
            now = self.timers.clock()
            self._line_clock = max(self._line_clock, now - CATCH_UP_S)
            n = int((now - self._line_clock) * rate)
            if n <= 0:
                self._schedule(1 / rate)
                return
        else:
            n = len(self._queue)
        chunk = bytes(self._queue[:n])
        n = self._receive(chunk)
        del self._queue[:n]
        if rate:
            self._line_clock += n / rate
        if self._queue:
            self._schedule(RETRY_S)

    # --- the UART ------------------------------------------------------------------------------

    def _receive(self, data: bytes) -> int:
        """The UART receives data. Returns how many bytes were consumed (passed on or
        dropped); the others wait on the line.

        A Ctrl-C while the firmware runs code (its tty has ISIG) and the side channel is up
        goes to the firmware as an "interrupt" message, raised as KeyboardInterrupt at its
        next hardware access: the unix port raises SIGINT's KeyboardInterrupt
        asynchronously, anywhere (inside littlefs, mid-way through a send), where a board
        raises it between bytecodes. The line holds what follows until the firmware took
        it, or INTERRUPT_FALLBACK_S passed and the byte went in as SIGINT after all."""
        isig = self.uart.isig()
        cut = len(data)
        if isig and self.receiver.can_interrupt():
            i = data.find(bytes([CTRL_C]))
            if i >= 0:
                cut = i
        used = self._to_ring(data[:cut], isig)
        if used == cut < len(data):
            self._interrupt()
            used += 1
        return used

    def _interrupt(self) -> None:
        self._intr_pending = True
        self._intr_gen += 1
        gen = self._intr_gen
        self.receiver.interrupt()

        def fallback() -> None:
            if self._intr_pending and self._intr_gen == gen:
                self._intr_pending = False
                if self.uart.isig():
                    log.info("Ctrl-C not taken at a hardware access: sent as SIGINT")
                    self._write([CTRL_C])
                self._schedule(0)

        self.timers.add(INTERRUPT_FALLBACK_S, fallback)

    def _to_ring(self, data: bytes, isig: bool) -> int:
        """Hand the firmware what fits in the ring buffer, drop the rest (see _stall)."""
        if not self.rx_buffer:
            try:
                return self.uart.write(data) if data else 0
            except BlockingIOError:
                return 0  # the pty is full: the rest waits on the line
        room = self.rx_buffer - self.uart.unread()
        if room > 0:
            self._stall_since = None  # the firmware read something: it is not stuck
        out = bytearray()
        used = 0
        for b in data:
            if b == CTRL_C and isig:
                out.append(b)  # taken out before the ring buffer, as the ESP32 UART does
            elif room > 0:
                out.append(b)
                room -= 1
            elif self._stall():
                break
            else:
                self.rx_dropped += 1
            used += 1
        if out:
            self._write(out)
        return used

    def _write(self, data: bytes | bytearray | list[int]) -> None:
        try:
            self.uart.write(bytes(data))
        except BlockingIOError:
            self.rx_dropped += len(data)

    def _stall(self) -> bool:
        """Whether the line should wait (rather than drop) while the ring is full.

        The firmware's process may be runnable but not scheduled yet (a loaded host): a
        board's CPU would already be reading. Wait for it, at most STALL_MAX_S from the first
        full ring, and never for a firmware that sleeps or blocks elsewhere."""
        now = self.timers.clock()
        if self._stall_since is None:
            self._stall_since = now
        if now - self._stall_since >= STALL_MAX_S:
            return False
        return self.receiver.runnable()
