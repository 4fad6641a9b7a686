"""The virtual token: `host_tools sim` runs the unmodified firmware on the sim board.

Modules: supervisor (wires the parts, the board's life cycle, the loop), ptys (the user's
port and the firmware's terminal), serial_line (pacing, the rx ring, Ctrl-C, stalls), process
(the firmware process), repl (REPL mode tracking), channel (the side channel to the hardware
models), control_server (the control socket's handlers), jsonconn, timers; control
(SimControl, the client of the control socket), panel (frames, half blocks, PNG snapshots,
the panel mirror), terminal (the live view and keys). The design is in README.md beside this file.
"""

from __future__ import annotations

from host_tools.errors import ExitStatus, HostToolsError


class SimError(HostToolsError):
    """The simulator could not start, or refused a control request."""

    exit_code = ExitStatus.SIM
