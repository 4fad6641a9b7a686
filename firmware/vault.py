"""The account vault: OTP accounts kept in RAM and persisted atomically with store.Store.

    v = vault.Vault(data_dir, capacity=64)   # no I/O until load() or the first operation
    v.load()                 # reads DIR/vault.bin; raises CorruptError if no copy verifies
    v.accounts()             # tuple of Account, display order (insertion; rename keeps place)
    v.account(i)             # the i-th Account in display order, allocation-free (IndexError)
    v.count, v.capacity, v.revision (+1 at each change), v.recovered (an older copy was used)
    v.find(query)            # Account; see below
    v.add(issuer, name, secret, algorithm="sha1", digits=6, period=30, kind="totp",
          counter=0, replace=False)                      # -> the new Account
    v.delete(target)         # target: an Account of this vault, or a query string
    v.rename(target, issuer, name)                       # -> the Account (same object)
    v.next_hotp(target)      # -> counter to use now; counter+1 is on flash BEFORE it returns
                             #    (the last usable counter is 2**64-2: 2**64-1 is the end)
    v.wipe()                 # removes every account and every copy of the file
                             # (delete, replace and wipe leave no file with the old secret);
                             # with a PIN set, an empty vault keeps the PIN
    v.wipe(keep_pin=False)   # every copy of the file, PIN included (factory reset)
    v.protected, v.unlocked  # a PIN is set; codes can be computed (no PIN, or it was entered)
    v.pin_params()           # (salt, iterations, check) of the PIN, or None
    v.unlock(cipher), v.lock()   # keep / forget the PIN's keys (pin.py decides when)

Account (read-only by convention): issuer, name, kind ("totp"|"hotp"|"steam"), algorithm
("sha1"|"sha256"|"sha512"), digits (6..8; 5 for steam), period (seconds), counter (HOTP: the
next counter to use; TOTP and steam: 0), label ("issuer:name", or "name" when the issuer is
empty), key() -> otp.Key built on first use and cached (for the last 4 accounts whose key was
built: keys cost RAM). The secret is reachable only through key(): no attribute, repr or error
message shows it.

find(query): an exact label ("GitHub:alice"), else the one label equal ignoring ASCII case,
else the one label containing the query ignoring ASCII case. None -> NotFoundError, several ->
AmbiguousError.

Limits: issuer 0..64 bytes UTF-8 without ':'; name 1..64 bytes UTF-8 (':' allowed only with an
issuer, so a label splits at its first ':' and labels are unique); secret 1..128 bytes;
digits 6, 7, 8; period 1..3600 s; counter 0..2**64-1; a steam account (Steam Guard) is sha1,
digits 5, period 30, counter 0 and nothing else; (issuer, name) unique; capacity 1..255
(default 64). A label given to add() or rename() (str or bytes) must be well-formed UTF-8 as
CPython reads it (utf8.valid: MicroPython's own decode() lets surrogates, overlong forms and
code points above U+10FFFF through) and hold no control character: C0, DEL, C1 or a
bidirectional embedding, override or isolate (utf8.has_control). Labels already on flash are
loaded with the older, looser check (no C0 control), so a vault written before these rules
still loads and such an account can be renamed or deleted.

Errors: VaultError (a ValueError) subclasses with a stable `code`: FullError FULL,
DuplicateError DUPLICATE, NotFoundError NOT_FOUND, AmbiguousError AMBIGUOUS, InvalidError
INVALID, CorruptError CORRUPT, LockedError PIN_REQUIRED (a PIN is set and not entered: key()
and add() need the secrets' key). A rejected operation changes nothing, in RAM or on flash: it is
validated first, and if the save fails (OSError from the filesystem) the change is undone in RAM
before the error propagates. After a CorruptError from load(), accounts() is empty and every
change except wipe() raises CorruptError: a damaged vault is never overwritten silently. Any
other error from load() (MemoryError, OSError) leaves the vault unloaded: the next operation
loads again, so a partly read vault is never saved over the file.

Removed secrets: delete() and add(replace=True) save without a backup copy
(store.Store.save(backup=False)): once they return, and after any power cut that leaves the
new vault, no file holds the removed secret; wipe() removes every file. littlefs does not
scrub what it frees: the removed secret stays in free flash blocks until littlefs reuses them,
and a flash dump can read it. ESP32 flash encryption is the remedy (docs/storage.md).

The device PIN (pin.py, vaultcrypt.py): with a PIN set the file is version 2 and every secret
is stored sealed (AES-256-CBC + HMAC tag, vaultcrypt.Cipher.seal) with keys derived from the
PIN; labels and parameters stay readable. An Account keeps its secret as stored (the sealed
blob in the same bytes object as its labels, see Account) and a reference to its vault's seal;
key() opens the blob with the vault's cipher, which exists only while unlocked (lock() drops
it and every key built from it; a PIN change drops every key too). Rename, delete, an HOTP
press and wipe copy sealed secrets as they are, so they work without the PIN; add() and key()
raise LockedError without it.

File DIR/vault.bin (store.Store, magic b"TKVA") payload, little-endian:
    0  version u8 = 1 (no PIN) or 2 (PIN: the PIN block follows)
    1  count   u8
       version 2 only: salt 16 bytes, iterations u32, check 16 bytes (vaultcrypt)
    2  records (version 2: at 38), each:
         0  flags    u8   bits 0-1 algorithm (0 sha1, 1 sha256, 2 sha512), bit 4 hotp,
                          bit 5 steam (firmware before Steam support refuses such a file)
         1  digits   u8
         2  period   u16
         4  counter  u64
         12 issuer length u8, name length u8, secret length u8
         15 issuer, name (UTF-8), secret (raw bytes; version 2: sealed, iv 16 + the secret
            padded to whole 16-byte blocks + tag 16, so 48..176 bytes)
64 accounts with the longest fields take 64 * 271 + 2 + 24 = 17,370 bytes (version 2:
64 * 319 + 38 + 24 = 20,478).

RAM (gc.mem_alloc, 32-bit build, modules as .mpy): 64 loaded accounts (40 SHA1, 12 SHA256, 12
SHA512; 20-character issuers, 32-character names) take about 9.6 KB, 64 with the longest fields
about 21 KB (per account an object of 2 attributes and one bytes object with its sizes, labels
and secret; keys are built only for the accounts whose code is computed, and kept for the last
4). The code is split by when it runs: this module holds what the idle token uses (the
accounts, their keys, the PIN state); vaultload.py (loading, the rules of a stored record) and
vaultedit.py (every change, the save) are imported when needed and dropped again by the app
(app._COMMAND_MODULES), so the idle token does not hold them.
Save and load stream: a save writes the records one by one through a 12-byte buffer (sizes,
labels and secret written from the account's own bytes, no copy) and verifies in 128-byte
chunks, allocating about 2.3 KB in all whatever the vault's size; a load decodes record by
record through one 319-byte buffer (the longest sealed record). No step needs a block larger
than that. With a PIN an account holds its sealed blob instead of the raw secret (48..176
bytes: padded, with an IV and a tag) and a third attribute, the seal; an HOTP account whose
counter moved has one for its counter.

Flash wear: every change, including each HOTP press, rewrites the whole file. Measured on the
sim's flash (4 KB blocks, littlefs): a press erases 1.1 blocks on average with 12 short
accounts and 5.1 with 64 accounts of the longest fields. littlefs spreads erases over the
whole partition, so with ~100k cycles per block and a 2 MB filesystem (512 blocks) that is
about 10 million presses in the worst case: acceptable, but it is why the counter is saved
once per use and nothing else is written on a press.
"""

import struct

import store
from micropython import const

# The file's layout and limits (vaultload.py, which reads and checks records, and vaultedit.py,
# which writes them, use them too: one owner of the layout).
VERSION = const(1)
VERSION_PIN = const(2)  # with a PIN: the PIN block, then records with sealed secrets
HEAD = const(12)  # a record's flags, digits, period and counter; from here on, Account._rec
HEAD_FMT = "<BBHQ"
PIN_BLOCK = const(36)  # salt 16, iterations u32, check 16
FIXED = const(15)  # a record's fixed part
MAX_LABEL = const(64)
MAX_SECRET = const(128)
MAX_SEALED = const(176)  # iv 16 + 128 bytes padded to 144 + tag 16
_STEAM_DIGITS = const(5)
_ALGORITHMS = ("sha1", "sha256", "sha512")  # flags bits 0-1
_KINDS = ("totp", "hotp", "steam")  # flags bits 4-5
_FILE = "vault.bin"
_MAGIC = b"TKVA"


def __getattr__(name):
    # vault.VaultError and its subclasses live in vaulterror.py, imported when one is first
    # raised or caught (an `except` clause names its class only then): a token that never
    # met one holds none of the seven classes. That module is never dropped, so each class
    # stays one object (isinstance and except keep working).
    import vaulterror

    return getattr(vaulterror, name)


def make_key(secret, algorithm, digits, period):
    """The one place that turns a secret into an otp.Key (imported late: no work at import).
    Digits 5 is stored only for steam accounts (vaultload.check_params): it makes a Steam
    key."""
    import otp

    return otp.Key(secret, algorithm, digits, period, digits == _STEAM_DIGITS)


class _Seal:
    """A vault's encryption state, shared by its accounts: the PIN block kept in the file
    (salt, iterations, check; None without a PIN) and, while unlocked, the vaultcrypt.Cipher
    (the keys exist in RAM only then)."""

    def __init__(self):
        self.header = None
        self.cipher = None


# Built keys are kept for the last account only: a key is 370 (SHA1) to 460 (SHA512) bytes
# on a 32-bit port, 24 KB for 64 accounts once a CODES answer or a walk through the accounts
# has built them all, and building one again costs two hash compressions. Whoever computes
# codes all the time (the app, for the account it shows) keeps its own reference.
_KEPT_KEYS = const(1)
_keys = []  # [account, key] pairs, oldest first


def _drop_key(account):
    for pair in _keys:
        if pair[0] is account:
            _keys.remove(pair)
            return


class Account:
    # Compact, as there are 64 of them: two attributes, so the instance's dict is the
    # smallest there is (a third doubles it). _rec is the stored record from its sizes on,
    # in one bytes object: issuer length, name length, secret length (one byte each), the
    # labels' UTF-8, the secret (what a save writes after the record's first 12 bytes, in
    # one piece). _meta is the record's flags byte | digits << 8 | period << 12, below
    # 2**30: no big int on a 32-bit port. issuer and name are decoded from _rec at each use
    # (they allocate: the app reads them when an account is selected, not per frame). About
    # 130 bytes an account on a 32-bit port (20-character issuer, 32-character name, 20-byte
    # secret), 240 as separate strings.
    # counter is the class's 0 except on an HOTP account whose counter moved: a third
    # attribute for those only. With a PIN the secret in _rec is the sealed blob, and the
    # account has _seal too (the vault's _Seal, whose cipher opens it while unlocked); an
    # unsealed account reads the class's None.
    _seal = None
    counter = 0

    def __init__(self, rec, meta, counter):
        self._rec = rec
        self._meta = meta
        if counter:
            self.counter = counter

    def _secret(self):
        # The secret as stored: raw bytes, or the sealed blob (see _seal).
        rec = self._rec
        return rec[3 + rec[0] + rec[1] :]

    @property
    def issuer(self):
        rec = self._rec
        return str(rec[3 : 3 + rec[0]], "utf-8")

    @property
    def name(self):
        rec = self._rec
        start = 3 + rec[0]
        return str(rec[start : start + rec[1]], "utf-8")

    @property
    def algorithm(self):
        return _ALGORITHMS[self._meta & 3]

    @property
    def kind(self):
        return _KINDS[(self._meta >> 4) & 3]

    @property
    def digits(self):
        return (self._meta >> 8) & 0xF

    @property
    def period(self):
        return self._meta >> 12

    @property
    def label(self):
        issuer = self.issuer
        return issuer + ":" + self.name if issuer else self.name

    def key(self):
        for pair in _keys:
            if pair[0] is self:
                return pair[1]
        secret = self._secret()
        seal = self._seal
        if seal is not None:
            if seal.cipher is None:
                import vaulterror

                raise vaulterror.LockedError("enter the PIN on the token first")
            secret = seal.cipher.open(secret)
        key = make_key(secret, self.algorithm, self.digits, self.period)
        if len(_keys) >= _KEPT_KEYS:
            _keys.pop(0)
        _keys.append([self, key])
        return key

    def __repr__(self):
        return "<Account %s %s %s/%d/%d>" % (
            self.label,
            self.kind,
            self.algorithm,
            self.digits,
            self.period,
        )


class Vault:
    def __init__(self, directory, capacity=64):
        # Runs once, at boot: checking the capacity and the initial state are bootinit.py's,
        # which the app drops after boot.
        import bootinit

        bootinit.vault(self, capacity)
        self._store = store.Store(
            directory.rstrip("/") + "/" + _FILE,
            _MAGIC,
            2 + PIN_BLOCK + capacity * (FIXED + 2 * MAX_LABEL + MAX_SEALED),
        )

    # ---- reading: loading is vaultload.py, imported at boot (and after a failed load) and
    # dropped again by the app (app._COMMAND_MODULES): the idle token holds the accounts.

    def load(self):
        import vaultload

        vaultload.load(self)

    def _forget_keys(self):
        # Derived key state of accounts leaving RAM goes with them.
        for a in self._accounts:
            _drop_key(a)

    def _ready(self):
        if not self._loaded:
            self.load()
        if self.corrupt:
            import vaulterror

            raise vaulterror.CorruptError("vault is damaged: wipe it to start again")

    def accounts(self):
        if not self._loaded:
            self.load()
        return tuple(self._accounts)

    def account(self, index):
        if not self._loaded:
            self.load()
        return self._accounts[index]

    @property
    def count(self):
        if not self._loaded:
            self.load()
        return len(self._accounts)

    # ---- changing: vaultedit.py (the idle token only reads its accounts), imported at the
    # first change or search (a command, an HOTP press) and dropped with the protocol server
    # (app._COMMAND_MODULES). Its functions take the vault; the signatures are theirs.

    def find(self, query):
        import vaultedit

        return vaultedit.find(self, query)

    def add(self, *args, **kwargs):
        import vaultedit

        return vaultedit.add(self, *args, **kwargs)

    def delete(self, target):
        import vaultedit

        vaultedit.delete(self, target)

    def rename(self, target, issuer, name):
        import vaultedit

        return vaultedit.rename(self, target, issuer, name)

    def next_hotp(self, target):
        import vaultedit

        return vaultedit.next_hotp(self, target)

    def wipe(self, keep_pin=True):
        import vaultedit

        vaultedit.wipe(self, keep_pin)

    # ---- the PIN (firmware/pin.py decides when; vaultcrypt does the cryptography)

    @property
    def protected(self):
        """True if the secrets are encrypted with a PIN."""
        if not self._loaded:
            self.load()
        return self._seal.header is not None

    @property
    def unlocked(self):
        """True if codes can be computed: no PIN, or the PIN was entered."""
        return not self.protected or self._seal.cipher is not None

    def pin_params(self):
        """(salt, iterations, check) of the PIN block; None without a PIN."""
        if not self.protected:
            return None
        h = self._seal.header
        return h[:16], struct.unpack_from("<I", h, 16)[0], h[20:36]

    def unlock(self, cipher):
        """Keep cipher (a vaultcrypt.Cipher whose check the caller compared) for the codes."""
        self._seal.cipher = cipher

    def lock(self):
        """Forget the keys: the cipher and every key built from a decrypted secret (whoever
        holds a key of its own, the app for the shown account, drops it too)."""
        self._seal.cipher = None
        if self._seal.header is not None:
            self._forget_keys()
