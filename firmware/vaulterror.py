"""The vault's errors (vault.VaultError and its subclasses, reached as vault.<name>).

Kept apart from vault.py so that the idle token, which raises none, does not hold seven
classes (about 130 bytes each on a 32-bit port): vault.py's module __getattr__ imports this
module when an error is first raised or caught. Nothing drops it from sys.modules: a class
must stay the same object for `except` and isinstance.

Each has a stable `code`, which the protocol server maps to its status.
"""


class VaultError(ValueError):
    code = "ERROR"


class FullError(VaultError):
    code = "FULL"


class DuplicateError(VaultError):
    code = "DUPLICATE"


class NotFoundError(VaultError):
    code = "NOT_FOUND"


class AmbiguousError(VaultError):
    code = "AMBIGUOUS"


class InvalidError(VaultError):
    code = "INVALID"


class CorruptError(VaultError):
    code = "CORRUPT"


class LockedError(VaultError):
    """The vault's secrets are encrypted with the PIN and the PIN has not been entered."""

    code = "PIN_REQUIRED"
