"""What every import format shares: the result, skipped entries, loose JSON fields, lenient
base32 and the account builder (Steam entries become Steam accounts)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from host_tools.account import AccountSpec, steam_account
from host_tools.errors import InvalidInputError, PasswordNeededError

# Asked for the password of an encrypted file, with the file's description ("Aegis export
# backup.json"); returns it. The CLI's asks on the terminal or returns --password.
Password = Callable[[str], str]

_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_IGNORED = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class Skipped:
    """An entry left out: `entry` names it (its label, or its place in the file), `reason`
    says why in one line. Neither ever holds the secret."""

    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.reason}"


@dataclass
class ImportResult:
    """Accounts read from one or more exports, and every entry left out with its reason.
    `batch` is (id, index, size) for one part of a Google Authenticator export spread over
    several QR codes (imports.join puts the parts together)."""

    source: str
    accounts: list[AccountSpec] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    batch: tuple[int, int, int] | None = None

    def extend(self, other: ImportResult) -> None:
        self.accounts += other.accounts
        self.skipped += other.skipped

    def skip(self, entry: str, reason: str) -> None:
        self.skipped.append(Skipped(entry, reason))


def need_password(password: Password | None, what: str) -> str:
    if password is None:
        raise PasswordNeededError(f"{what} is encrypted: give its password (--password)")
    return password(what)


def entry_label(issuer: str, name: str, fallback: str) -> str:
    issuer, name = issuer.strip(), name.strip()
    if issuer and name:
        return f"{issuer}:{name}"
    return issuer or name or fallback


def add(result: ImportResult, label: str, build: Callable[..., AccountSpec], *args: Any) -> None:
    """Build one account; an invalid entry is skipped with the reason, never the secret."""
    try:
        result.accounts.append(build(*args))
    except InvalidInputError as e:
        result.skip(label, str(e))
    except (TypeError, ValueError, KeyError, AttributeError):
        result.skip(label, "malformed entry")


def decode_base32(text: Any) -> bytes:
    """Base32 as the authenticator apps accept it: any case, spaces or '-' between groups,
    padding optional, and any length: the bits after the last whole byte are ignored, as the
    apps do (real exports hold such secrets)."""
    if not isinstance(text, str):
        raise InvalidInputError("secret is missing")
    cleaned = _B32_IGNORED.sub("", text).upper().rstrip("=")
    if not cleaned:
        raise InvalidInputError("secret is empty")
    out = bytearray()
    value = bits = 0
    for i, ch in enumerate(cleaned):
        digit = _B32_ALPHABET.find(ch)
        if digit < 0:
            raise InvalidInputError(
                f"secret is not base32: character {i + 1} is outside A-Z and 2-7"
            )
        value = (value << 5) | digit
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append(value >> bits)
            value &= (1 << bits) - 1
    if not out:
        raise InvalidInputError("secret is shorter than one byte")
    return bytes(out)


def split_prefix(issuer: str, name: str) -> tuple[str, str]:
    """Apply the URI label rule: "Issuer:account" -> ("Issuer", "account") when the issuer is
    empty or equal to the prefix (ignoring case); otherwise keep the name whole."""
    issuer, name = issuer.strip(), name.strip()
    prefix, sep, rest = name.partition(":")
    if sep and rest.strip() and (not issuer or prefix.strip().casefold() == issuer.casefold()):
        return issuer or prefix.strip(), rest.strip()
    return issuer, name


def steam_spec(issuer: str, name: str, secret: bytes) -> AccountSpec:
    """A Steam Guard account: HMAC-SHA1, 30 s, 5 characters of Steam's alphabet, whatever the
    export says of digits or algorithm."""
    return steam_account(issuer, name, secret)


def build_spec(
    kind: str,
    issuer: str,
    name: str,
    secret: bytes,
    algorithm: str,
    digits: int,
    period: int,
    counter: int,
) -> AccountSpec:
    kind = kind.strip().lower()
    issuer, name = split_prefix(issuer, name)
    if not name and issuer:
        issuer, name = "", issuer
    if kind == "steam":
        return steam_spec(issuer, name, secret)
    if kind not in ("totp", "hotp"):
        raise InvalidInputError(f"unsupported type {kind!r} (the token does TOTP, HOTP and Steam)")
    return AccountSpec(
        kind=kind,
        issuer=issuer,
        name=name,
        secret=secret,
        algorithm=algorithm.strip().lower().replace("-", ""),
        digits=digits,
        period=period if kind == "totp" else 30,
        counter=counter if kind == "hotp" else 0,
    )


# ---- loosely typed JSON fields


def as_int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidInputError("a number field holds true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise InvalidInputError("a number field holds something else")


def as_str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def json_spec(
    kind: Any,
    issuer: str,
    name: str,
    secret: Any,
    algorithm: Any,
    digits: Any,
    period: Any,
    counter: Any,
) -> AccountSpec:
    """An account from loosely typed JSON fields (missing ones take the usual defaults)."""
    return build_spec(
        as_str(kind) or "totp",
        issuer,
        name,
        decode_base32(secret),
        as_str(algorithm) or "sha1",
        as_int(digits, 6),
        as_int(period, 30),
        as_int(counter, 0),
    )
