"""The sim's serial line (host_tools.sim.serial_line) on a fake clock and a fake UART: line
pacing, the 260-byte receive ring (drops counted), Ctrl-C interception and its SIGINT
fallback, stalls, sleep and boot. No process, no pty, no sleeping."""

from __future__ import annotations

import pytest

from host_tools.sim.serial_line import (
    CTRL_C,
    INTERRUPT_FALLBACK_S,
    STALL_MAX_S,
    SerialLine,
)
from host_tools.sim.timers import Timers


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeUart:
    """The firmware's terminal: what was written, and how much of it the firmware read."""

    def __init__(self) -> None:
        self.received = bytearray()  # everything written to the firmware
        self.read_upto = 0  # how much of it the firmware has read
        self.isig_on = True
        self.capacity: int | None = None  # pty full beyond this many unread (rx_buffer 0)

    def unread(self) -> int:
        return len(self.received) - self.read_upto

    def isig(self) -> bool:
        return self.isig_on

    def write(self, data: bytes) -> int:
        if self.capacity is not None:
            room = self.capacity - self.unread()
            if room <= 0:
                raise BlockingIOError
            data = data[:room]
        self.received += data
        return len(data)

    def firmware_reads_all(self) -> None:
        self.read_upto = len(self.received)


class FakeFirmware:
    def __init__(self) -> None:
        self.is_reading = True
        self.is_asleep = False
        self.channel_up = True
        self.is_runnable = False
        self.interrupts = 0

    def reading(self) -> bool:
        return self.is_reading

    def asleep(self) -> bool:
        return self.is_asleep

    def can_interrupt(self) -> bool:
        return self.channel_up

    def interrupt(self) -> None:
        self.interrupts += 1

    def runnable(self) -> bool:
        return self.is_runnable


class Rig:
    def __init__(self, baud: int = 115200, rx_buffer: int = 260) -> None:
        self.clock = FakeClock()
        self.timers = Timers(self.clock)
        self.uart = FakeUart()
        self.fw = FakeFirmware()
        self.line = SerialLine(self.uart, self.fw, self.timers, baud=baud, rx_buffer=rx_buffer)

    def advance(self, seconds: float, step: float = 0.0005) -> None:
        """Let time pass, running timers as the supervisor's loop does."""
        end = self.clock.now + seconds
        while self.clock.now < end:
            self.clock.now = min(end, self.clock.now + step)
            self.timers.run_due()


def test_input_is_paced_at_the_baud_rate() -> None:
    rig = Rig(baud=115200)
    rig.fw.is_runnable = True
    rig.line.from_user(b"x" * 2000)
    # An idle line sends at most a 2 ms burst at once: 23 bytes at 11,520 bytes/s.
    assert len(rig.uart.received) == 23
    for _ in range(20):  # the firmware keeps reading: nothing is dropped
        rig.advance(0.01)
        rig.uart.firmware_reads_all()
    # 200 ms later about 0.2 s * 11,520 = 2,304 bytes could have gone: all 2,000 did.
    assert bytes(rig.uart.received) == b"x" * 2000
    assert rig.line.rx_dropped == 0


def test_pacing_rate_matches_the_line() -> None:
    rig = Rig(baud=9600)  # 960 bytes/s
    rig.line.from_user(b"y" * 5000)
    for _ in range(100):
        rig.advance(0.01)
        rig.uart.firmware_reads_all()
    sent = len(rig.uart.received)
    assert 940 <= sent <= 985, sent  # one second's worth (plus the first burst)
    assert rig.line.queued == 5000 - sent


@pytest.mark.parametrize("loop_step", [0.0005, 0.005, 0.015])
def test_a_late_loop_keeps_the_line_rate(loop_step: float) -> None:
    # The supervisor's loop runs timers late on a loaded host; the line still averages its
    # rate (it used to lose every bit of lateness beyond the 2 ms burst).
    rig = Rig(baud=115200)
    rig.line.from_user(b"r" * 20000)
    for _ in range(50):
        rig.advance(0.02, step=loop_step)
        rig.uart.firmware_reads_all()
    sent = len(rig.uart.received)
    assert 11520 * 0.97 <= sent <= 11520 * 1.01, sent
    assert rig.line.rx_dropped == 0


def test_unpaced_line_delivers_at_once() -> None:
    rig = Rig(baud=0)
    rig.line.from_user(b"z" * 200)
    assert bytes(rig.uart.received) == b"z" * 200
    assert rig.line.queued == 0


@pytest.mark.parametrize("baud", [115200, 0])
def test_ring_overflow_drops_and_counts(baud: int) -> None:
    # A firmware that does not read (asleep in time.sleep: not runnable) gets 260 bytes;
    # the rest is dropped as the ESP32's UART ring drops it, paced or not.
    rig = Rig(baud=baud)
    rig.line.from_user(b"a" * 1000)
    rig.advance(0.2)
    assert len(rig.uart.received) == 260
    assert rig.line.rx_dropped == 740
    assert rig.line.queued == 0


def test_unpaced_line_goes_as_fast_as_the_firmware_reads() -> None:
    # baud 0 with the ring: a busy (runnable) firmware gets time to read, nothing is lost.
    rig = Rig(baud=0)
    rig.fw.is_runnable = True
    rig.line.from_user(b"b" * 1000)
    assert len(rig.uart.received) == 260
    while rig.line.queued:
        rig.uart.firmware_reads_all()
        rig.advance(0.002)
    assert bytes(rig.uart.received) == b"b" * 1000
    assert rig.line.rx_dropped == 0


def test_a_stalled_firmware_gets_at_most_the_stall_limit() -> None:
    rig = Rig(baud=0)
    rig.fw.is_runnable = True  # runnable but never reads
    rig.line.from_user(b"c" * 500)
    rig.advance(STALL_MAX_S / 2)
    assert rig.line.rx_dropped == 0 and rig.line.queued == 240  # still waiting
    rig.advance(STALL_MAX_S)
    assert rig.line.rx_dropped == 240 and rig.line.queued == 0


def test_unlimited_ring_waits_for_a_full_pty() -> None:
    rig = Rig(baud=0, rx_buffer=0)
    rig.uart.capacity = 4096
    rig.line.from_user(b"d" * 10000)
    assert len(rig.uart.received) == 4096 and rig.line.queued == 10000 - 4096
    while rig.line.queued:
        rig.uart.firmware_reads_all()
        rig.advance(0.002)
    assert len(rig.uart.received) == 10000 and rig.line.rx_dropped == 0


def test_ctrl_c_goes_over_the_side_channel_and_holds_what_follows() -> None:
    rig = Rig(baud=0)
    rig.line.from_user(b"ab\x03cd")
    assert bytes(rig.uart.received) == b"ab"  # the Ctrl-C takes no ring space
    assert rig.fw.interrupts == 1
    rig.advance(0.05)
    assert bytes(rig.uart.received) == b"ab"  # held until the firmware took it
    rig.uart.isig_on = False  # it reached the REPL, which reads with ISIG off
    rig.line.interrupt_taken()
    rig.advance(0.005)
    assert bytes(rig.uart.received) == b"abcd"
    assert rig.line.rx_dropped == 0


def test_ctrl_c_not_taken_goes_in_as_sigint() -> None:
    # Code that never touches the hardware: after the fallback time the byte goes to the
    # tty, whose ISIG turns it into SIGINT.
    rig = Rig(baud=0)
    rig.line.from_user(b"\x03after")
    assert rig.fw.interrupts == 1 and bytes(rig.uart.received) == b""
    rig.advance(INTERRUPT_FALLBACK_S / 2)
    assert bytes(rig.uart.received) == b""
    rig.advance(INTERRUPT_FALLBACK_S)
    assert bytes(rig.uart.received[:1]) == bytes([CTRL_C])
    rig.uart.isig_on = False  # KeyboardInterrupt: back at the REPL
    rig.advance(0.01)
    assert bytes(rig.uart.received) == b"\x03after"


def test_ctrl_c_is_data_when_isig_is_off() -> None:
    rig = Rig(baud=0)
    rig.uart.isig_on = False  # at the REPL, or set_interrupt_char(False)
    rig.line.from_user(b"x\x03y")
    assert bytes(rig.uart.received) == b"x\x03y" and rig.fw.interrupts == 0
    assert rig.uart.unread() == 3  # it takes ring space like any byte


def test_ctrl_c_without_side_channel_goes_to_the_tty_outside_the_ring() -> None:
    rig = Rig(baud=0, rx_buffer=4)
    rig.fw.channel_up = False
    rig.line.from_user(b"1234\x03")
    assert bytes(rig.uart.received) == b"1234\x03"  # the ring was full: Ctrl-C still got in
    assert rig.fw.interrupts == 0 and rig.line.rx_dropped == 0


def test_input_while_asleep_is_lost() -> None:
    rig = Rig()
    rig.fw.is_asleep = True
    rig.line.from_user(b"lost")
    rig.advance(0.01)
    assert rig.uart.received == b"" and rig.line.rx_dropped_asleep == 4
    assert rig.line.rx_dropped == 0


def test_input_while_booting_is_held_up_to_the_ring() -> None:
    rig = Rig(baud=0)
    rig.fw.is_reading = False
    rig.line.from_user(b"h" * 200)
    rig.line.from_user(b"i" * 100)
    assert rig.uart.received == b"" and rig.line.rx_dropped == 40
    rig.fw.is_reading = True
    rig.line.firmware_reading()
    assert bytes(rig.uart.received) == b"h" * 200 + b"i" * 60
