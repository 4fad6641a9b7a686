"""The account model: its limits are the vault's, its label rules, and how labels print."""

from __future__ import annotations

from pathlib import Path

from host_tools import account

# ---- the host's limits are the vault's


def test_limits_match_the_firmware_vault():
    import re

    source = (Path(__file__).resolve().parents[2] / "firmware" / "vault.py").read_text()

    def const(name: str) -> int:
        found = re.search(rf"^{name} = const\((\d+)\)", source, re.MULTILINE)
        assert found, name
        return int(found.group(1))

    assert const("_MAX_LABEL") == account.LABEL_MAX_BYTES
    assert const("_MAX_SECRET") == account.SECRET_MAX_BYTES
    assert const("_MAX_PERIOD") == account.PERIOD_MAX
    assert '_ALGORITHMS = ("sha1", "sha256", "sha512")' in source
    assert account.ALGORITHMS == ("sha1", "sha256", "sha512")
    assert '_int(digits, "digits", 6, 8)' in source and account.DIGITS == (6, 7, 8)
    assert '_int(period, "period", 1, _MAX_PERIOD)' in source and account.PERIOD_MIN == 1
    assert "_COUNTER_LIMIT = 1 << 64" in source and account.COUNTER_MAX == 2**64 - 1
