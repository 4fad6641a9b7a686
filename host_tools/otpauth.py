"""Account descriptions for provisioning: otpauth:// URIs, --secret fields, QR screenshots.

    parse_uri(text) -> AccountSpec            # otpauth://totp|hotp/LABEL?secret=...&...
    to_uri(spec) -> str                       # the canonical URI; parse_uri(to_uri(s)) == s
    spec_from_fields(secret_b32, name, issuer="", algorithm="sha1", digits=6, period=30,
                     kind="totp", counter=0) -> AccountSpec          # the --secret form
    decode_qr(image_path) -> list[str]        # texts of every QR code in the image
    decode_base32(text) -> bytes              # lenient base32 (case, spaces, padding)

The account model and its rules (label, secret, digits, period, counter) are
host_tools.account's; this module only parses text into AccountSpec.

Every problem raises host_tools.errors.InvalidInputError with one line that never contains
the secret (a bad base32 character is reported by position only).

Rules for URIs (Key Uri Format, plus what real exporters produce):
- scheme and type are case-insensitive; type totp, hotp or steam (others are refused);
- Steam Guard: `otpauth://steam/...` (as Aegis writes it) or `otpauth://totp/...` with
  `encoder=steam` (as KeePassXC writes it) is a steam account; algorithm, digits and period
  may be given only with Steam's values (SHA1, 5, 30);
- LABEL is percent-decoded, then split at its first ':' (or '%3A') into issuer prefix and
  account name; spaces around both are dropped ("Example:%20alice" -> "Example", "alice"),
  and further ':' stay in the name ("Corp:alice:work" -> "Corp", "alice:work"); '+' in the
  path is a literal plus, in the query it is a space (form encoding, as exporters do);
- the `issuer` parameter and the label prefix must agree, ignoring case and surrounding
  spaces; the parameter's spelling is kept; a disagreement is an error (we do not guess which
  is right: use --secret with --issuer/--name instead); either one alone is the issuer;
- secret: base32, any case, spaces and '-' ignored, '=' padding optional;
- algorithm SHA1/SHA256/SHA512 (any case, "SHA-256" too), default SHA1; digits default 6;
  period default 30 (ignored for hotp); counter required for hotp (ignored for totp);
- a repeated parameter is an error; unknown parameters (image, color, ...) are ignored.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import urllib.parse
from pathlib import Path

from host_tools.account import AccountSpec, steam_account
from host_tools.errors import InvalidInputError, NoQrCodeError
from host_tools.protocol import ALGORITHMS, KINDS

log = logging.getLogger(__name__)

URI_MAX_CHARS = 4096

_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_IGNORED = re.compile(r"[\s\-]+")


def decode_base32(text: str) -> bytes:
    """Base32 as people paste it: any case, spaces or '-' between groups, padding optional."""
    cleaned = _B32_IGNORED.sub("", text).upper().rstrip("=")
    if not cleaned:
        raise InvalidInputError("secret is empty")
    for i, ch in enumerate(cleaned):
        if ch not in _B32_ALPHABET:
            raise InvalidInputError(
                f"secret is not base32: character {i + 1} is outside A-Z and 2-7"
            )
    if len(cleaned) % 8 in (1, 3, 6):
        raise InvalidInputError(
            f"secret is not base32: {len(cleaned)} characters is not a possible length"
        )
    try:
        return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except binascii.Error:  # pragma: no cover - the checks above leave nothing for it
        raise InvalidInputError("secret is not valid base32") from None


def encode_base32(secret: bytes) -> str:
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def _algorithm(text: str) -> str:
    algo = text.strip().lower().replace("-", "")
    if algo not in ALGORITHMS:
        raise InvalidInputError(f"unsupported algorithm {text!r} (use SHA1, SHA256 or SHA512)")
    return algo


def _integer(text: str, what: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        if what == "digits":
            raise InvalidInputError(f"digits must be 6, 7 or 8 (got {text!r})")
        raise InvalidInputError(f"{what} must be a whole number (got {text!r})")
    if len(value) > 30:
        raise InvalidInputError(f"{what} is too large")
    return int(value)


def parse_uri(text: str) -> AccountSpec:
    """Parse one otpauth:// URI into a validated AccountSpec (rules in the module docstring)."""
    if not isinstance(text, str):
        raise InvalidInputError("URI must be text")
    text = text.strip()
    if len(text) > URI_MAX_CHARS:
        raise InvalidInputError(f"URI is longer than {URI_MAX_CHARS} characters")
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:
        raise InvalidInputError("not a valid URI") from None
    scheme = parts.scheme.lower()
    if scheme == "otpauth-migration":
        raise InvalidInputError(
            "this is a Google Authenticator export (otpauth-migration://), not one account"
        )
    if scheme != "otpauth":
        raise InvalidInputError("not an otpauth:// URI")
    kind = parts.netloc.lower()
    if kind not in KINDS:
        raise InvalidInputError(f"unsupported OTP type {parts.netloc!r} (use totp, hotp or steam)")

    params: dict[str, str] = {}
    try:
        pairs = urllib.parse.parse_qsl(
            parts.query, keep_blank_values=True, strict_parsing=False, errors="strict"
        )
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("URI query is not valid UTF-8") from None
    for key, value in pairs:
        key = key.strip().lower()
        if key in params:
            raise InvalidInputError(f"parameter {key!r} appears more than once")
        params[key] = value

    try:
        label = urllib.parse.unquote(parts.path.lstrip("/"), errors="strict")
    except UnicodeDecodeError:
        raise InvalidInputError("label is not valid UTF-8") from None
    prefix, sep, name = label.partition(":")
    if not sep:
        prefix, name = "", label
    prefix, name = prefix.strip(), name.strip()
    if not name:
        raise InvalidInputError("URI has no account name in its label")

    issuer = prefix
    if "issuer" in params:
        param = params["issuer"].strip()
        if prefix and param and param.casefold() != prefix.casefold():
            raise InvalidInputError(
                f"label issuer {prefix!r} differs from issuer parameter {param!r}; "
                "use --secret with --issuer and --name to choose"
            )
        issuer = param or prefix

    if "secret" not in params:
        raise InvalidInputError("URI has no secret parameter")
    secret = decode_base32(params["secret"])
    if "encoder" in params:
        encoder = params["encoder"].strip().lower()
        if encoder != "steam" or kind == "hotp":
            raise InvalidInputError(
                f"unsupported encoder {params['encoder']!r} for {kind} (only totp with steam)"
            )
        kind = "steam"
    if kind == "steam":
        return _steam_spec(issuer, name, secret, params)
    algorithm = _algorithm(params["algorithm"]) if "algorithm" in params else "sha1"
    digits = _integer(params["digits"], "digits") if "digits" in params else 6
    period = 30
    counter = 0
    if kind == "totp":
        if "period" in params:
            period = _integer(params["period"], "period")
    else:
        if "counter" not in params:
            raise InvalidInputError("an hotp URI needs a counter parameter")
        counter = _integer(params["counter"], "counter")
    ignored = sorted(
        set(params) - {"secret", "issuer", "algorithm", "digits", "period", "counter", "encoder"}
    )
    if ignored:
        log.debug("ignored URI parameters: %s", ", ".join(ignored))
    spec = AccountSpec(kind, issuer, name, secret, algorithm, digits, period, counter)
    log.debug("parsed %s account %s", kind, spec.label)
    return spec


def _steam_spec(issuer: str, name: str, secret: bytes, params: dict[str, str]) -> AccountSpec:
    # Steam's parameters are fixed: stated ones must be those (AccountSpec says which differ).
    spec = steam_account(issuer, name, secret)
    stated = AccountSpec(
        "steam",
        issuer,
        name,
        secret,
        _algorithm(params["algorithm"]) if "algorithm" in params else spec.algorithm,
        _integer(params["digits"], "digits") if "digits" in params else spec.digits,
        _integer(params["period"], "period") if "period" in params else spec.period,
    )
    log.debug("parsed steam account %s", stated.label)
    return stated


def to_uri(spec: AccountSpec) -> str:
    """The canonical otpauth URI of a spec (every parameter explicit)."""
    quote = urllib.parse.quote
    label = quote(spec.name, safe="@")
    if spec.issuer:
        label = quote(spec.issuer, safe="@") + ":" + label
    query = [("secret", encode_base32(spec.secret))]
    if spec.issuer:
        query.append(("issuer", spec.issuer))
    query += [("algorithm", spec.algorithm.upper()), ("digits", str(spec.digits))]
    if spec.kind != "hotp":
        query.append(("period", str(spec.period)))
    else:
        query.append(("counter", str(spec.counter)))
    return f"otpauth://{spec.kind}/{label}?" + urllib.parse.urlencode(query, quote_via=quote)


def spec_from_fields(
    secret_b32: str,
    name: str,
    issuer: str = "",
    algorithm: str = "sha1",
    digits: int = 6,
    period: int = 30,
    kind: str = "totp",
    counter: int = 0,
) -> AccountSpec:
    """The --secret form. Spaces around issuer and name are dropped; with no issuer, a name
    "Issuer:account" is split like a URI label."""
    name = (name or "").strip()
    issuer = (issuer or "").strip()
    if not issuer and ":" in name:
        issuer, _, name = name.partition(":")
        issuer, name = issuer.strip(), name.strip()
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise InvalidInputError(f"unsupported OTP type {kind!r} (use totp, hotp or steam)")
    if kind == "steam":  # Steam's own parameters; algorithm, digits and period do not apply
        return steam_account(issuer, name, decode_base32(secret_b32))
    return AccountSpec(
        kind=kind,
        issuer=issuer,
        name=name,
        secret=decode_base32(secret_b32),
        algorithm=_algorithm(algorithm),
        digits=digits,
        period=period if kind == "totp" else 30,
        counter=counter if kind == "hotp" else 0,
    )


def decode_qr(image_path: str | Path) -> list[str]:
    """Texts of all QR codes found in an image file (PNG, JPEG, ...), in reading order."""
    import zxingcpp  # imported here: only --qr needs the native library
    from PIL import Image, UnidentifiedImageError

    path = Path(image_path)
    try:
        with Image.open(path) as img:
            img.load()
            image = img.convert("L")
    except FileNotFoundError:
        raise InvalidInputError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as e:
        raise InvalidInputError(f"cannot read image {path}: {e.__class__.__name__}") from None
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    found = zxingcpp.read_barcodes(image, formats=qr_only)
    texts = [b.text for b in found if b.valid]
    if not texts:
        raise NoQrCodeError(f"no QR code found in {path}")
    log.debug("found %d QR code(s) in %s", len(texts), path)
    return texts
