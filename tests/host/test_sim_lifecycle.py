"""The sim supervisor's board life cycle (host_tools.sim.supervisor) with fake parts and a fake
clock: what follows a soft reset, a power cut, a reset, a deep sleep; when input flows; what
status() reports. No process, no pty."""

from __future__ import annotations

from pathlib import Path

import pytest

from host_tools.sim import SimError
from host_tools.sim.process import Exit, Phase, Stop
from host_tools.sim.repl import RAW_PROMPT
from host_tools.sim.supervisor import SOFT_REBOOT, SimOptions, Supervisor


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeProcess:
    def __init__(self) -> None:
        self.starts: list[tuple[bool, bool]] = []
        self.stops: list[Stop] = []
        self.generation = 0
        self.started = 0.0
        self.pid = 4242
        self.proc: object | None = None
        self.alive = False

    def start(self, run_main: bool, power_on: bool, env: dict[str, str]) -> None:
        self.starts.append((run_main, power_on))
        self.generation += 1
        self.proc = object()
        self.alive = True

    def stop(self, why: Stop) -> None:
        self.stops.append(why)


class FakeUser:
    def __init__(self) -> None:
        self.out = b""
        self.tx_dropped = 0

    def write(self, data: bytes) -> None:
        self.out += data


class FakeLine:
    def __init__(self) -> None:
        self.reading_calls = 0
        self.rx_dropped = 0
        self.rx_dropped_asleep = 0

    def firmware_reading(self) -> None:
        self.reading_calls += 1


class FakeTty:
    def __init__(self) -> None:
        self.typed = b""

    def write(self, data: bytes) -> int:
        self.typed += data
        return len(data)


class FakeChannel:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.commands: list[dict] = []
        self.unacked: dict = {}
        self.up = True

    def env(self) -> dict[str, str]:
        return {}

    def send(self, msg: dict) -> None:
        self.sent.append(msg)

    def command(self, msg: dict, waiter: object = None, timeout: float = 5.0) -> int:
        self.commands.append(msg)
        return len(self.commands)

    def resend_pending(self) -> None:
        pass


def make(tmp_path: Path) -> tuple[Supervisor, FakeClock, FakeProcess]:
    clock = FakeClock()
    options = SimOptions(state_dir=tmp_path, repo=tmp_path, micropython="micropython")
    sup = Supervisor(options, clock=clock)
    process = FakeProcess()
    sup.process = process  # type: ignore[assignment]
    sup.user = FakeUser()  # type: ignore[assignment]
    sup.line = FakeLine()  # type: ignore[assignment]
    sup.fw_tty = FakeTty()  # type: ignore[assignment]
    sup.channel = FakeChannel()  # type: ignore[assignment]
    sup.port = "/dev/pts/99"
    sup.control_path = tmp_path / "control.sock"
    sup.boot_count = 1  # not the first boot: no sim.json, no printed port
    return sup, clock, process


def boot(sup: Supervisor, run_main: bool = True) -> None:
    sup.spawn(run_main=run_main)
    sup._on_fw_message({"t": "hello", "run_main": run_main})


def run_for(sup: Supervisor, clock: FakeClock, seconds: float) -> None:
    clock.now += seconds
    sup.timers.run_due()


def test_a_boot_runs_when_the_firmware_says_hello(tmp_path: Path) -> None:
    sup, _, process = make(tmp_path)
    sup.spawn(run_main=True)
    assert sup.phase is Phase.BOOTING and not sup.reading()
    sup._on_fw_message({"t": "hello", "run_main": True, "deployed": False})
    assert sup.phase is Phase.RUNNING and sup.reading()
    assert sup.line.reading_calls == 1  # type: ignore[attr-defined]
    status = sup.status()
    assert (status["phase"], status["repl"], status["sleep"]) == ("running", "friendly", "awake")
    assert status["boot_count"] == 2 and status["ran_main"] is True


def test_soft_reset_from_the_friendly_repl_runs_main(tmp_path: Path) -> None:
    sup, clock, process = make(tmp_path)
    boot(sup)
    sup._after_exit(Exit(0, None, 5.0))
    assert sup.user.out == SOFT_REBOOT  # type: ignore[attr-defined]
    run_for(sup, clock, 0.0)
    assert process.starts[-1] == (True, False)  # main.py, not a power-on


def test_soft_reset_from_the_raw_repl_boots_raw_and_waits_for_its_prompt(tmp_path: Path) -> None:
    sup, clock, process = make(tmp_path)
    boot(sup)
    sup._handle_output(RAW_PROMPT + b">")
    assert sup.status()["repl"] == "raw"
    sup._after_exit(Exit(0, None, 5.0))
    run_for(sup, clock, 0.0)
    assert process.starts[-1] == (False, False)
    sup._on_fw_message({"t": "hello", "run_main": False})
    assert sup.phase is Phase.BOOTING  # the raw REPL's prompt is not there yet
    sup._handle_output(b"MicroPython x\r\n>>> ")
    assert sup.fw_tty.typed == b"\x01"  # type: ignore[attr-defined]  # Ctrl-A for the user
    sup._handle_output(RAW_PROMPT + b">")
    assert sup.phase is Phase.RUNNING
    # The port shows what a board shows: the friendly banner is hidden.
    shown = sup.user.out  # type: ignore[attr-defined]
    assert shown == RAW_PROMPT + b">" + SOFT_REBOOT + RAW_PROMPT + b">"


def test_a_crash_at_start_is_restarted_after_a_pause(tmp_path: Path) -> None:
    sup, clock, process = make(tmp_path)
    boot(sup)
    sup._after_exit(Exit(1, None, 0.2))
    run_for(sup, clock, 0.5)
    assert len(process.starts) == 1
    run_for(sup, clock, 0.6)
    assert len(process.starts) == 2


def test_power_cut_darkens_the_panel_and_powers_on_after_the_off_time(tmp_path: Path) -> None:
    sup, clock, process = make(tmp_path)
    boot(sup)
    version = sup.frame.version
    sup._after_exit(Exit(-9, Stop.POWER_CUT, 5.0))
    assert sup.frame.version == version + 1 and not sup.panel.powered
    run_for(sup, clock, 0.1)
    assert len(process.starts) == 1
    run_for(sup, clock, 0.15)
    assert process.starts[-1] == (True, True)  # main.py, power-on (UART ring emptied)
    assert sup.user.out == b""  # type: ignore[attr-defined]  # no soft-reboot line


def test_reset_keeps_the_panel_powered(tmp_path: Path) -> None:
    sup, clock, process = make(tmp_path)
    boot(sup)
    sup.reset()
    assert process.stops == [Stop.RESET]
    sup._after_exit(Exit(-9, Stop.RESET, 5.0))
    assert sup.panel.powered
    run_for(sup, clock, 0.25)
    assert process.starts[-1] == (True, True)


def test_deep_sleep_wakes_on_its_timer_or_a_press(tmp_path: Path) -> None:
    sup, clock, process = make(tmp_path)
    boot(sup)
    sup._on_fw_message({"t": "deep_sleep", "ms": 1000})
    assert process.stops == [Stop.DEEP_SLEEP]
    sup._after_exit(Exit(-9, Stop.DEEP_SLEEP, 5.0))
    assert sup.phase is Phase.DEEP_SLEEP and sup.asleep()
    assert sup.status()["phase"] == "deep_sleep"
    run_for(sup, clock, 1.0)
    assert process.starts[-1] == (True, True) and sup.phase is Phase.BOOTING
    sup._on_fw_message({"t": "hello", "run_main": True})
    sup._on_fw_message({"t": "deep_sleep", "ms": 0})  # no timer: only a press wakes it
    sup._after_exit(Exit(-9, Stop.DEEP_SLEEP, 5.0))
    run_for(sup, clock, 60.0)
    assert len(process.starts) == 2
    sup.press(0, 200)
    assert len(process.starts) == 3


def test_light_sleep_is_reported_and_loses_input(tmp_path: Path) -> None:
    sup, _, _ = make(tmp_path)
    boot(sup)
    sup._on_fw_message({"t": "sleep", "state": "light"})
    assert sup.asleep() and sup.status()["sleep"] == "light"
    sup._on_fw_message({"t": "sleep", "state": "awake"})
    assert not sup.asleep()
    with pytest.raises(ValueError):
        sup._on_fw_message({"t": "sleep", "state": "dozing"})


def test_press_checks_its_arguments(tmp_path: Path) -> None:
    sup, _, _ = make(tmp_path)
    boot(sup)
    with pytest.raises(SimError, match="button"):
        sup.press(2, 100)
    with pytest.raises(SimError, match="1..60000"):
        sup.press(0, 0)
    sup.press(1, 300)
    assert sup.channel.commands[-1] == {"t": "press", "button": 1, "ms": 300}  # type: ignore[attr-defined]


def test_cut_power_needs_a_running_firmware(tmp_path: Path) -> None:
    sup, _, process = make(tmp_path)
    with pytest.raises(SimError, match="not running"):
        sup.cut_power()
    boot(sup)
    sup.cut_power()
    assert process.stops == [Stop.POWER_CUT]
