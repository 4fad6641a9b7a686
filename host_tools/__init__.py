"""Host-side tools for the MicroPython TOTP token."""

from pathlib import Path

__version__ = "0.1.0"

# The repository checkout this package is installed from (editable install): the firmware,
# board files and simulator sources live beside it.
REPO_ROOT = Path(__file__).resolve().parent.parent
