"""The protocol is written down in three places that must agree: the firmware (`_NAME =
const(...)` in firmware/protocol.py, server.py, authcmds.py and vault.py, kept there because
a shared constants module would cost a dict of RAM on the device), the host (`host_tools.protocol`)
and docs/protocol.md. This test reads all three and names every difference.

The firmware is parsed, not imported (it is MicroPython). Every module-level constant of the
firmware's protocol modules must be either a command, a status, a wire limit compared here,
or listed in FIRMWARE_INTERNAL with the reason it is not part of the contract.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from host_tools import protocol as hp

REPO = Path(__file__).resolve().parents[2]
FIRMWARE = REPO / "firmware"
DOC = REPO / "docs" / "protocol.md"
PROTOCOL_FILES = (
    "protocol.py", "server.py", "authcmds.py", "clockguard.py",
    "cmdcodes.py", "cmdinfo.py", "cmdconfig.py", "cmdpin.py", "cmdtools.py",
)  # fmt: skip

# Firmware constants that are not part of the wire contract, and why.
FIRMWARE_INTERNAL = {
    "MARK": "the '!' byte (host: MARK, bytes; compared in test_lists_and_flags_agree...)",
    "CR": "a line end byte",
    "LF": "a line end byte",
    "ENTRY_MAX": "the largest CODES entry, derived from MAX_LABEL (checked below)",
    "CHECK_WINDOW_MS": "how long CHECK works (the docs' '5 minutes', checked below)",
    "ENOSPC": "errno of a full flash",
    "AUTH_IDLE_MS": "how long a login lasts without a command (docs/security.md)",
    "FREE_S": "clockguard: unconfirmed clock changes allowed (docs/security.md)",
    "HOLD_S": "clockguard: how long codes are held after a large change (docs/security.md)",
    "FILE": "clockguard: its file's name",
    "MAGIC": "clockguard: its file's magic",
    "ACCOUNT_OVERHEAD": "heap bytes of an account's object, for ADD's room check",
    "HEAP_MARGIN": "free heap ADD leaves beside a new account (a token-side tunable)",
}

# Firmware name (leading underscore dropped) -> host_tools.protocol name, where they differ.
LIMITS = {
    "MAX_PAYLOAD": "MAX_PAYLOAD",
    "MAX_FRAME": "MAX_FRAME",
    "MAX_TEXT": "MAX_TEXT",  # base64 characters of the largest frame
    "MAX_LINE": "MAX_LINE",
    "HEADER": "HEADER",
    "CRC": "CRC_SIZE",
    "FLAG_RESPONSE": "FLAG_RESPONSE",
    "FLAG_MORE": "FLAG_MORE",
    "PROTOCOL_MAJOR": "PROTOCOL_MAJOR",
    "PROTOCOL_MINOR": "PROTOCOL_MINOR",
    "MAX_TEXT_FIELD": "MAX_LABEL",
    "MAX_SECRET": "MAX_SECRET",
    "MAX_VECTORS": "MAX_VECTORS",
    "WIPE_MAGIC": "WIPE_MAGIC",
    "FACTORY_MAGIC": "FACTORY_MAGIC",
    "ALGORITHMS": "ALGORITHMS",
    "KINDS": "KINDS",
    "STEAM_DIGITS": "STEAM_DIGITS",
    "MAX_ENTROPY": "MAX_ENTROPY",  # host entropy in PIN_SET
}
# Limits the host learns from HELLO or does not name: compared with the docs only (and with
# the host where it defines them).
DOC_ONLY = ("MAX_REQUEST", "MAX_RESPONSE", "MAX_MESSAGE", "MAX_CHECKS")
INFO_FLAGS = (
    "INFO_CLOCK", "INFO_DISPLAY", "INFO_CORRUPT", "INFO_RECOVERED", "INFO_PASSWORD", "INFO_LOCKED",
    "INFO_PIN",
)  # fmt: skip


def _value(node: ast.expr) -> object:
    # `const(x)` or a plain literal (tuples and bytes are not const() on MicroPython).
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "const":
        node = node.args[0]
    return ast.literal_eval(node)


def firmware_constants(name: str) -> dict[str, object]:
    """Module-level NAME = const(...) / literal assignments of firmware/<name>, by name with
    any leading underscore dropped."""
    tree = ast.parse((FIRMWARE / name).read_text(), name)
    found: dict[str, object] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Name) or not target.id.lstrip("_").isupper():
            continue
        try:
            value = _value(node.value)
        except ValueError:
            continue  # computed (e.g. a dict of other constants): not a literal
        found[target.id.lstrip("_")] = value
    return found


def protocol_constants() -> dict[str, object]:
    merged: dict[str, object] = {}
    for name in PROTOCOL_FILES:
        for key, value in firmware_constants(name).items():
            if key in merged and merged[key] != value:
                pytest.fail(f"{key} is {merged[key]!r} in one firmware file, {value!r} in {name}")
            merged[key] = value
    return merged


def handler_table() -> set[str]:
    """Command names that server.Server's dispatch table maps to handlers."""
    tree = ast.parse((FIRMWARE / "server.py").read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Attribute)
            and node.targets[0].attr == "_handlers"
            and isinstance(node.value, ast.Dict)
        ):
            return {k.id.lstrip("_") for k in node.value.keys if isinstance(k, ast.Name)}
    pytest.fail("server.py has no self._handlers = {...} dispatch table")


def host_value(name: str) -> object:
    if name == "MAX_VECTORS" and not hasattr(hp, name):
        from host_tools import session  # its older home

        return session.MAX_VECTORS
    return getattr(hp, name)


def doc_table(heading: str) -> dict[str, int]:
    """name -> code of the table under `## heading` in docs/protocol.md."""
    text = DOC.read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (0x[0-9A-Fa-f]{2}) \| ([A-Z_]+) \|", section, re.M)
    return {name: int(code, 16) for code, name in rows}


def doc_number(pattern: str) -> int:
    m = re.search(pattern, " ".join(DOC.read_text().split()))
    assert m, f"docs/protocol.md no longer says /{pattern}/"
    return int(m.group(1))


def _hex(code: int | None) -> str:
    return "nothing" if code is None else f"0x{code:02x}"


# ---- commands and statuses


def test_commands_agree_across_firmware_host_and_docs() -> None:
    fw = protocol_constants()
    host = {c.name: int(c) for c in hp.Command}
    docs = doc_table("Commands")
    problems = []
    for name, code in host.items():
        if name not in fw:
            problems.append(f"command {name} (0x{code:02x}) is not defined in the firmware")
        elif fw[name] != code:
            problems.append(f"command {name}: firmware 0x{fw[name]:02x}, host 0x{code:02x}")
        if docs.get(name) != code:
            problems.append(f"command {name}: docs {_hex(docs.get(name))}, host 0x{code:02x}")
    for name in sorted(set(docs) - set(host)):
        problems.append(f"command {name} is in docs/protocol.md but not in the host's Command")
    handled = handler_table() | {"CONTINUE"}  # CONTINUE is the message layer's
    for name in sorted(handled ^ set(host)):
        side = "firmware's dispatch table" if name in handled else "host's Command"
        problems.append(f"command {name} is only in the {side}")
    assert not problems, "\n".join(problems)


def test_statuses_agree_across_firmware_host_and_docs() -> None:
    fw = protocol_constants()
    host = {s.name: int(s) for s in hp.Status}
    docs = doc_table("Status codes")
    problems = []
    for name, code in host.items():
        if name not in fw:
            problems.append(f"status {name} (0x{code:02x}) is not defined in the firmware")
        elif fw[name] != code:
            problems.append(f"status {name}: firmware 0x{fw[name]:02x}, host 0x{code:02x}")
        if docs.get(name) != code:
            problems.append(f"status {name}: docs {_hex(docs.get(name))}, host 0x{code:02x}")
    for name in sorted(set(docs) - set(host)):
        problems.append(f"status {name} is in docs/protocol.md but not in the host's Status")
    assert not problems, "\n".join(problems)


def test_every_firmware_constant_is_known_to_this_test() -> None:
    known = (
        {c.name for c in hp.Command}
        | {s.name for s in hp.Status}
        | set(LIMITS)
        | set(DOC_ONLY)
        | set(INFO_FLAGS)
        | set(FIRMWARE_INTERNAL)
    )
    unknown = sorted(set(protocol_constants()) - known)
    assert not unknown, (
        f"firmware protocol constants this test does not compare: {unknown}; add them to the "
        "host (host_tools/protocol.py) and docs, or to FIRMWARE_INTERNAL with a reason"
    )


# ---- limits, lists, flags


def test_limits_and_lists_agree_with_the_host() -> None:
    fw = protocol_constants()
    problems = []
    for fw_name, host_name in LIMITS.items():
        if fw_name not in fw:
            problems.append(f"{fw_name} is not defined in firmware/{'/'.join(PROTOCOL_FILES)}")
            continue
        host = host_value(host_name)
        if fw[fw_name] != host:
            problems.append(f"{fw_name}: firmware {fw[fw_name]!r}, host {host_name} {host!r}")
    for name in DOC_ONLY + INFO_FLAGS:
        if name not in fw:
            problems.append(f"{name} is not defined in the firmware")
        elif name in INFO_FLAGS and not hasattr(hp, name):
            problems.append(f"{name} is not defined in host_tools/protocol.py")
        elif hasattr(hp, name) and getattr(hp, name) != fw[name]:
            problems.append(f"{name}: firmware {fw[name]!r}, host {getattr(hp, name)!r}")
    assert not problems, "\n".join(problems)


def test_the_vault_stores_what_the_protocol_carries() -> None:
    vault = firmware_constants("vault.py")
    problems = []
    for fw_name, host_name in (("MAX_LABEL", "MAX_LABEL"), ("MAX_SECRET", "MAX_SECRET"),
                               ("ALGORITHMS", "ALGORITHMS")):
        if fw_name not in vault:
            problems.append(f"{fw_name} is not defined in firmware/vault.py")
        elif vault[fw_name] != host_value(host_name):
            problems.append(
                f"vault.py {fw_name} {vault[fw_name]!r}, host {host_value(host_name)!r}"
            )
    assert not problems, "\n".join(problems)


def test_limits_agree_with_the_docs() -> None:
    fw = protocol_constants()
    doc = {
        "MAX_PAYLOAD": doc_number(r"payload per frame (\d+) bytes"),
        "MAX_REQUEST": doc_number(r"request message (\d+) bytes"),
        "MAX_RESPONSE": doc_number(r"answer message (\d+) bytes"),
        "MAX_FRAME": doc_number(r"The largest frame is (\d+) bytes"),
        "MAX_TEXT": doc_number(r"The largest frame is \d+ bytes, (\d+) base64 characters"),
        "MAX_LINE": doc_number(r"base64 characters, (\d+) bytes with the mark and LF"),
        "MAX_TEXT_FIELD": doc_number(r"UTF-8 bytes, at most (\d+) bytes \(labels\)"),
        "MAX_SECRET": doc_number(r"bytes secret \(1\.\.(\d+)\)"),
        "MAX_CHECKS": doc_number(r"u8 n \(<= (\d+)\), n x u64"),
        "MAX_VECTORS": doc_number(r"u8 n \(<= (\d+)\), n x \(u8 algorithm"),
        "MAX_MESSAGE": doc_number(r"UTF-8 message \(at most (\d+) bytes\)"),
        "PROTOCOL_MAJOR": doc_number(r"the contract both sides follow; version (\d+)\.\d+"),
        "PROTOCOL_MINOR": doc_number(r"the contract both sides follow; version \d+\.(\d+)"),
        "CHECK_WINDOW_MS": doc_number(r"for the account added last, within (\d+) minutes")
        * 60000,
        "STEAM_DIGITS": doc_number(r"a VECTORS entry with digits (\d+) asks for a Steam code"),
    }
    problems = [
        f"{name}: firmware {fw.get(name)!r}, docs/protocol.md {value!r}"
        for name, value in doc.items()
        if fw.get(name) != value
    ]
    # The largest entry the server keeps room for: 10 fixed bytes, two texts, a 5-byte code.
    entry = 10 + 2 * (1 + hp.MAX_LABEL) + 5
    if fw.get("ENTRY_MAX") != entry:
        problems.append(f"ENTRY_MAX: firmware {fw.get('ENTRY_MAX')!r}, from MAX_LABEL {entry}")
    assert not problems, "\n".join(problems)


def test_lists_and_flags_agree_with_the_docs() -> None:
    fw = protocol_constants()
    text = " ".join(DOC.read_text().split())
    algorithms = " ".join(f"{i} {a.upper()}," for i, a in enumerate(hp.ALGORITHMS, 1))
    kinds = " ".join(f"{i} {k.upper()}," for i, k in enumerate(hp.KINDS))
    problems = []
    if f"Algorithm: {algorithms.rstrip(',')}." not in text:
        problems.append(f"docs do not list the algorithms as 'Algorithm: {algorithms}'")
    if f"Kind: {kinds.rstrip(',')}." not in text:
        problems.append(f"docs do not list the kinds as 'Kind: {kinds}'")
    m = re.search(r"u8 flags \((bit 0 [^)]*)\)", text)
    assert m, "docs/protocol.md no longer describes INFO's flags"
    doc_bits = dict(re.findall(r"(\d) ([a-z][a-z ]*?)(?:,|$)", m.group(1).replace("bit ", "")))
    words = {"INFO_CLOCK": "clock valid", "INFO_DISPLAY": "has a display",
             "INFO_CORRUPT": "vault damaged", "INFO_RECOVERED": "vault loaded from its"}
    for name, words_ in words.items():
        bit = fw.get(name)
        said = doc_bits.get(str(bit.bit_length() - 1)) if isinstance(bit, int) else None
        if not said or not said.startswith(words_):
            problems.append(f"INFO flag {name} = {bit!r}: docs say bit means {said!r}")
    if f"the 4 bytes `{hp.WIPE_MAGIC.decode()}`" not in text:
        problems.append("docs do not name WIPE's confirmation bytes as the host sends them")
    if hp.MARK != b"!" or fw.get("MARK") != ord("!"):
        problems.append(f"frame mark: firmware {fw.get('MARK')!r}, host {hp.MARK!r}")
    assert not problems, "\n".join(problems)
