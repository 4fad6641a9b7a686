"""The import workflow: put many accounts on the token, each proven like `provision`'s.

    outcome = import_accounts(session, result, backup=None, time_sync=True, notify=print)

`result` is what host_tools.imports read (accounts and the entries it already skipped). Each
account goes through host_tools.provisioning.provision: ADD, then the token's codes compared
with the reference (a mismatch removes the account again). An account is skipped, with its
reason, when one of its label is already on the token, or once the vault is full; a mismatch
is skipped too ("removed from the token") and counted. Any other failure (the token stops
answering, the backup cannot be written) ends the import: what was imported before stays,
and is in the backup.

With a backup (host_tools.backup), each account is recorded in it after the token has proven
it and before the next one is added; if the backup cannot be written the account is removed
from the token again, so the token never holds an account its backup lacks.
`restore` is this workflow on the accounts of a backup file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from host_tools import provisioning
from host_tools.account import shown
from host_tools.backup import Backup
from host_tools.errors import (
    DuplicateError,
    HostToolsError,
    VaultFullError,
    VerificationError,
)
from host_tools.imports import ImportResult, Skipped
from host_tools.provisioning import Provisioned
from host_tools.session import Session

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    imported: list[Provisioned] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    mismatches: int = 0
    free: int = 0
    capacity: int = 0


def import_accounts(
    s: Session,
    result: ImportResult,
    *,
    backup: Backup | None = None,
    time_sync: bool = True,
    notify: Callable[[str], None] = lambda note: None,
) -> Outcome:
    """Provision every account of `result` (module docstring); the outcome lists each."""
    outcome = Outcome(skipped=list(result.skipped))
    on_token = {a.label for a in s.accounts()}
    full = s.info().full
    confirm = backup.record if backup is not None else None
    for spec in result.accounts:
        if spec.label in on_token:
            outcome.skipped.append(Skipped(spec.label, "already on the token"))
            continue
        if full:
            outcome.skipped.append(Skipped(spec.label, "the token's vault is full"))
            continue
        try:
            done = provisioning.provision(
                s, spec, time_sync=time_sync, confirm=confirm, notify=notify
            )
        except DuplicateError:
            outcome.skipped.append(Skipped(spec.label, "already on the token"))
            continue
        except VaultFullError:
            full = True
            outcome.skipped.append(Skipped(spec.label, "the token's vault is full"))
            continue
        except VerificationError as e:
            outcome.mismatches += 1
            outcome.skipped.append(Skipped(spec.label, f"{e}; removed from the token"))
            continue
        except HostToolsError:
            # The import ends here: say what is on the token (and in the backup) already.
            if outcome.imported:
                labels = ", ".join(shown(d.spec.label) for d in outcome.imported)
                notify(f"imported before the failure: {labels}")
            raise
        on_token.add(spec.label)
        outcome.imported.append(done)
    info = s.info()
    outcome.free, outcome.capacity = info.free, info.capacity
    log.info(
        "import: %d imported, %d skipped, %d free",
        len(outcome.imported),
        len(outcome.skipped),
        outcome.free,
    )
    return outcome
