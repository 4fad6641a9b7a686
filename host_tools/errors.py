"""Typed errors of the host library and the CLI's exit statuses, all defined here.

The library raises these; the CLI turns them into one line on stderr and the exit status in
one place (host_tools.cli.main). Every error class has its own status, listed in ExitStatus
and in the README's exit-status table (tests/host/test_errors.py checks both). Messages never
contain secrets.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    MISMATCH = 1  # the token computed something other than the reference
    INVALID_INPUT = 2  # bad input (also a bad option or argument on the command line)
    NO_DEVICE = 3
    TIMEOUT = 4
    PROTOCOL = 5
    VAULT_FULL = 6
    DUPLICATE = 7
    NOT_FOUND = 8
    TOKEN_REFUSED = 9
    OTHER = 10
    SIM = 11
    DEPLOY = 12
    UNSUPPORTED_DEVICE = 13
    DEVICE_COMMAND = 14
    DEVICE_TESTS_FAILED = 15
    OUT_OF_MEMORY = 16
    PIN_REQUIRED = 25  # a device PIN is set and was not entered (or not given)
    WRONG_PIN = 26
    # import, backup and restore (host_tools.imports, host_tools.backup)
    WRONG_PASSWORD = 28
    PASSWORD_NEEDED = 29
    UNREADABLE_FILE = 30
    NOT_AN_EXPORT = 31
    NO_QR_CODE = 32
    BACKUP = 33
    AUTH_REQUIRED = 20  # the token has a password and none was given
    AUTH_FAILED = 21  # wrong password
    RETRY_LATER = 22  # the token's back-off after wrong passwords
    TOKEN_LOCKED = 23  # deploy/device-test on a locked token
    PRESENCE_REQUIRED = 24  # a clock jump waits for a press on the token
    INTERRUPTED = 130  # Ctrl-C, or a confirmation declined


class HostToolsError(Exception):
    """Base class. `exit_code` is the CLI's exit status for this kind of failure."""

    exit_code: int = ExitStatus.OTHER


class VerificationError(HostToolsError):
    """The token computed something other than the CPython reference."""

    exit_code = ExitStatus.MISMATCH


class InvalidInputError(HostToolsError):
    exit_code = ExitStatus.INVALID_INPUT


class NoDeviceError(HostToolsError):
    exit_code = ExitStatus.NO_DEVICE


class DeviceTimeoutError(HostToolsError):
    exit_code = ExitStatus.TIMEOUT


class ProtocolError(HostToolsError):
    exit_code = ExitStatus.PROTOCOL


class VaultFullError(HostToolsError):
    exit_code = ExitStatus.VAULT_FULL


class DuplicateError(HostToolsError):
    exit_code = ExitStatus.DUPLICATE


class NotFoundError(HostToolsError):
    exit_code = ExitStatus.NOT_FOUND


class TokenError(HostToolsError):
    """The token refused or failed a command for another reason (its clock is not set, its
    vault is damaged, it has no display, an internal fault); the message says which."""

    exit_code = ExitStatus.TOKEN_REFUSED


class TokenOutOfMemoryError(HostToolsError):
    """A command ran out of the token's heap (a MemoryError on the device). Not a damaged
    vault and not a bug in the request: the token keeps its old state."""

    exit_code = ExitStatus.OUT_OF_MEMORY


class PinRequiredError(HostToolsError):
    """A device PIN is set and has not been entered on the token (codes, the screen, adding
    an account), or the current PIN was not given to `pin set` / `pin clear`."""

    exit_code = ExitStatus.PIN_REQUIRED


class WrongPinError(HostToolsError):
    """The token refused the current PIN: wrong (the message says how many tries are left
    before the token wipes itself), or a delay after wrong PINs still runs."""

    exit_code = ExitStatus.WRONG_PIN


class DeployError(HostToolsError):
    """`deploy` could not compile or copy the firmware."""

    exit_code = ExitStatus.DEPLOY


class UnsupportedDeviceError(DeployError):
    """The device's MicroPython is too old or its .mpy format cannot be produced."""

    exit_code = ExitStatus.UNSUPPORTED_DEVICE


class DeviceCommandError(HostToolsError):
    """Code run on the device raised an exception (its traceback is the message)."""

    exit_code = ExitStatus.DEVICE_COMMAND


class DeviceTestFailure(HostToolsError):
    """At least one firmware test failed (or a module did not run) on the device."""

    exit_code = ExitStatus.DEVICE_TESTS_FAILED


# ---- import, backup and restore. The bad-input kinds are InvalidInputErrors (nothing was
# changed) with their own statuses, so a script can tell them apart.


class WrongPasswordError(InvalidInputError):
    """The password does not open an encrypted export or backup."""

    exit_code = ExitStatus.WRONG_PASSWORD


class PasswordNeededError(InvalidInputError):
    """A file is encrypted, no password was given and there is no terminal to ask on."""

    exit_code = ExitStatus.PASSWORD_NEEDED


class UnreadableFileError(InvalidInputError):
    """A file to import is missing, unreadable or too large."""

    exit_code = ExitStatus.UNREADABLE_FILE


class NotAnExportError(InvalidInputError):
    """A file is none of the export formats `import` reads."""

    exit_code = ExitStatus.NOT_AN_EXPORT


class NoQrCodeError(InvalidInputError):
    """An image holds no QR code."""

    exit_code = ExitStatus.NO_QR_CODE


class BackupError(HostToolsError):
    """The backup file could not be read as a backup or could not be written."""

    exit_code = ExitStatus.BACKUP
class AuthRequiredError(HostToolsError):
    """The token has a management password and this command needs it; none was available."""

    exit_code = ExitStatus.AUTH_REQUIRED


class AuthFailedError(HostToolsError):
    """The token refused the password (or the login exchange)."""

    exit_code = ExitStatus.AUTH_FAILED


class RetryLaterError(HostToolsError):
    """Too many wrong passwords: the token accepts the next try only after a delay."""

    exit_code = ExitStatus.RETRY_LATER


class TokenLockedError(HostToolsError):
    """The token is locked: its REPL is closed (deploy and device-test need it)."""

    exit_code = ExitStatus.TOKEN_LOCKED


class PresenceRequiredError(HostToolsError):
    """The token wants a press on its button (a large clock change), or holds codes back
    after one."""

    exit_code = ExitStatus.PRESENCE_REQUIRED
