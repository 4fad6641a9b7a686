"""Typed errors of the host library, each with the CLI exit status it maps to.

The library raises these; the CLI turns them into one line on stderr and the exit status in
one place (host_tools.cli.main). Messages never contain secrets.
"""

from __future__ import annotations


class HostToolsError(Exception):
    """Base class. `exit_code` is the CLI's exit status for this kind of failure."""

    exit_code = 10


class InvalidInputError(HostToolsError):
    exit_code = 2


class NoDeviceError(HostToolsError):
    exit_code = 3


class DeviceTimeoutError(HostToolsError):
    exit_code = 4


class ProtocolError(HostToolsError):
    exit_code = 5


class VaultFullError(HostToolsError):
    exit_code = 6


class DuplicateError(HostToolsError):
    exit_code = 7


class NotFoundError(HostToolsError):
    exit_code = 8


class TokenError(HostToolsError):
    """The token refused or failed a command for another reason (its clock is not set, its
    vault is damaged, it has no display, an internal fault); the message says which."""

    exit_code = 9


class VerificationError(HostToolsError):
    """The token computed something other than the CPython reference."""

    exit_code = 1
