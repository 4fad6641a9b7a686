"""Labels already stored on a token that the host would not accept today: bytes that are not
UTF-8 (an older firmware stored what MicroPython's decode accepted: surrogates, code points
above U+10FFFF, overlong forms) and controls or bidirectional overrides. The host must list
them escaped, and still delete or rename those accounts by the exact stored bytes.

The token here is a small fake in this process, answering LIST, CODES, DELETE and RENAME
like firmware/server.py, because a current firmware refuses to store such labels at all."""

from __future__ import annotations

import json
import struct

import pytest
from test_cli import one_line_error, run

from host_tools import protocol as p
from host_tools.account import shown
from host_tools.commands import _token
from host_tools.errors import NotFoundError
from host_tools.link import Link, status_error
from host_tools.session import Session

SURROGATE = b"\xed\xa0\x80"  # U+D800 as MicroPython encodes it
TOO_HIGH = b"\xf4\x90\x80\x80"  # above U+10FFFF
OVERLONG = b"\xc1\x81"  # "A" in two bytes
RLO = "\u202e".encode()  # right-to-left override: valid UTF-8, but rewrites the line
CSI = "\u009b".encode()  # C1 control sequence introducer


class StoredLabelsToken(Link):
    """A link to a fake token whose accounts are (issuer bytes, name bytes) pairs."""

    def __init__(self, labels: list[tuple[bytes, bytes]]) -> None:
        super().__init__(transport=None)  # type: ignore[arg-type]
        self.labels = list(labels)
        self.requests: list[tuple[int, bytes]] = []

    def end_line(self) -> None:
        pass

    def close(self) -> None:
        pass

    def request(self, command: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        self.requests.append((command, payload))
        r = p.FieldReader(payload)
        if command == p.Command.HELLO:
            return p.Fields().u8(1).u8(0).u16(128).u16(640).u16(1040).text("fake").bytes()
        if command in (p.Command.LIST, p.Command.CODES):
            start = r.u8()
            out = bytearray(struct.pack("<B", len(self.labels)))
            if command == p.Command.CODES:
                out += struct.pack("<BQ", 1, 1_700_000_000)
            for i, (issuer, name) in enumerate(self.labels[start:], start):
                out += struct.pack("<BBBBHI", i, 0, 1, 6, 30, 0)
                out += bytes([len(issuer)]) + issuer + bytes([len(name)]) + name
                if command == p.Command.CODES:
                    out += struct.pack("<IB", 123456, 10)
            return bytes(out)
        key = (r.raw(), r.raw())
        if key not in self.labels:
            raise status_error(p.Status.NOT_FOUND, "no such account")
        if command == p.Command.DELETE:
            self.labels.remove(key)
        elif command == p.Command.RENAME:
            self.labels[self.labels.index(key)] = (r.raw(), r.raw())
        else:
            raise AssertionError(command)
        r.end()
        return b""


BROKEN = [
    (b"ACME", b"sur" + SURROGATE),
    (b"Big" + TOO_HIGH, b"bob"),
    (b"Old", OVERLONG + b"lice"),
    (b"Evil", b"x" + RLO + b"gpj.exe"),
    (b"Term", CSI + b"31m"),
]


def test_undecodable_labels_are_listed_and_named_by_their_exact_bytes() -> None:
    token = StoredLabelsToken([*BROKEN, (b"Good", b"carol")])
    s = Session(token)
    accounts = s.accounts()
    assert [a.label for a in accounts][-1] == "Good:carol"
    assert accounts[0].shown_label == "ACME:sur\\xed\\xa0\\x80"
    assert accounts[1].shown_label == "Big\\xf4\\x90\\x80\\x80:bob"
    assert accounts[2].shown_label == "Old:\\xc1\\x81lice"
    assert accounts[3].shown_label == "Evil:x\\u202egpj.exe"
    assert accounts[4].shown_label == "Term:\\x9b31m"
    s.delete(accounts[0])
    assert token.requests[-1] == (p.Command.DELETE, b"\x04ACME\x06sur" + SURROGATE)
    s.rename(accounts[2], "Old", "alice")
    assert token.labels[1] == (b"Old", b"alice")
    _, codes = s.codes()
    assert [c.text for c in codes] == ["123456"] * 5


def test_shown_escapes_only_what_a_terminal_would_not_print_as_itself() -> None:
    assert shown("ACME:ñandú 日本 ✓") == "ACME:ñandú 日本 ✓"
    assert shown("a\tb\x1b[2J\x7f") == "a\\x09b\\x1b[2J\\x7f"
    assert shown("\u2066x\u2069\u200f") == "\\u2066x\\u2069\\u200f"
    assert shown(b"\xff\xfe".decode("utf-8", "surrogateescape")) == "\\xff\\xfe"


@pytest.fixture
def broken_token(monkeypatch: pytest.MonkeyPatch) -> StoredLabelsToken:
    token = StoredLabelsToken([*BROKEN, (b"Good", b"carol")])
    monkeypatch.setattr(_token, "open_session", lambda port: Session(token))
    return token


def printable(text: str) -> bool:
    return all(ch.isprintable() or ch == "\n" for ch in text)


def test_list_and_code_print_labels_escaped(broken_token, capsys) -> None:  # type: ignore[no-untyped-def]
    for args in (["list"], ["code"], ["list", "--json"], ["code", "--json"]):
        status, out, err = run(capsys, *args)
        assert status == 0, err
        assert printable(out) and printable(err), args
        if "--json" in args:
            out = out.replace("\\\\", "\\")
        assert "sur\\xed\\xa0\\x80" in out and "x\\u202egpj.exe" in out, args
    _, out, _ = run(capsys, "list", "--json")
    assert json.loads(out)[4]["label"] == "Term:\\x9b31m"


def test_delete_and_rename_reach_accounts_with_undecodable_labels(broken_token, capsys) -> None:  # type: ignore[no-untyped-def]
    status, out, err = run(capsys, "delete", "ACME:sur\\xed\\xa0\\x80", "--force")
    assert status == 0, err
    assert out.strip() == "deleted ACME:sur\\xed\\xa0\\x80"
    assert (b"ACME", b"sur" + SURROGATE) not in broken_token.labels
    status, out, err = run(capsys, "rename", "Big\\xf4", "Big:robert")
    assert status == 0, err
    assert (b"Big", b"robert") in broken_token.labels
    status, out, err = run(capsys, "rename", "gpj.exe", "Evil:notes")
    assert status == 0 and printable(out), err
    assert (b"Evil", b"notes") in broken_token.labels


def test_a_rename_keeping_an_undecodable_issuer_is_refused(broken_token, capsys) -> None:  # type: ignore[no-untyped-def]
    before = list(broken_token.labels)
    status, _, err = run(capsys, "rename", "Big\\xf4", "robert")  # keeps issuer "Big\xf4..."
    assert status == 2 and "not valid UTF-8" in one_line_error(err)
    assert printable(err)
    assert broken_token.labels == before


def test_a_missing_account_stays_not_found() -> None:
    s = Session(StoredLabelsToken(BROKEN))
    account = s.accounts()[0]
    s.delete(account)
    with pytest.raises(NotFoundError):
        s.delete(account)


def test_json_output_is_printable_and_the_same_data(capsys) -> None:  # type: ignore[no-untyped-def]
    value = {"label": "x\u202ey\x9b\U000e0001 ñ 日本", "n": [1, "\x1b[2J"]}
    _token.echo_json(value)
    out = capsys.readouterr().out
    assert printable(out) and "ñ 日本" in out
    assert json.loads(out) == value
