# The management password, the lock, the clock guard and the factory gesture, token side
# (firmware/auth.py, security.py, clockguard.py, factory.py). Reference values come from
# CPython: hmac/hashlib (RFC 4231 vectors) and host_tools/auth.py's PBKDF2 derivation:
#     salt = bytes(range(16)); key = client_key("correct horse battery", salt, 100000)
#     nonce = bytes(range(100, 116)); client_nonce = bytes(range(200, 216))
import binascii

import auth
import clockguard
import factory
import fsutil
import mac
import mptest
import security

STORED_KEY = binascii.unhexlify("274d67a8e0c28b005ece06f8c1be391c820c1f24997ee28c7b8b2bf810f634fa")
PROOF = binascii.unhexlify("9903a96fd382f323f5999036787abbca44e7b3f14def74be0f0f5287b64ba4f5")
SALT = bytes(range(16))
NONCE = bytes(range(100, 116))
CLIENT_NONCE = bytes(range(200, 216))


def test_hmac_sha256_matches_rfc_4231():
    assert mac.hmac_sha256(b"\x0b" * 20, b"Hi There") == binascii.unhexlify(
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    )
    assert mac.hmac_sha256(b"Jefe", b"what do ya want for nothing?") == binascii.unhexlify(
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def _state():
    s = security.State(fsutil.tmpdir("auth"))
    s.set_password(SALT, 100000, STORED_KEY)
    return s


def test_the_proof_made_by_the_host_is_accepted_once():
    a = auth.Auth(_state())
    a.challenge()
    a._nonce = NONCE  # the nonce the reference proof was made for
    assert a.verify(CLIENT_NONCE, PROOF)
    assert not a.verify(CLIENT_NONCE, PROOF)  # replayed: the nonce is gone
    a.challenge()  # a fresh nonce: the recorded proof does not fit it
    assert not a.verify(CLIENT_NONCE, PROOF)


def test_wrong_proofs_are_refused():
    a = auth.Auth(_state())
    for client_nonce, proof in (
        (CLIENT_NONCE, bytes(32)),
        (CLIENT_NONCE, PROOF[:-1] + bytes([PROOF[-1] ^ 1])),
        (bytes(16), PROOF),
        (CLIENT_NONCE, PROOF[:31]),
    ):
        a.challenge()
        a._nonce = NONCE
        assert not a.verify(client_nonce, proof)
    a.forget()
    assert not a.verify(CLIENT_NONCE, PROOF)


def test_the_record_keeps_only_the_verifier_and_survives_a_reload():
    s = _state()
    again = security.State(s.data_dir)
    assert again.has_password() and not again.locked()
    assert (again.salt, again.iterations, again.stored_key) == (SALT, 100000, STORED_KEY)
    raw = fsutil.read(s.data_dir + "/security.bin")
    assert STORED_KEY in raw and b"correct horse" not in raw


def test_a_weak_verifier_is_refused_and_nothing_changes():
    s = _state()
    for salt, iterations, key in (
        (b"short", 100000, STORED_KEY),
        (SALT, 99999, STORED_KEY),
        (SALT, 100000, STORED_KEY[:31]),
    ):
        mptest.raises(ValueError, s.set_password, salt, iterations, key)
    again = security.State(s.data_dir)
    assert again.stored_key == STORED_KEY and again.iterations == 100000


def test_lock_needs_a_password_and_clearing_it_unlocks():
    s = security.State(fsutil.tmpdir("auth"))
    mptest.raises(ValueError, s.set_locked, True)
    assert not security.locked_at_boot(s.data_dir)
    s.set_password(SALT, 100000, STORED_KEY)
    s.set_locked(True)
    assert security.locked_at_boot(s.data_dir)
    s.set_password(bytes(16), 200000, bytes(32))  # a change keeps the lock
    assert security.locked_at_boot(s.data_dir)
    s.clear_password()
    assert not security.locked_at_boot(s.data_dir) and not s.has_password()


def test_a_damaged_record_counts_as_locked_with_a_password():
    s = _state()
    s.set_locked(False)
    path = s.data_dir + "/security.bin"
    data = bytearray(fsutil.read(path))
    data[-1] ^= 0x10
    fsutil.write(path, data)
    again = security.State(s.data_dir)
    assert again.locked() and again.has_password()
    assert security.locked_at_boot(s.data_dir)


def test_erase_security_state_removes_every_file():
    s = _state()
    s.set_locked(True)
    b = s.backoff()
    b.fail(0)
    g = clockguard.Guard(s.data_dir)
    g.confirmed(0, 1000)
    security.erase_security_state(s.data_dir)
    import os

    assert os.listdir(s.data_dir) == []
    assert not security.locked_at_boot(s.data_dir)


def test_the_clock_guard_budget_hold_and_persistence():
    d = fsutil.tmpdir("guard")
    g = clockguard.Guard(d)
    now = 1_800_000_000
    assert g.allow(now, now + 200, False)
    assert not g.allow(now + 200, now + 400, False)  # 200 + 200 > 300 unconfirmed
    assert g.allow(now + 200, now + 290, False)  # 290 in all
    assert clockguard.Guard(d).used == 290  # on flash: a reset does not refill it
    assert g.held_s(now) == 0
    g.confirmed(now, now + 30 * 86400)  # a press accepted a jump of 30 days
    assert g.used == 0
    assert g.held_s(now + 30 * 86400) == 600
    assert clockguard.Guard(d).held_s(now + 30 * 86400 + 100) == 500
    assert g.held_s(now + 30 * 86400 + 600) == 0
    assert g.held_s(now) == 0  # clock set back before the jump: no stretched hold
    assert g.allow(now, now + 10 * 86400, True)  # the password: taken, and held
    assert g.held_s(now + 10 * 86400) == 600
    assert g.allow(now, now + 100, True) and g.used == 0


class _Pin:
    def __init__(self, until_ms):
        import time

        self._until = time.ticks_add(time.ticks_ms(), until_ms)

    def pressed(self):
        import time

        return time.ticks_diff(self._until, time.ticks_ms()) > 0


class _Display:
    width = 128

    def __init__(self):
        self.texts = []

    def fill(self, c):
        self.texts = []

    def fill_rect(self, *a):
        pass

    def text(self, s, x, y, c):
        self.texts.append(s)

    def show(self):
        pass


class _App:
    def __init__(self, pins):
        class Board:
            pass

        self.board = Board()
        self.board.buttons = pins
        self.display = _Display()
        self.erased = 0

    def factory_reset(self):
        self.erased += 1


def test_the_gesture_on_a_one_button_board():
    app = _App((_Pin(1600),))
    assert factory.held(app.board.buttons)
    assert factory.gesture(app, hold_ms=1500)
    assert app.erased == 1 and "Done: no accounts" in app.display.texts


def test_the_gesture_released_early_erases_nothing_with_two_buttons():
    app = _App((_Pin(1300), _Pin(5000)))
    assert not factory.gesture(app, hold_ms=1500)
    assert app.erased == 0 and "Cancelled" in app.display.texts
    assert not factory.held((_Pin(1000), _Pin(0)))
    assert not factory.held(())


def teardown_function():
    fsutil.cleanup()


if __name__ == "__main__":
    mptest.main(globals())
