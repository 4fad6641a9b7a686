"""The account model: what the host sends to the token and what the token lists back.

    AccountSpec(kind, issuer, name, secret, algorithm, digits, period, counter)
        an account to store, validated on construction against the vault's limits
        (firmware/vault.py), so anything that builds one can send it as is; its repr omits
        the secret. Parsers (host_tools.otpauth, host_tools.imports) build these.
    steam_account(issuer, name, secret)
        a Steam Guard account (kind "steam": SHA1, 30 s, 5 characters, the only parameters
        Steam uses), the one way parsers should build one
    Account(index, kind, algorithm, digits, period, counter, issuer, name)
        an account as the token lists it: labels and parameters, never the secret.
    check_label(issuer, name)     the label rules, for anything that sets a label (rename)
    shown(text)                   text safe to print on a terminal
    one_account(accounts, query)  the account a user's QUERY names (matching: all it names)

Label rules: issuer 0..64 bytes of UTF-8 without ':'; name 1..64 bytes, ':' only with an
issuer; neither with surrounding spaces, C0 or C1 control characters (U+0000..U+001F,
U+007F..U+009F) or bidirectional overrides and isolates (U+202A..U+202E, U+2066..U+2069),
which could make a terminal show another label than the one stored.

Labels the token lists are decoded leniently: a firmware that stored bytes which are not
UTF-8 must not lock the user out of every account, so such bytes become lone surrogates
(Python's "surrogateescape"), are printed escaped by `shown` (\\xNN), and are encoded back to
the same bytes when the account is named in DELETE or RENAME.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from host_tools.errors import InvalidInputError, NotFoundError
from host_tools.protocol import ALGORITHMS, KINDS, MAX_LABEL, MAX_SECRET
from host_tools.reference import STEAM_DIGITS, STEAM_PERIOD

DIGITS = (6, 7, 8)
LABEL_MAX_BYTES = MAX_LABEL
SECRET_MIN_BYTES = 1
SECRET_MAX_BYTES = MAX_SECRET
PERIOD_MIN = 1
PERIOD_MAX = 3600
COUNTER_MAX = 2**64 - 1

# C0, DEL, C1, and the bidirectional embeddings/overrides/isolates.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def label_of(issuer: str, name: str) -> str:
    return f"{issuer}:{name}" if issuer else name


def shown(text: str) -> str:
    """`text` with every character a terminal would not print as itself escaped: controls,
    format characters such as bidirectional overrides, and bytes that were not UTF-8
    (decoded as surrogates) as \\xNN, \\uNNNN or \\UNNNNNNNN. Printable text is unchanged."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= code <= 0xDCFF:  # an undecodable byte kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def wire_text(text: str) -> bytes:
    """The bytes of a label on the wire: UTF-8, with undecodable bytes the token listed
    restored as they were."""
    return text.encode("utf-8", "surrogateescape")


def _check_text(value: object, what: str, minimum: int) -> None:
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be text")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        # Lone surrogates: on POSIX, bytes of argv that are not UTF-8 arrive this way.
        raise InvalidInputError(f"{what} {quoted(value)} is not valid UTF-8 text") from None
    if not minimum <= size <= LABEL_MAX_BYTES:
        raise InvalidInputError(
            f"{what} must be {minimum} to {LABEL_MAX_BYTES} bytes of UTF-8 "
            f"({quoted(value)} is {size})"
        )
    if _FORBIDDEN.search(value):
        raise InvalidInputError(
            f"{what} {quoted(value)} contains a control or bidirectional-override character"
        )
    if value != value.strip():
        raise InvalidInputError(f"{what} {quoted(value)} starts or ends with spaces")


def quoted(text: str, limit: int = 40) -> str:
    """`text` for an error message: escaped (`shown`), cut if long, in quotes."""
    text = shown(text)
    return "'" + (text if len(text) <= limit else text[: limit - 3] + "...") + "'"


def check_label(issuer: str, name: str) -> None:
    """Raise InvalidInputError if the token would refuse this label (rules above)."""
    _check_text(issuer, "issuer", 0)
    _check_text(name, "name", 1)
    if ":" in issuer:
        raise InvalidInputError("issuer must not contain ':'")
    if not issuer and ":" in name:
        raise InvalidInputError("a name may contain ':' only when an issuer is set")


def _check_int(value: object, what: str, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        if what == "digits":
            raise InvalidInputError(f"digits must be 6, 7 or 8 (got {value!r})")
        raise InvalidInputError(f"{what} must be an integer from {low} to {high} (got {value!r})")


@dataclass(frozen=True)
class AccountSpec:
    kind: str
    issuer: str
    name: str
    secret: bytes = field(repr=False)
    algorithm: str = "sha1"
    digits: int = 6
    period: int = 30
    counter: int = 0

    def __post_init__(self) -> None:
        check_label(self.issuer, self.name)
        if self.kind not in KINDS:
            raise InvalidInputError(f"type must be totp, hotp or steam, not {self.kind!r}")
        if not isinstance(self.secret, bytes):
            raise InvalidInputError("secret must be bytes")
        if not SECRET_MIN_BYTES <= len(self.secret) <= SECRET_MAX_BYTES:
            raise InvalidInputError(
                f"secret must be {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} bytes "
                f"(this one is {len(self.secret)})"
            )
        if self.algorithm not in ALGORITHMS:
            raise InvalidInputError(
                f"unsupported algorithm {self.algorithm!r} (use SHA1, SHA256 or SHA512)"
            )
        if self.kind == "steam":
            self._check_steam()
            return
        _check_int(self.digits, "digits", 6, 8)
        _check_int(self.period, "period", PERIOD_MIN, PERIOD_MAX)
        _check_int(self.counter, "counter", 0, COUNTER_MAX)
        if self.kind == "totp" and self.counter:
            raise InvalidInputError("a totp account has no counter")

    def _check_steam(self) -> None:
        # Steam Guard has one set of parameters; anything else is not a Steam code.
        if (self.algorithm, self.digits, self.period, self.counter) != (
            "sha1",
            STEAM_DIGITS,
            STEAM_PERIOD,
            0,
        ):
            raise InvalidInputError(
                f"a steam account is SHA1, {STEAM_DIGITS} characters, {STEAM_PERIOD} s and no "
                f"counter (got {self.algorithm.upper()}, {self.digits!r} digits, "
                f"{self.period!r} s, counter {self.counter!r})"
            )

    @property
    def label(self) -> str:
        return label_of(self.issuer, self.name)


def steam_account(issuer: str, name: str, secret: bytes) -> AccountSpec:
    """A Steam Guard account (validated like any AccountSpec): what an importer or a URI
    parser builds for an entry of type steam, whatever digits or period the entry states."""
    return AccountSpec("steam", issuer, name, secret, "sha1", STEAM_DIGITS, STEAM_PERIOD)


@dataclass(frozen=True)
class Account:
    """An account as the token lists it: labels and parameters, never the secret."""

    index: int
    kind: str
    algorithm: str
    digits: int
    period: int
    counter: int
    issuer: str  # may hold undecodable bytes as surrogates: print `shown_label`
    name: str

    @property
    def label(self) -> str:
        return label_of(self.issuer, self.name)

    @property
    def shown_label(self) -> str:
        return shown(self.label)


def matching(accounts: Sequence[Account], query: str) -> list[Account]:
    """Accounts a QUERY names, like the token's own lookup: an exact label, else the one label
    equal ignoring case, else every label containing the query ignoring case. A label is also
    found by its escaped form as printed (`shown`), so an account whose label holds bytes
    that are not UTF-8 can still be named."""
    exact = [a for a in accounts if query in (a.label, a.shown_label)]
    if exact:
        return exact
    low = query.lower()
    same = [a for a in accounts if low in (a.label.lower(), a.shown_label.lower())]
    if len(same) == 1:
        return same
    return [a for a in accounts if low in a.label.lower() or low in a.shown_label.lower()]


def one_account(accounts: Sequence[Account], query: str) -> Account:
    """The one account QUERY names; NotFoundError or InvalidInputError (ambiguous) otherwise."""
    found = matching(accounts, query)
    if not found:
        raise NotFoundError(f"no account matches {quoted(query)}")
    if len(found) > 1:
        labels = ", ".join(a.shown_label for a in found[:5]) + (", ..." if len(found) > 5 else "")
        raise InvalidInputError(
            f"{quoted(query)} matches {len(found)} accounts ({labels}); be precise"
        )
    return found[0]


def split_label(text: str, keep_issuer: str) -> tuple[str, str]:
    """A new label as typed: "Issuer:name" sets both; a plain name keeps `keep_issuer`."""
    if ":" in text:
        issuer, _, name = text.partition(":")
        return issuer.strip(), name.strip()
    return keep_issuer, text.strip()
