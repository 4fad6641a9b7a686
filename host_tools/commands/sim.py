"""`host_tools sim`: run the virtual token (see host_tools/sim/README.md)."""

from __future__ import annotations

import datetime
import json
import logging
import sys
from pathlib import Path

import click

from host_tools.sim import SimError


def _utc(unix: float) -> str:
    stamp = datetime.datetime.fromtimestamp(unix, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


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
        "--micropython",
        "micropython",
        envvar="SIM_MICROPYTHON",
        default=None,
        help="MicroPython unix interpreter (default: the venv's micropython).",
    )
    def sim(
        state_dir: Path,
        link: Path | None,
        headless: bool,
        rx_buffer: int,
        baud: int,
        micropython: str | None,
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
        options = SimOptions(
            state_dir=state_dir,
            repo=find_repo(),
            micropython=micropython or find_micropython(honor_env=False),
            link=link.absolute() if link is not None else None,
            headless=not interactive,
            rx_buffer=rx_buffer,
            baud=baud,
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
    def status(obj: dict) -> None:
        """Print the sim's status as JSON."""
        click.echo(json.dumps(obj["sim"].status(), indent=2))

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
