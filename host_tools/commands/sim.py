"""`host_tools sim`: run the virtual token (see host_tools/sim/README.md)."""

from __future__ import annotations

import datetime
import json
import logging
import sys
from pathlib import Path

import click

from host_tools.sim import SimError
from host_tools.sim.process import HeapOptions


def _utc(unix: float) -> str:
    stamp = datetime.datetime.fromtimestamp(unix, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


# The firmware's heap budget (`sim --heap`). An ESP32 without PSRAM gives MicroPython about
# 112 KB (the esp32 port's heap after its first growth is 111,936 bytes); a 64-bit
# interpreter's objects are larger, so there the budget is scaled by the ratio measured for
# the same firmware state (host_tools/sim/README.md, "Heap").
ESP32_HEAP = 112 * 1024
# Firmware heap in use after boot, deployed as .mpy, no account: 71,872 B (64-bit) / 47,712 B
# (32-bit), ratio 1.51 (bench/memory.py's boot figure on each interpreter; with 64 accounts
# shown 91,616 / 62,592 B, 1.46).
HEAP_RATIO_64 = 1.5
# Room for the sim's plumbing (simboot measures it; this is only an upper bound on it) and a
# reserve for its short-lived messages, per word size in bits.
PLUMBING_ROOM = {32: 96 * 1024, 64: 192 * 1024}
PLUMBING_RESERVE = {32: 8 * 1024, 64: 16 * 1024}
# The firmware gets a board's heap unless told otherwise (`--heap 0` lifts the limit).
DEFAULT_HEAP = "esp32"


def parse_size(text: str) -> int:
    """Bytes from `N`, `NK` or `NM` (1024-based)."""
    t = text.strip().upper()
    scale = 1
    if t.endswith(("K", "M")):
        scale = 1024 if t[-1] == "K" else 1024 * 1024
        t = t[:-1]
    if not t.isdigit():
        raise click.BadParameter(f"{text!r} is not a size (e.g. 112K, 2M, 0)")
    return int(t) * scale


def word_bits(micropython: str) -> int:
    """32 or 64: the interpreter's word size (its objects' size follows it)."""
    import subprocess

    try:
        out = subprocess.run(
            [micropython, "-c", "import sys; print(64 if sys.maxsize > 1 << 32 else 32)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        return 32 if int(out.strip()) == 32 else 64
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        raise SimError(f"sim: cannot run {micropython}: {e}") from e


def heap_options(heap: str, micropython: str) -> HeapOptions | None:
    """--heap: a size, 0 (None: no limit), or `esp32`: the ESP32 budget for this
    interpreter's word size."""
    esp32 = heap.strip().lower() == "esp32"
    firmware = None if esp32 else parse_size(heap)
    if firmware == 0:
        return None
    bits = word_bits(micropython)
    if firmware is None:
        firmware = ESP32_HEAP if bits == 32 else int(ESP32_HEAP * HEAP_RATIO_64)
    return HeapOptions(firmware, PLUMBING_RESERVE[bits], PLUMBING_ROOM[bits])


def register(group: click.Group) -> None:
    @group.command()
    @click.option(
        "--state",
        "state_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".sim"),
        show_default=True,
        help="Directory for the flash image, RTC state and snapshots (kept across runs).",
    )
    @click.option(
        "--link",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Also make PATH a symlink to the serial pseudo-terminal.",
    )
    @click.option("--headless", is_flag=True, help="Do not draw the panel; no keys.")
    @click.option(
        "--rx-buffer",
        type=click.IntRange(min=0),
        default=260,
        show_default=True,
        help="Serial input bytes the firmware may leave unread before more are dropped, as "
        "in the ESP32's UART ring buffer; 0 disables the limit.",
    )
    @click.option(
        "--baud",
        type=click.IntRange(min=0),
        default=115200,
        show_default=True,
        help="Rate at which input reaches the firmware (bits/s, 10 bits per byte), as over "
        "the board's UART; 0: unpaced, as fast as the firmware reads (the --rx-buffer ring "
        "still applies).",
    )
    @click.option(
        "--heap",
        default=DEFAULT_HEAP,
        show_default=True,
        help="Heap bytes of the firmware's own, beside what the sim's plumbing needs: a size "
        "(112K), esp32 (112 KB on a 32-bit interpreter, scaled on a 64-bit one) or 0 (no "
        "limit: the interpreter's default heap).",
    )
    @click.option(
        "--serial-quiet-ms",
        type=click.IntRange(min=1),
        default=None,
        help="For tests: the firmware's wait for a quiet USB line before an idle token may "
        "sleep (default: the firmware's own, 30 s).",
    )
    @click.option(
        "--server-idle-ms",
        type=click.IntRange(min=1),
        default=None,
        help="For tests: the firmware's wait for a quiet host before it unloads its protocol "
        "server (default: the firmware's own, 12 s).",
    )
    @click.option(
        "--micropython",
        "micropython",
        envvar="SIM_MICROPYTHON",
        default=None,
        help="MicroPython unix interpreter (default: the venv's micropython).",
    )
    @click.option(
        "--source",
        is_flag=True,
        help="Run the repository's firmware/ as source while nothing is deployed on the "
        "flash. By default it is compiled to .mpy as deploy compiles it for a board: a board "
        "never compiles the firmware in its own heap.",
    )
    def sim(
        state_dir: Path,
        link: Path | None,
        headless: bool,
        rx_buffer: int,
        baud: int,
        heap: str,
        serial_quiet_ms: int | None,
        server_idle_ms: int | None,
        micropython: str | None,
        source: bool,
    ) -> None:
        """Run the virtual token: the firmware in MicroPython with the sim board.

        The serial port is a pseudo-terminal (its path is printed): use it with mpremote or
        host_tools --port like /dev/ttyUSB0. Tests and scripts drive the sim through
        STATE/control.sock (host_tools.sim.control.SimControl).
        """
        from host_tools.micropython import find_micropython
        from host_tools.sim.supervisor import (
            SimOptions,
            Supervisor,
            find_repo,
            install_signal_handlers,
        )

        state_dir = state_dir.absolute()
        interactive = not headless and sys.stdin.isatty() and sys.stdout.isatty()
        state_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = (
            logging.FileHandler(state_dir / "sim.log")
            if interactive
            else logging.StreamHandler(sys.stderr)
        )
        handler.setFormatter(logging.Formatter("sim: %(message)s"))
        logger = logging.getLogger("host_tools.sim")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        interpreter = micropython or find_micropython(honor_env=False)
        options = SimOptions(
            state_dir=state_dir,
            repo=find_repo(),
            micropython=interpreter,
            heap=heap_options(heap, interpreter),
            link=link.absolute() if link is not None else None,
            headless=not interactive,
            rx_buffer=rx_buffer,
            baud=baud,
            serial_quiet_ms=serial_quiet_ms,
            server_idle_ms=server_idle_ms,
            source=source,
        )
        sup = Supervisor(options)
        if interactive:
            from host_tools.sim.terminal import TerminalView

            sup.view = TerminalView()
        install_signal_handlers(sup)
        try:
            sup.run()
        except KeyboardInterrupt:
            pass
        except OSError as e:
            raise SimError(f"sim: {e}") from e

    @group.group(name="sim-ctl")
    @click.option(
        "--state",
        "state_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(".sim"),
        show_default=True,
        help="State directory of the running sim.",
    )
    @click.pass_context
    def sim_ctl(ctx: click.Context, state_dir: Path) -> None:
        """Drive a running sim through its control socket."""
        from host_tools.sim.control import SimControl

        ctx.obj = dict(ctx.obj or {}, sim=SimControl(state_dir))

    @sim_ctl.command()
    @click.pass_obj
    @click.option("--timeout", type=click.FloatRange(0.1, 60), default=2.0, show_default=True)
    def status(obj: dict, timeout: float) -> None:
        """Print the sim's status as JSON, with the firmware's heap ("heap": in use, peak
        since boot, free, largest free block; asked of the firmware process, so null with
        the reason when it does not touch the hardware in time, e.g. at the REPL)."""
        sim = obj["sim"]
        status = sim.status()
        try:
            status["heap"] = sim.firmware_status(timeout=timeout).get("heap")
        except SimError as e:
            status["heap"] = None
            status["heap_error"] = str(e)
        click.echo(json.dumps(status, indent=2))

    @sim_ctl.command()
    @click.option("--button", type=click.IntRange(0, 1), default=0, show_default=True)
    @click.option("--ms", type=click.IntRange(1, 60_000), default=100, show_default=True)
    @click.pass_obj
    def press(obj: dict, button: int, ms: int) -> None:
        """Press a button (0 next, 1 previous) for MS milliseconds."""
        obj["sim"].press(button, ms)

    # The hardware-model commands wait until the model inside the firmware took the change
    # (as a board's chip would answer at once): a value the model refuses, or a firmware that
    # does not touch the hardware in time (at the REPL, off), is an error, not a silent exit 0.
    @sim_ctl.command("set-time")
    @click.argument("unix", type=float)
    @click.option("--timeout", type=click.FloatRange(0.1, 60), default=5.0, show_default=True)
    @click.pass_obj
    def set_time(obj: dict, unix: float, timeout: float) -> None:
        """Set the DS3231 model's time to UNIX seconds (UTC)."""
        obj["sim"].set_time(unix, timeout=timeout)
        click.echo(f"DS3231 model: time set to {_utc(unix)}")

    @sim_ctl.command("shift-time", context_settings={"ignore_unknown_options": True})
    @click.argument("seconds", type=float)
    @click.option("--timeout", type=click.FloatRange(0.1, 60), default=5.0, show_default=True)
    @click.pass_obj
    def shift_time(obj: dict, seconds: float, timeout: float) -> None:
        """Move the DS3231 model's time by SECONDS (negative: back)."""
        obj["sim"].shift_time(seconds, timeout=timeout)
        click.echo(f"DS3231 model: time moved by {seconds:+g} s")

    @sim_ctl.command()
    @click.argument("action", type=click.Choice(["pull", "insert"]))
    @click.option("--timeout", type=click.FloatRange(0.1, 60), default=5.0, show_default=True)
    @click.pass_obj
    def battery(obj: dict, action: str, timeout: float) -> None:
        """Pull or insert the RTC's coin cell."""
        if action == "pull":
            obj["sim"].pull_battery(timeout=timeout)
            click.echo("DS3231 model: coin cell pulled (registers reset, oscillator-stop set)")
        else:
            obj["sim"].insert_battery(timeout=timeout)
            click.echo("DS3231 model: coin cell inserted")

    @sim_ctl.command("cut-power")
    @click.option("--after-writes", type=click.IntRange(min=0), default=None)
    @click.option("--timeout", type=click.FloatRange(0.1, 60), default=5.0, show_default=True)
    @click.pass_obj
    def cut_power(obj: dict, after_writes: int | None, timeout: float) -> None:
        """Cut the power now, or tear the flash write after AFTER_WRITES more."""
        obj["sim"].cut_power(after_writes, timeout=timeout)
        if after_writes is None:
            click.echo("power cut; the sim powers up again by itself")
        else:
            click.echo(f"armed: the flash write after {after_writes} more tears (power cut)")

    @sim_ctl.command()
    @click.pass_obj
    def reset(obj: dict) -> None:
        """Press the reset button."""
        obj["sim"].reset()

    @sim_ctl.command()
    @click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--scale", type=click.IntRange(1, 16), default=4, show_default=True)
    @click.pass_obj
    def snapshot(obj: dict, path: Path | None, scale: int) -> None:
        """Save a PNG of the panel (default: STATE/snapshots/) and print its path."""
        click.echo(obj["sim"].snapshot(path.absolute() if path else None, scale))

    @sim_ctl.command()
    @click.pass_obj
    def quit(obj: dict) -> None:  # noqa: A001 - the command's name
        """Stop the sim."""
        obj["sim"].quit()
