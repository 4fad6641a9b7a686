"""host_tools.auth: the verifier and the login proof (docs/security.md, "Password").

The key derivation is SCRAM-SHA-256's (RFC 5802 section 3), checked against RFC 7677's test
vector: the client proof there, XORed with HMAC(StoredKey, AuthMessage), gives back the
ClientKey that client_key() derives from the password."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from host_tools import auth
from host_tools.errors import InvalidInputError

# RFC 7677, section 3.
RFC_SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
RFC_AUTH_MESSAGE = (
    b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
)
RFC_PROOF = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")


def test_client_key_matches_rfc_7677() -> None:
    key = auth.client_key("pencil", RFC_SALT, 4096)
    stored = auth.stored_key(key)
    sig = hmac.new(stored, RFC_AUTH_MESSAGE, hashlib.sha256).digest()
    assert bytes(a ^ b for a, b in zip(RFC_PROOF, sig, strict=True)) == key
    assert stored == hashlib.sha256(key).digest()


def test_the_proof_gives_back_the_client_key_only_with_the_stored_key() -> None:
    key = auth.client_key("correct horse battery", bytes(16), 100_000)
    stored = auth.stored_key(key)
    nonce, client_nonce = bytes(range(16)), bytes(range(16, 32))
    proof = auth.proof(key, nonce, client_nonce)
    sig = hmac.new(stored, nonce + client_nonce + auth.CONTEXT, hashlib.sha256).digest()
    assert hashlib.sha256(bytes(a ^ b for a, b in zip(proof, sig, strict=True))).digest() == stored
    # Another nonce, another proof: a recorded one does not fit a new challenge.
    assert auth.proof(key, bytes(16), client_nonce) != proof
    assert proof != key and len(proof) == 32


def test_new_verifier_uses_a_fresh_salt_and_never_keeps_the_password() -> None:
    a = auth.new_verifier("correct horse battery", iterations=auth.MIN_ITERATIONS)
    b = auth.new_verifier("correct horse battery", iterations=auth.MIN_ITERATIONS)
    assert a.salt != b.salt and len(a.salt) == auth.SALT_BYTES
    assert a.stored_key != b.stored_key
    assert "correct horse" not in repr(a) and a.stored_key.hex() not in repr(a)
    assert auth.ITERATIONS >= 600_000


def test_password_bounds() -> None:
    with pytest.raises(InvalidInputError, match="at least 8"):
        auth.new_verifier("short")
    with pytest.raises(InvalidInputError, match="at most"):
        auth.check_new_password("x" * (auth.MAX_PASSWORD + 1))


def test_the_same_password_typed_in_either_unicode_form_gives_the_same_key() -> None:
    composed, decomposed = "caf\u00e9 au lait", "cafe\u0301 au lait"
    assert auth.client_key(composed, bytes(16), 1000) == auth.client_key(
        decomposed, bytes(16), 1000
    )


def test_passwords_come_from_the_environment_or_a_prompt_without_echo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import click

    from host_tools.commands import _token, security

    asked: list[dict[str, object]] = []

    def prompt(text: str, **kwargs: object) -> str:
        asked.append({"text": text, **kwargs})
        return "typed passphrase"

    monkeypatch.setattr(click, "prompt", prompt)
    monkeypatch.delenv("HOST_TOOLS_PASSWORD", raising=False)
    monkeypatch.delenv("HOST_TOOLS_NEW_PASSWORD", raising=False)
    monkeypatch.setattr(_token, "interactive", lambda: False)
    assert _token.current_password() is None  # no terminal: nothing to ask
    with pytest.raises(InvalidInputError, match="HOST_TOOLS_NEW_PASSWORD"):
        security.new_password()
    monkeypatch.setattr(_token, "interactive", lambda: True)
    monkeypatch.setattr(security, "interactive", lambda: True)
    assert _token.current_password() == "typed passphrase"
    assert security.new_password() == "typed passphrase"
    assert [a["hide_input"] for a in asked] == [True, True]
    assert asked[1]["confirmation_prompt"] is True  # a new one is typed twice
    monkeypatch.setenv("HOST_TOOLS_PASSWORD", "from the environment")
    monkeypatch.setenv("HOST_TOOLS_NEW_PASSWORD", "new from the environment")
    assert _token.current_password() == "from the environment"
    assert security.new_password() == "new from the environment"
    assert len(asked) == 2
