"""The management password on the virtual token (docs/security.md): with a password set every
protected command fails without it (one line, exit status 20) and works with it; a wrong one
is refused (21) and slows the next tries down (22), a delay kept across a reset and a power
cut; a recorded login exchange does not replay; the password never crosses the wire."""

from __future__ import annotations

import json
import os
import time

import pytest
from e2e_helpers import host_tools, wait_screen

from host_tools import auth
from host_tools import protocol as p
from host_tools.errors import AuthFailedError, AuthRequiredError, ExitStatus
from host_tools.session import open_session

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def protected(unpaced_sim, capsys, monkeypatch):
    """An unpaced sim with one account and a password set; no password in the environment."""
    return _protect(unpaced_sim, capsys, monkeypatch)


def _protect(sim, capsys, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.delenv("HOST_TOOLS_PASSWORD", raising=False)
    status, out, err = host_tools(
        sim, capsys, "provision", "--secret", SECRET, "--name", "alice", "--issuer", "ACME"
    )
    assert status == 0, out + err
    monkeypatch.setenv("HOST_TOOLS_NEW_PASSWORD", PASSWORD)
    status, out, err = host_tools(sim, capsys, "password", "set")
    assert status == 0, out + err
    monkeypatch.delenv("HOST_TOOLS_NEW_PASSWORD")
    return sim


# Every command that shows labels or codes or changes the vault or settings, with arguments
# that would succeed with the password.
PROTECTED = [
    ("list",),
    ("code", "alice"),
    ("screen",),
    ("verify", "--count", "2"),
    ("pin", "set"),
    ("rename", "alice", "ACME:bob"),
    ("config", "get"),
    ("config", "set", "screen_timeout_s", "30"),
    ("delete", "--force", "alice"),
    ("wipe", "--force"),
    ("provision", "--secret", SECRET, "--name", "carol", "--issuer", "X"),
    ("lock",),
    ("unlock",),
    ("password", "clear"),
]


def test_protected_commands_need_the_password(protected, capsys, monkeypatch):
    sim = protected
    monkeypatch.setenv("HOST_TOOLS_PIN", "2468")  # for `pin set` and `pin clear`
    for args in PROTECTED:
        status, out, err = host_tools(sim, capsys, *args, stdin="")
        assert status == ExitStatus.AUTH_REQUIRED, (args, status, out, err)
        assert err.count("\n") == 1 and "password" in err, (args, err)
    # Open without it: info and the clock.
    status, out, err = host_tools(sim, capsys, "info")
    assert status == 0, out + err
    assert "password:  set" in out and "REPL:      open on the USB port" in out, out
    status, out, err = host_tools(sim, capsys, "time")
    assert status == 0, out + err
    # Nothing changed: the account is still there, under its old name.
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", PASSWORD)
    status, out, err = host_tools(sim, capsys, "list")
    assert status == 0 and "ACME:alice" in out, out + err
    # With the password each of them works (in an order where each one can).
    for args in WITH_PASSWORD:
        status, out, err = host_tools(sim, capsys, *args)
        assert status == 0, (args, out, err)
    monkeypatch.delenv("HOST_TOOLS_PASSWORD")
    status, out, err = host_tools(sim, capsys, "list", "--json", stdin="")
    assert status == 0 and json.loads(out) == [], out + err


WITH_PASSWORD = [
    ("code", "alice"),
    ("screen",),
    ("verify", "--count", "2"),
    ("pin", "set"),
    ("pin", "clear"),
    ("config", "get"),
    ("config", "set", "screen_timeout_s", "30"),
    ("rename", "alice", "ACME:bob"),
    ("provision", "--secret", SECRET, "--name", "carol", "--issuer", "X"),
    ("delete", "--force", "carol"),
    ("lock",),
    ("unlock",),
    ("wipe", "--force"),
    ("password", "clear"),  # last: then `list` needs nothing
]


def test_wrong_password_is_refused_and_slows_down_across_reset_and_power_cut(
    protected, capsys, monkeypatch
):
    sim = protected
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", "not the password")
    status, out, err = host_tools(sim, capsys, "list")
    assert status == ExitStatus.AUTH_FAILED, out + err
    assert "wrong password" in err and err.count("\n") == 1
    # The panel says so, with the delay.
    wait_screen(sim, lambda sc, f: sc.has_text("Wrong password"), what="the back-off notice")
    # Within the delay the token does not even take a try.
    seen = set()
    for _ in range(4):
        status, out, err = host_tools(sim, capsys, "list")
        seen.add(status)
        if status == ExitStatus.RETRY_LATER:
            break
    assert ExitStatus.RETRY_LATER in seen, seen
    assert "wrong passwords" in err and err.count("\n") == 1

    def waiting() -> int:
        with open_session(sim.port) as s:
            return s.challenge()[4]

    # The count is on flash: after a reset and after a power cut the delay starts again in
    # full rather than being forgotten.
    with open_session(sim.port) as s:
        failures_before = s.challenge()
    assert failures_before[0]
    sim.control.reset()
    sim.control.wait_ready(boot_count=2, timeout=30)
    assert waiting() > 0
    sim.control.cut_power()
    sim.control.wait_ready(boot_count=3, timeout=30)
    wait = waiting()
    assert wait > 0
    # The right password after the delay works and clears the count.
    time.sleep(wait + 0.2)
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", PASSWORD)
    status, out, err = host_tools(sim, capsys, "list")
    assert status == 0, out + err
    assert waiting() == 0


def test_a_recorded_exchange_does_not_replay(protected):
    sim = protected
    with open_session(sim.port) as s:
        has, iterations, salt, nonce, wait = s.challenge()
        assert has and wait == 0 and iterations >= auth.MIN_ITERATIONS
        key = auth.client_key(PASSWORD, salt, iterations)
        client_nonce = os.urandom(16)
        recorded = p.Fields().raw(client_nonce).raw(auth.proof(key, nonce, client_nonce)).bytes()
        s.link.request(p.Command.AUTH_PROOF, recorded, timeout=5)  # the real login
        s.accounts()  # logged in
    # Someone who recorded it replays it: against a new challenge, and with none.
    with open_session(sim.port) as s:
        s.challenge()
        with pytest.raises(AuthFailedError):
            s.link.request(p.Command.AUTH_PROOF, recorded, timeout=5)
    time.sleep(1.2)  # past the back-off of that failure: the next replay is checked too
    with open_session(sim.port) as s:
        with pytest.raises(AuthFailedError):  # no challenge asked in this session
            s.link.request(p.Command.AUTH_PROOF, recorded, timeout=5)
        # The failures count: the replays paid the back-off like any guess.
        assert s.challenge()[4] > 0


def test_change_and_clear(protected, capsys, monkeypatch):
    sim = protected
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", PASSWORD)
    monkeypatch.setenv("HOST_TOOLS_NEW_PASSWORD", "a new passphrase")
    status, out, err = host_tools(sim, capsys, "password", "change")
    assert status == 0, out + err
    status, out, err = host_tools(sim, capsys, "list")  # the old one no longer works
    assert status == ExitStatus.AUTH_FAILED, out + err
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", "a new passphrase")
    time.sleep(1.2)  # the back-off of that one wrong try
    status, out, err = host_tools(sim, capsys, "password", "clear")
    assert status == 0, out + err
    monkeypatch.delenv("HOST_TOOLS_PASSWORD")
    status, out, err = host_tools(sim, capsys, "list", stdin="")
    assert status == 0 and "ACME:alice" in out, out + err


def test_a_short_new_password_is_refused_and_nothing_changes(unpaced_sim, capsys, monkeypatch):
    monkeypatch.setenv("HOST_TOOLS_NEW_PASSWORD", "short")
    status, out, err = host_tools(unpaced_sim, capsys, "password", "set")
    assert status == ExitStatus.INVALID_INPUT, out + err
    with open_session(unpaced_sim.port) as s:
        assert not s.info().password_set


def test_a_login_outlives_the_unloaded_protocol_server(sim_factory, capsys, monkeypatch):
    # The token unloads its protocol server after 12 s without a byte from the host; the app
    # keeps the session (the login, its challenge, the CHECK window), so a host that pauses
    # longer (a user typing the code the token shows) stays logged in: the 5-minute idle rule
    # decides, not the unload. Sent through the link: the session would log in again itself.
    # This sim unloads after 2 s instead (`sim --server-idle-ms`): the same, without the wait.
    sim = _protect(sim_factory("--baud", "0", "--server-idle-ms", "2000"), capsys, monkeypatch)
    with open_session(sim.port) as s:
        s.login(PASSWORD)
        s.link.request(p.Command.LIST, b"\x00", timeout=5)
        time.sleep(4)  # past the 2 s after which the server is unloaded
        s.link.request(p.Command.LIST, b"\x00", timeout=5)  # no AUTH_REQUIRED
    with open_session(sim.port) as s:  # a new session (HELLO) logs in again
        with pytest.raises(AuthRequiredError):
            s.link.request(p.Command.LIST, b"\x00", timeout=5)
