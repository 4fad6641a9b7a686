"""deploy's probe of the lock state (host_tools/commands/deploy.py refuse_if_locked): a token
that does not answer, or has no heap for INFO's answer, goes ahead; a locked one is refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from host_tools.commands import deploy
from host_tools.errors import DeviceTimeoutError, TokenLockedError, TokenOutOfMemoryError


def _session(info: object) -> object:
    @contextmanager
    def open_session(port: str, timeout: float, attempts: int) -> Iterator[object]:
        def answer() -> object:
            if isinstance(info, Exception):
                raise info
            return info

        yield SimpleNamespace(info=answer)

    return open_session


@pytest.mark.parametrize(
    "error",
    [DeviceTimeoutError("no answer"), TokenOutOfMemoryError("command 0x02 did not fit")],
)
def test_a_token_without_an_answer_goes_ahead(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    monkeypatch.setattr(deploy, "open_session", _session(error))
    deploy.refuse_if_locked("/dev/null")


def test_a_locked_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy, "open_session", _session(SimpleNamespace(locked=True)))
    with pytest.raises(TokenLockedError):
        deploy.refuse_if_locked("/dev/null")
    monkeypatch.setattr(deploy, "open_session", _session(SimpleNamespace(locked=False)))
    deploy.refuse_if_locked("/dev/null")
