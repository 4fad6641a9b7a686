"""Loading the vault, and the rules every stored record keeps (vault.py's docstring has the
file format, the rules and the errors).

    vaultload.load(v)                  # what v.load() runs
    vaultload.check_labels(issuer, name)              # InvalidError naming the field
    vaultload.check_params(flags, digits, period, counter)   # -> the counter to keep
    vaultload.check_secret(size)
    vaultload.labelled(rec, li, ln, label)            # an account's record has these labels

A load checks each record with these rules alone: a label stored by an older firmware must
still load, so that it can be renamed or deleted. vaultedit.py checks new values more strictly
first, then with these. Messages name the field, never the secret's value.

A module of its own so that the idle token, which holds the accounts, does not hold this
code: imported at boot (and when a load failed before) and dropped again by the app
(app._COMMAND_MODULES). Nothing keeps a reference to it.
"""

import struct

import store
import vault
from micropython import const

_MAX_PERIOD = const(3600)
_HOTP_FLAG = const(0x10)
_STEAM_FLAG = const(0x20)
_STEAM_DIGITS = const(5)


def labelled(rec, li, ln, label):
    # True if an account's record has these labels (issuer and name UTF-8 run together, of
    # these sizes): compared in place, no str decoded per account (a load checks every pair
    # of accounts for duplicates).
    return rec[0] == li and rec[1] == ln and rec.startswith(label, 3)


def check_labels(issuer, name):
    """issuer, name: UTF-8 bytes (or views of them)."""
    limit = vault.MAX_LABEL
    for what, data, minimum in (("issuer", issuer, 0), ("name", name, 1)):
        size = len(data)
        if size < minimum or size > limit:
            raise vault.InvalidError("%s must be %d to %d bytes of UTF-8" % (what, minimum, limit))
        try:
            str(data, "utf-8")  # MicroPython's lenient decode; new labels pass utf8.py first
        except (UnicodeError, ValueError):
            raise vault.InvalidError(what + " is not valid UTF-8") from None
        # On the bytes: C0, DEL and ':' are single bytes in UTF-8, never inside a longer
        # sequence, and iterating a str would allocate a string per character.
        colon = False
        for b in data:
            if b < 0x20 or b == 0x7F:
                raise vault.InvalidError(what + " contains a control character")
            if b == 0x3A:
                colon = True
        if colon and what == "issuer":
            raise vault.InvalidError("issuer must not contain ':'")
    if colon and not len(issuer):
        # "a:b" must read as issuer a, name b: keeps every label unique and splittable.
        raise vault.InvalidError("a name may contain ':' only when the issuer is set")


def check_params(flags, digits, period, counter):
    """flags: the record's flags byte (valid); the counter to keep (0 unless HOTP)."""
    if flags & _STEAM_FLAG:
        # Steam Guard has one set of parameters: anything else is not a Steam code.
        if flags & 3 or digits != _STEAM_DIGITS or period != 30:
            raise vault.InvalidError("a steam account is sha1, digits 5 and period 30")
        if counter:
            raise vault.InvalidError("a steam account has no counter")
    elif digits < 6 or digits > 8:
        raise vault.InvalidError("digits must be an integer from 6 to 8")
    if period < 1 or period > _MAX_PERIOD:
        raise vault.InvalidError("period must be an integer from 1 to %d" % _MAX_PERIOD)
    return counter if flags & _HOTP_FLAG else 0


def check_secret(size):
    """A raw secret's size (a sealed one is checked by its own rule, in _decode)."""
    if size < 1 or size > vault.MAX_SECRET:
        raise vault.InvalidError("secret must be 1 to %d bytes" % vault.MAX_SECRET)


def load(v):
    v._forget_keys()
    v._accounts = []
    v._header = None
    # Loaded only once the file is read: after any other error (a MemoryError, an OSError)
    # the next operation loads again instead of saving over the file.
    v._loaded = False
    v.corrupt = False
    v.revision += 1
    try:
        accounts = v._store.load(lambda payload: _decode(v, payload))
    except store.CorruptError:
        v._loaded = v.corrupt = True
        raise vault.CorruptError("vault file is damaged and no good copy remains") from None
    except ValueError as e:  # checksummed yet invalid: a bug, say so
        v._loaded = v.corrupt = True
        raise vault.CorruptError("vault content is invalid: %s" % e.args[0]) from None
    v._loaded = True
    v.recovered = v._store.recovered
    seal = v._seal
    if seal.header != v._header:
        seal.cipher = None  # another PIN (or none) on flash: lock
    seal.header = v._header if accounts is not None else None
    if accounts is not None:
        v._accounts = accounts


def _decode(v, payload):
    # Record by record through one scratch buffer: nothing in proportion to the file but the
    # accounts themselves. The store checks the copy once it is all read.
    if payload.left < 2:
        raise ValueError("unknown vault format")
    fixed = vault.FIXED
    head = vault.HEAD
    buf = bytearray(fixed + 2 * vault.MAX_LABEL + vault.MAX_SEALED)
    mv = memoryview(buf)
    payload.readinto(mv[:2])
    version = buf[0]
    if version != vault.VERSION and version != vault.VERSION_PIN:
        raise ValueError("unknown vault format")
    count = buf[1]
    v._header = None
    seal = None
    if version == vault.VERSION_PIN:
        block = vault.PIN_BLOCK
        payload.readinto(mv[:block])
        v._header = bytes(mv[:block])
        seal = v._seal
    if count > v.capacity:
        raise ValueError("more accounts than the capacity")
    accounts = []
    for _ in range(count):
        payload.readinto(mv[:fixed])
        flags, digits, period, counter = struct.unpack_from(vault.HEAD_FMT, buf, 0)
        li, ln, ls = buf[head], buf[head + 1], buf[head + 2]
        n = li + ln + ls
        if (
            n > payload.left
            or flags & ~(_HOTP_FLAG | _STEAM_FLAG | 3)
            or flags & 3 == 3
            or (flags & _HOTP_FLAG and flags & _STEAM_FLAG)
        ):
            raise ValueError("bad record")
        payload.readinto(mv[fixed : fixed + n])
        pos = fixed + li
        check_labels(mv[fixed:pos], mv[pos : pos + ln])
        counter = check_params(flags, digits, period, counter)
        if seal is None:
            check_secret(ls)
        elif ls < 48 or ls > vault.MAX_SEALED or ls % 16:
            # A sealed secret: 1..128 bytes padded to whole AES blocks, an IV and a tag.
            raise ValueError("bad sealed secret")
        rec = bytes(mv[head : fixed + n])
        label = rec[3 : 3 + li + ln]
        for a in accounts:
            if labelled(a._rec, li, ln, label):
                raise ValueError("duplicate account")
        account = vault.Account(rec, flags | digits << 8 | period << 12, counter)
        if seal is not None:
            account._seal = seal
        accounts.append(account)
    if payload.left:
        raise ValueError("trailing bytes")
    return accounts
