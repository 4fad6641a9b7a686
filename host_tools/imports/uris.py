"""otpauth:// URIs as exporters write them, one account each.

The Key Uri Format rules are host_tools.otpauth.parse_uri's; this module adds what exports
hold beyond them: secrets of any base32 length (the trailing bits ignored, as the apps do) and
Steam Guard accounts, written `otpauth://steam/LABEL?secret=...` or as a TOTP URI with
`encoder=steam`. A Steam URI's digits, algorithm and period are Steam's, whatever it says.
"""

from __future__ import annotations

import base64
import urllib.parse

from host_tools.account import AccountSpec
from host_tools.errors import InvalidInputError
from host_tools.imports import common
from host_tools.otpauth import parse_uri

_STEAM_IGNORED = {"digits", "algorithm", "period", "encoder"}


def uri_label(line: str) -> str:
    """The label of a URI as text, to name it in a skipped line ("" if there is none)."""
    try:
        path = urllib.parse.urlsplit(line.strip()).path
        return urllib.parse.unquote(path.lstrip("/")).strip()
    except ValueError:
        return ""


def parse_export_uri(line: str) -> AccountSpec:
    """One otpauth:// URI from an export: parse_uri's rules, plus any base32 length and
    Steam (module docstring)."""
    try:
        parts = urllib.parse.urlsplit(line.strip())
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("not a valid URI") from None
    keys = {key.strip().lower(): value for key, value in pairs}
    steam = parts.netloc.lower() == "steam" or keys.get("encoder", "").lower() == "steam"
    query = []
    for key, value in pairs:
        name = key.strip().lower()
        if name == "secret":
            # Canonical base32 of what the apps would read, so parse_uri accepts any length.
            value = base64.b32encode(common.decode_base32(value)).decode("ascii").rstrip("=")
        elif steam and name in _STEAM_IGNORED:
            continue
        query.append((key, value))
    netloc = "totp" if steam else parts.netloc
    rebuilt = urllib.parse.urlunsplit(
        (
            parts.scheme,
            netloc,
            parts.path,
            urllib.parse.urlencode(query, quote_via=urllib.parse.quote),
            "",
        )
    )
    spec = parse_uri(rebuilt)
    return common.steam_spec(spec.issuer, spec.name, spec.secret) if steam else spec
