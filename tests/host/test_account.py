"""The account model: its limits are the vault's, its label rules, and how labels print."""

from __future__ import annotations

from pathlib import Path

import pytest

from host_tools import account
from host_tools.errors import InvalidInputError

# ---- the host's limits are the vault's


def test_limits_match_the_firmware_vault():
    import re

    # The vault's limits (vault.py), the rules a stored record keeps (vaultload.py) and the
    # checks of new values (vaultedit.py).
    firmware = Path(__file__).resolve().parents[2] / "firmware"
    source = "\n".join(
        (firmware / name).read_text() for name in ("vault.py", "vaultload.py", "vaultedit.py")
    )

    def const(name: str) -> int:
        found = re.search(rf"^{name} = const\((\d+)\)", source, re.MULTILINE)
        assert found, name
        return int(found.group(1))

    assert const("MAX_LABEL") == account.LABEL_MAX_BYTES
    assert const("MAX_SECRET") == account.SECRET_MAX_BYTES
    assert const("_MAX_PERIOD") == account.PERIOD_MAX
    assert '_ALGORITHMS = ("sha1", "sha256", "sha512")' in source
    assert account.ALGORITHMS == ("sha1", "sha256", "sha512")
    assert "digits < 6 or digits > 8:" in source and account.DIGITS == (6, 7, 8)
    assert "period < 1 or period > _MAX_PERIOD:" in source and account.PERIOD_MIN == 1
    assert "_COUNTER_LIMIT = 1 << 64" in source and account.COUNTER_MAX == 2**64 - 1


# ---- label rules


@pytest.mark.parametrize(
    "bad",
    [
        "\x1b[2J",  # C0 (already refused before)
        "a\x7fb",  # DEL
        "a\x85b",  # C1: next line
        "a\x9b31mb",  # C1: control sequence introducer
        "x\u202agpj.exe",  # left-to-right embedding
        "x\u202egpj.exe",  # right-to-left override
        "x\u2066y",  # left-to-right isolate
        "x\u2069y",  # pop directional isolate
    ],
)
def test_controls_and_bidirectional_overrides_are_refused(bad: str) -> None:
    for issuer, name in (("ACME", bad), (bad, "alice")):
        with pytest.raises(InvalidInputError, match="control or bidirectional") as e:
            account.AccountSpec("totp", issuer, name, b"k" * 10)
        assert bad not in str(e.value)  # the message shows it escaped, never raw
        with pytest.raises(InvalidInputError):
            account.check_label(issuer, name)


def test_neighbours_of_the_refused_ranges_are_accepted() -> None:
    # U+00A0 follows C1, U+202F the overrides, U+2070 the isolates.
    for fine in ("a\xa0b", "x\u202fy", "x\u2070", "ñandú"):
        account.AccountSpec("totp", "ACME", fine, b"k" * 10)


def test_text_that_is_not_utf8_is_refused_escaped() -> None:
    raw = b"al\xffice".decode("utf-8", "surrogateescape")  # how argv delivers it on POSIX
    with pytest.raises(InvalidInputError, match=r"'al\\xffice' is not valid UTF-8"):
        account.check_label("ACME", raw)
