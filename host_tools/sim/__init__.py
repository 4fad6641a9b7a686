"""The virtual token: `host_tools sim` runs the unmodified firmware on the sim board.

Modules: supervisor (serial pty, firmware process, side channel, control socket), control
(SimControl, the client of the control socket), panel (frames, half blocks, PNG snapshots),
terminal (the live view and keys). The design is in README.md beside this file.
"""

from __future__ import annotations

from host_tools.errors import ExitStatus, HostToolsError


class SimError(HostToolsError):
    """The simulator could not start, or refused a control request."""

    exit_code = ExitStatus.SIM
