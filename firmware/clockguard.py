"""No harvesting of future codes over USB (docs/security.md, "Clock changes").

Whoever holds the USB cable could set the clock ahead, read the codes, and set it back. So:
- A change of the clock over USB is free only while the changes not confirmed on the token
  add up to at most FREE_S (a time sync's small corrections; a clock that was never set or
  has stopped is set freely). A larger one waits for a press on the token's button (the panel
  asks) or is sent by a session logged in with the management password.
- After a confirmed change of more than FREE_S, the token sends no codes over USB (CODES,
  TOTP CALC, SCREEN) for HOLD_S: a future code costs the harvester a press and ten minutes.
Both figures are kept on flash, so a reset (which a host can cause through the USB bridge's
DTR/RTS lines) does not clear them.

    g = clockguard.Guard(data_dir)
    g.check_set(token, unix_ms, trusted)  # TIME_SET: returns, or asks for a press and raises
    g.check_codes(clock)            # CODES/CALC/SCREEN: raises while codes are held
    g.allow(now_s, new_s, trusted)  # True: set it now (counted); False: ask for a press
    g.confirmed(now_s, new_s)       # a press or the password accepted new_s
    g.held_s(now_s)                 # seconds codes are still held (0: none)
File (store.Store, magic TKCG): u32 unconfirmed seconds so far, u32 hold until (Unix s).
"""

import struct

from micropython import const

_PRESENCE_REQUIRED = const(0x37)  # the protocol status of both refusals
FREE_S = const(300)
HOLD_S = const(600)
_FILE = "/clockguard.bin"
MAGIC = b"TKCG"


class Guard:
    def __init__(self, data_dir):
        import store

        self._store = store.Store(data_dir + _FILE, magic=MAGIC, max_size=8)
        self.used = 0
        self.hold_until = 0
        try:
            data = self._store.load()
        except store.CorruptError:
            data = None
            self.used = FREE_S  # damaged: no free budget (fail closed)
        if data and len(data) == 8:
            self.used, self.hold_until = struct.unpack("<II", data)

    def _save(self):
        self._store.save(struct.pack("<II", self.used, self.hold_until))

    def allow(self, now_s, new_s, trusted):
        delta = abs(new_s - now_s)
        if trusted:
            self.confirmed(now_s, new_s)
            return True
        if self.used + delta > FREE_S:
            return False
        if delta:
            self.used += delta
            self._save()
        return True

    def confirmed(self, now_s, new_s):
        self.used = 0
        if abs(new_s - now_s) > FREE_S:
            self.hold_until = new_s + HOLD_S
        self._save()

    def held_s(self, now_s):
        left = self.hold_until - now_s
        # A hold only ever lasts HOLD_S from the clock it was set on; a clock set back far
        # before it (a host undoing its jump) ends it rather than stretching it.
        if left <= 0 or left > HOLD_S:
            return 0
        return left

    # ---- the protocol's side (server.py calls these; protocol.Fail refuses)

    def check_set(self, token, ms, trusted):
        clock = token.clock
        if not clock.valid() or not 946684800000 <= ms < 4102444800000:
            return  # a first set, or a value the clock itself refuses
        now = clock.unix()
        if self.allow(now, ms // 1000, trusted):
            return
        from protocol import Fail

        token.ask_presence(ms)
        raise Fail(
            _PRESENCE_REQUIRED,
            "a clock change of %d s needs a press on the token's button (its panel asks, "
            "60 s) or the password" % (ms // 1000 - now),
        )

    def check_codes(self, clock):
        if not clock.valid():
            return
        left = self.held_s(clock.unix())
        if left:
            from protocol import Fail

            raise Fail(
                _PRESENCE_REQUIRED, "codes are held for %d s after a large clock change" % left
            )
