"""Changing the vault: what Vault.find, add, delete, rename, next_hotp and wipe run, and the
PIN's re-encryption (vault.py's docstring has the rules, the errors and the file format).

    vaultedit.find(v, query)
    vaultedit.add(v, issuer, name, secret, algorithm="sha1", digits=6, period=30,
                  kind="totp", counter=0, replace=False)
    vaultedit.delete(v, target), rename(v, target, issuer, name), next_hotp(v, target)
    vaultedit.wipe(v, keep_pin=True)
    vaultedit.reseal(v, cipher, header)      # pin.py: every secret under another PIN

A module of its own so that the idle token, which only reads its accounts, does not hold this
code: the Vault imports it at the first change (a command, an HOTP press) and the app drops it
again with the protocol server (app._COMMAND_MODULES). Nothing keeps a reference to it.

Every change validates first, changes RAM, saves, and undoes the RAM change if the save fails
(OSError from the filesystem, MemoryError): a rejected or failed change changes nothing.
"""

import struct

import vault

_COUNTER_LIMIT = 1 << 64  # not const(): a big int on 32-bit ports


# ---- finding


def find(v, query):
    """An exact label ("GitHub:alice"), else the one label equal ignoring ASCII case, else
    the one label containing the query ignoring ASCII case; an Account is taken as is."""
    v._ready()
    accounts = v._accounts
    if isinstance(query, vault.Account):
        for a in accounts:
            if a is query:
                return a
        raise vault.NotFoundError("account is not in the vault")
    if not isinstance(query, str) or not query:
        raise vault.InvalidError("query must be non-empty text")
    for a in accounts:
        if a.label == query:  # labels are unique (see vaultload.check_labels)
            return a
    q = query.lower()
    same = [a for a in accounts if a.label.lower() == q]
    if len(same) == 1:
        return same[0]
    within = [a for a in accounts if q in a.label.lower()]
    if len(within) == 1:
        return within[0]
    if within:
        raise vault.AmbiguousError("%r matches %d accounts" % (query, len(within)))
    raise vault.NotFoundError("no account matches %r" % query)


def _index(v, issuer, name):
    import vaultload

    label = issuer + name
    for i, a in enumerate(v._accounts):
        if vaultload.labelled(a._rec, len(issuer), len(name), label):
            return i
    return -1


# ---- checks of new values (stricter than a load's: vaultload's checks hold for every stored
# record, and run here too; imported by the changes that need them, add and rename)


def _label(value, what):
    # Well-formed UTF-8 as CPython reads it, and none of the characters utf8.has_control
    # names; the label's bytes.
    if isinstance(value, str):
        data = value.encode()  # MicroPython keeps a str's bytes as they came: checked below
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        raise vault.InvalidError(what + " must be text")
    import utf8

    if not utf8.valid(data):
        raise vault.InvalidError(what + " is not valid UTF-8")
    if utf8.has_control(data):
        raise vault.InvalidError(what + " contains a control character")
    return data


def _labels(issuer, name):
    import vaultload

    issuer = _label(issuer, "issuer")
    name = _label(name, "name")
    vaultload.check_labels(issuer, name)
    return issuer, name


def _shown(issuer, name):
    return str(issuer + b":" + name if issuer else name, "utf-8")


def _fields(secret, algorithm, digits, period, kind, counter):
    # The secret's bytes, the record's flags byte, the counter to store.
    import vaultload

    if not isinstance(secret, (bytes, bytearray, memoryview)):
        raise vault.InvalidError("secret must be bytes")
    vaultload.check_secret(len(secret))
    if not isinstance(algorithm, str) or algorithm.lower() not in vault._ALGORITHMS:
        raise vault.InvalidError("algorithm must be sha1, sha256 or sha512")
    if kind not in vault._KINDS:
        raise vault.InvalidError("kind must be totp, hotp or steam")
    for what, value in (("digits", digits), ("period", period), ("counter", counter)):
        # bool is an int subclass; a flag where a number belongs is a caller bug.
        if not isinstance(value, int) or isinstance(value, bool):
            raise vault.InvalidError(what + " must be an integer")
    if counter < 0 or counter >= _COUNTER_LIMIT:
        raise vault.InvalidError("counter must be from 0 to 2**64-1")
    flags = vault._ALGORITHMS.index(algorithm.lower()) | vault._KINDS.index(kind) << 4
    return bytes(secret), flags, vaultload.check_params(flags, digits, period, counter)


def _record(li, ln, labels, secret):
    # Account._rec: the sizes, the labels' UTF-8 run together, the secret as stored.
    return bytes((li, ln, len(secret))) + labels + secret


# ---- changing (validate, change RAM, save; undo RAM if the save fails)


def add(
    v,
    issuer,
    name,
    secret,
    algorithm="sha1",
    digits=6,
    period=30,
    kind="totp",
    counter=0,
    replace=False,
):
    v._ready()
    issuer, name = _labels(issuer, name)
    secret, flags, counter = _fields(secret, algorithm, digits, period, kind, counter)
    seal = v._seal
    if seal.header is not None:
        if seal.cipher is None:
            raise vault.LockedError("enter the PIN on the token first")
        secret = seal.cipher.seal(secret)
    rec = _record(len(issuer), len(name), issuer + name, secret)
    account = vault.Account(rec, flags | digits << 8 | period << 12, counter)
    if seal.header is not None:
        account._seal = seal
    accounts = v._accounts
    i = _index(v, issuer, name)
    if i >= 0:
        if not replace:
            raise vault.DuplicateError("%s already exists" % _shown(issuer, name))
        old = accounts[i]
        accounts[i] = account
        try:
            _save(v, False)  # the old secret must not survive in a backup copy
        except BaseException:
            accounts[i] = old
            raise
        vault._drop_key(old)
        return account
    if len(accounts) >= v.capacity:
        raise vault.FullError("vault is full (%d accounts)" % v.capacity)
    accounts.append(account)
    try:
        _save(v)
    except BaseException:
        accounts.pop()
        raise
    return account


def delete(v, target):
    account = find(v, target)
    accounts = v._accounts
    i = accounts.index(account)
    accounts.pop(i)
    try:
        _save(v, False)  # the secret must not survive in a backup copy
    except BaseException:
        accounts.insert(i, account)
        raise
    vault._drop_key(account)


def rename(v, target, issuer, name):
    account = find(v, target)
    issuer, name = _labels(issuer, name)
    i = _index(v, issuer, name)
    if i >= 0 and v._accounts[i] is not account:
        raise vault.DuplicateError("%s already exists" % _shown(issuer, name))
    old = account._rec
    account._rec = _record(len(issuer), len(name), issuer + name, account._secret())
    try:
        _save(v)
    except BaseException:
        account._rec = old
        raise
    return account


def next_hotp(v, target):
    """The counter to use now; counter+1 is on flash before it returns (the last usable
    counter is 2**64-2: 2**64-1 is the end)."""
    account = find(v, target)
    if account.kind != "hotp":
        raise vault.InvalidError("%s is not an HOTP account" % account.label)
    used = account.counter
    if used + 1 >= _COUNTER_LIMIT:
        raise vault.InvalidError("%s: HOTP counter exhausted" % account.label)
    account.counter = used + 1
    try:
        _save(v)
    except BaseException:
        account.counter = used
        raise
    return used


def wipe(v, keep_pin=True):
    """Remove every account. With a PIN set, keep_pin keeps it: an empty vault with the same
    PIN block is saved without a backup copy (no file keeps a removed secret).
    keep_pin=False (factory reset, the 10th wrong PIN) removes every copy of the file, PIN
    included."""
    seal = v._seal
    if keep_pin and not v._loaded:
        try:
            v.load()
        except vault.VaultError:
            pass  # damaged: erased below, PIN block and all
    v._forget_keys()
    if keep_pin and seal.header is not None and not v.corrupt:
        old = v._accounts
        v._accounts = []
        try:
            _save(v, False)
        except BaseException:
            v._accounts = old
            raise
    else:
        v._store.erase()
        v._accounts = []
        seal.header = seal.cipher = None
        v.revision += 1
    v._loaded = True
    v.corrupt = False
    v.recovered = False


def reseal(v, cipher, header):
    """Re-encrypt every secret under cipher (a vaultcrypt.Cipher for a new PIN whose PIN
    block is header; None and None: no PIN, plain secrets) and save it as one atomic change
    without a backup copy (no file keeps the old form). The vault is unlocked afterwards."""
    v._ready()
    seal = v._seal
    old = seal.cipher
    if seal.header is not None and old is None:
        raise vault.LockedError("enter the PIN on the token first")
    accounts = v._accounts
    # An account's stored form is its _rec and its _seal (vault.Account): both are swapped
    # together and put back if the save fails.
    stored = [(a._rec, a._seal) for a in accounts]
    before = seal.header
    new = []
    for a in accounts:
        secret = a._secret() if before is None else old.open(a._secret())
        if cipher is not None:
            secret = cipher.seal(secret)
        rec = a._rec
        li, ln = rec[0], rec[1]
        new.append(_record(li, ln, rec[3 : 3 + li + ln], secret))
    sealed = seal if cipher is not None else None
    v._forget_keys()  # no key built under the old PIN outlives the change
    try:
        for i, a in enumerate(accounts):
            a._rec = new[i]
            a._seal = sealed
        seal.header = header
        seal.cipher = cipher
        _save(v, False)
    except BaseException:
        for i, a in enumerate(accounts):
            a._rec, a._seal = stored[i]
        seal.header = before
        seal.cipher = old
        raise


# ---- the file


def _save(v, backup=True):
    v._store.save(_Records(v._accounts, v._seal.header), backup)
    v.revision += 1


class _Records:
    """The vault file's payload as a store source: its size, and its parts written record by
    record through one 12-byte buffer (each record's rest, Account._rec, is written from the
    account's own bytes: no copy is made)."""

    def __init__(self, accounts, header):
        self.accounts = accounts
        self.header = header
        self.buf = bytearray(vault.HEAD)

    def __len__(self):
        header = self.header
        size = 2 if header is None else 2 + len(header)
        for a in self.accounts:
            size += vault.HEAD + len(a._rec)
        return size

    def parts(self, out):
        buf = self.buf
        accounts = self.accounts
        header = self.header
        buf[0] = vault.VERSION if header is None else vault.VERSION_PIN
        buf[1] = len(accounts)
        out(memoryview(buf)[:2])
        if header is not None:
            out(header)
        fmt = vault.HEAD_FMT
        for a in accounts:
            meta = a._meta
            struct.pack_into(fmt, buf, 0, meta & 0xFF, (meta >> 8) & 0xF, meta >> 12, a.counter)
            out(buf)
            out(a._rec)
