"""Encrypted backups of the accounts put on the token, in Aegis's vault format.

    backup = Backup.open(path, password)   # unlock FILE, or start a new one (not written yet)
    backup.record(spec)                    # add (or replace) the account and write FILE

Secrets cannot be read back from the token, so the only moment to keep a copy is when they
pass through the host: `provision --backup FILE` and `import --backup FILE` record each
account once the token has proven it. The file is an encrypted Aegis vault (host_tools.imports
.aegis: a password slot with scrypt, the db under AES-256-GCM), so the Aegis app opens it and
`host_tools restore FILE` reads it back. A backup is a copy of the secrets, protected only by
its password.

Writes are atomic: the new file is written beside the old one (created with mode 0600, so
never readable by others even for a moment), flushed to disk, then renamed over it; a crash
at any point leaves the old backup or the new one, never a mixture. Every record writes the
whole file again with a fresh nonce; the master key and the slots stay as they were, so the
password stays the one the file was made with.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from host_tools.account import AccountSpec
from host_tools.errors import BackupError, InvalidInputError, NotAnExportError
from host_tools.imports import aegis

log = logging.getLogger(__name__)

MAX_BACKUP_BYTES = 4 * 1024 * 1024


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically; the file is 0600 from its creation."""
    directory = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise BackupError(f"cannot write the backup in {directory}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise BackupError(f"cannot write the backup {path}: {e.strerror}") from None
        raise
    try:  # the rename itself reaches the disk
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        log.debug("could not fsync %s", directory)


class Backup:
    def __init__(self, path: Path, unlocked: aegis.Unlocked) -> None:
        self.path = path
        self._vault = unlocked

    @classmethod
    def open(cls, path: str | Path, password: str) -> Backup:
        """The backup at `path` unlocked with `password` (WrongPasswordError if it does not
        open it), or a new empty one protected by `password` when there is no file yet."""
        p = Path(path)
        if not password:
            raise InvalidInputError("the backup password is empty")
        if not p.exists():
            if not p.parent.is_dir():
                raise BackupError(f"cannot create the backup {p}: no directory {p.parent}")
            if not os.access(p.parent, os.W_OK):
                raise BackupError(f"cannot create the backup {p}: {p.parent} is not writable")
            master = os.urandom(aegis.KEY_BYTES)
            slot = aegis.new_password_slot(master, password)
            db: dict[str, Any] = {"version": aegis.DB_VERSION, "entries": []}
            return cls(p, aegis.Unlocked(db, master, [slot]))
        obj = cls._read(p)
        if not aegis.is_encrypted(obj):
            raise BackupError(f"{p} is not an encrypted Aegis vault: secrets are not added to it")
        try:
            unlocked = aegis.unlock(obj, lambda what: password, f"backup {p}")
        except NotAnExportError as e:
            raise BackupError(str(e)) from None
        if not isinstance(unlocked.db.get("entries"), list):
            raise BackupError(f"backup {p} has no entries list")
        return cls(p, unlocked)

    @staticmethod
    def _read(p: Path) -> dict[str, Any]:
        try:
            if p.stat().st_size > MAX_BACKUP_BYTES:
                raise BackupError(f"{p} is larger than {MAX_BACKUP_BYTES} bytes: not a backup")
            obj = json.loads(p.read_bytes().decode("utf-8"))
        except OSError as e:
            raise BackupError(f"cannot read the backup {p}: {e.strerror}") from None
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BackupError(f"{p} is not an Aegis vault (not JSON)") from None
        if not isinstance(obj, dict) or obj.get("version") != 1 or "db" not in obj:
            raise BackupError(f"{p} is not an Aegis vault")
        return obj

    @property
    def entries(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self._vault.db["entries"]
        return entries

    def add(self, spec: AccountSpec) -> None:
        """Add the account, replacing an entry of the same label (as the token would)."""
        kept = [
            e
            for e in self.entries
            if not (
                isinstance(e, dict)
                and e.get("issuer") == spec.issuer
                and e.get("name") == spec.name
            )
        ]
        kept.append(aegis.entry_of(spec))
        self._vault.db["entries"] = kept

    def save(self) -> None:
        vault = aegis.seal_vault(self._vault.db, self._vault.master_key, self._vault.slots)
        write_private(self.path, json.dumps(vault, indent=4).encode("utf-8"))
        log.info("backup %s: %d accounts", self.path, len(self.entries))

    def record(self, spec: AccountSpec) -> None:
        """Add the account and write the file (the provisioning workflow's confirm step)."""
        self.add(spec)
        self.save()
