# Steam Guard codes on the token: the OTP core (otp.py), the vault's steam kind (vault.py) and
# their drawing (ui.py, font_digits.py). Expected codes are published ones, never computed
# with the code under test:
#   - KeePassXC, tests/TestTotp.cpp, testSteamTotp: secret 63BEDWCQZKTQWPESARIERL5DTTQFCJTK,
#     codes FR8RV at 1511200518 and 9P3VP at 1511200714, "created by running the Steam Guard
#     function of the Steam mobile app with a throw-away steam account";
#   - the RFC 6238 SHA1 seed at t=59 gives PV9M4 (pyotp's Steam helper, pyotp.contrib.Steam);
#   - a 20-byte zero key at counters 0 and 1 gives RYH4D and DR2DK (the Steam tests of the
#     MAKS11060/otp TypeScript library).
# The values (the truncated number mod 26**5) come from those texts through the alphabet.
import gc

import framebuf
import micropython
import mptest
import otp

STEAM_B32 = "63BEDWCQZKTQWPESARIERL5DTTQFCJTK"
PUBLISHED = ((1511200518, "FR8RV"), (1511200714, "9P3VP"))
SEED20 = b"12345678901234567890"
ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"  # Steam's, written out here from its docs


def value_of(text):
    # A code's number from its characters (least significant first), for comparisons.
    v = 0
    for ch in reversed(text):
        v = v * 26 + ALPHABET.index(ch)
    return v


def steam_key(secret=None):
    return otp.Key(secret or otp.b32decode(STEAM_B32), "sha1", 5, 30, True)


def test_published_codes():
    key = steam_key()
    for t, text in PUBLISHED:
        code = key.totp(t)
        assert code == value_of(text), (t, code)
        assert key.format(code) == text
        assert otp.steam_text(code) == text
        assert key.totp_at(t // 86400, t % 86400) == code


def test_more_published_codes():
    assert steam_key(SEED20).format(steam_key(SEED20).totp(59)) == "PV9M4"
    zero = steam_key(bytes(20))
    assert (zero.format(zero.hotp(0)), zero.format(zero.hotp(1))) == ("RYH4D", "DR2DK")


def test_the_slow_path_agrees():
    otp._NO_VIPER = True
    try:
        key = steam_key()
    finally:
        otp._NO_VIPER = False
    for t, text in PUBLISHED:
        assert key.format(key.totp(t)) == text


def test_alphabet_and_range():
    for v in range(26):
        assert otp.steam_text(v) == ALPHABET[v] + "2222"
    assert otp.steam_text(26**5 - 1) == "YYYYY"
    key = steam_key()
    mptest.raises(ValueError, key.format, 26**5)
    mptest.raises(ValueError, key.format, -1)
    assert key.digits == 5 and otp.Key(SEED20).format(12345) == "012345"


def test_steam_parameters_are_checked():
    secret = otp.b32decode(STEAM_B32)
    for digits in (6, 4, True, 5.0):
        e = mptest.raises(ValueError, otp.Key, secret, "sha1", digits, 30, True)
        assert "digits" in str(e)
    # Digits 5 without steam stays refused: no decimal code has 5 digits.
    mptest.raises(ValueError, otp.Key, secret, "sha1", 5)


def test_steam_codes_allocate_nothing():
    key = steam_key()
    out = [0] * 4
    t = 2**30 - 1  # a small int on every port
    key.hotp(1)
    micropython.heap_lock()
    try:
        out[0] = key.hotp(50373350)
        out[1] = key.totp(t)
        out[2] = key.totp_at(17490, 64518)
        out[3] = key.hotp(50373357)
    finally:
        micropython.heap_unlock()
    assert key.format(out[0]) == "FR8RV" and key.format(out[3]) == "9P3VP"
    assert out[2] == out[0]  # 1511200518 = day 17490, second 64518


# ---- the vault's steam kind


def _vault():
    import fsutil
    import vault

    d = fsutil.tmpdir("steam")
    v = vault.Vault(d)
    v.load()
    return d, v


def test_vault_keeps_a_steam_account_across_a_reload():
    import vault

    d, v = _vault()
    a = v.add("Steam", "gamer", otp.b32decode(STEAM_B32), digits=5, kind="steam")
    assert (a.kind, a.algorithm, a.digits, a.period, a.counter) == ("steam", "sha1", 5, 30, 0)
    assert a.key().format(a.key().totp(1511200518)) == "FR8RV"
    w = vault.Vault(d)
    w.load()
    b = w.accounts()[0]
    assert (b.kind, b.digits, b.period) == ("steam", 5, 30)
    assert b.key().format(b.key().totp(1511200714)) == "9P3VP"


def test_vault_refuses_steam_with_other_parameters():
    import vault

    _, v = _vault()
    secret = otp.b32decode(STEAM_B32)
    bad = (
        {"kind": "steam"},  # digits 6
        {"kind": "steam", "digits": 5, "algorithm": "sha256"},
        {"kind": "steam", "digits": 5, "period": 60},
        {"kind": "steam", "digits": 5, "counter": 3},
        {"kind": "steam", "digits": 5.0},
        {"kind": "totp", "digits": 5},
        {"kind": "hotp", "digits": 5},
        {"kind": "motp", "digits": 5},
    )
    for kw in bad:
        e = mptest.raises(vault.InvalidError, v.add, "Steam", "x", secret, **kw)
        assert STEAM_B32 not in str(e), kw
    assert v.count == 0


def _file_with(flags):
    # A vault file of one record built from the documented layout (vault.py docstring).
    import struct

    import fsutil
    import store

    d = fsutil.tmpdir("steamfile")
    secret = otp.b32decode(STEAM_B32)
    record = struct.pack("<BBHQBBB", flags, 5, 30, 0, 5, 5, len(secret))
    store.Store(d + "/vault.bin", b"TKVA", 4096).save(
        bytes((1, 1)) + record + b"Steam" + b"gamer" + secret
    )
    return d


def test_vault_file_layout_of_a_steam_record():
    import vault

    v = vault.Vault(_file_with(0x20))  # sha1, bit 5: steam
    v.load()
    a = v.accounts()[0]
    assert (a.label, a.kind, a.digits, a.period) == ("Steam:gamer", "steam", 5, 30)
    assert a.key().format(a.key().totp(1511200518)) == "FR8RV"
    for flags in (0x30, 0x21):  # hotp and steam at once; steam with sha256
        mptest.raises(vault.CorruptError, vault.Vault(_file_with(flags)).load)


# ---- drawing


def _glyph_pixels(data, i):
    import font_digits as font

    n = font.GLYPH_BYTES
    fb = framebuf.FrameBuffer(bytearray(data[i * n : (i + 1) * n]), 12, 24, framebuf.MONO_VLSB)
    # One byte a pixel (a list of ints would be 28 glyphs x 288 words: too much for a board's
    # heap when device-test runs this module there).
    out = bytearray(12 * 24)
    for y in range(24):
        for x in range(12):
            out[y * 12 + x] = fb.pixel(x, y)
    return out


def test_font_has_the_steam_letters_drawn_apart_from_every_digit():
    import font_digits as font
    import font_steam as steam

    assert steam.LETTER_CHARS == "BCDFGHJKMNPQRTVWXY"  # Steam's alphabet less 2-9
    assert "".join(steam.TEXT) == ALPHABET
    assert isinstance(steam.LETTERS, bytes)
    assert len(steam.LETTERS) == len(steam.LETTER_CHARS) * font.GLYPH_BYTES
    glyphs = [_glyph_pixels(font.DIGITS, d) for d in range(10)]
    glyphs += [_glyph_pixels(steam.LETTERS, i) for i in range(len(steam.LETTER_CHARS))]
    for g in glyphs[10:]:
        assert 40 < sum(g) < 200
        rows = [y for y in range(24) if any(g[y * 12 : (y + 1) * 12])]
        assert rows[0] == 0 and rows[-1] == 23
    # People and the test decoders must never confuse two characters of a code.
    for a in range(len(glyphs)):
        for b in range(max(a + 1, 10), len(glyphs)):
            diff = 0
            for k in range(len(glyphs[a])):
                if glyphs[a][k] != glyphs[b][k]:
                    diff += 1
            assert diff >= 20, (a, b, diff)


class Panel(framebuf.FrameBuffer):
    def __init__(self, h=64):
        self.width = 128
        self.height = h
        self.buffer = bytearray(128 * h // 8)
        super().__init__(self.buffer, 128, h, framebuf.MONO_VLSB)


def _view(code, preview=-1):
    import ui

    v = ui.View()
    v.top = "Steam"
    v.bottom = "gamer"
    v.position = "1/1"
    v.code = code
    v.digits = 5
    v.left_ms = 12000
    v.period_ms = 30000
    v.preview = preview
    return v


def test_panel_shows_the_steam_code_in_large_letters():
    import panelread
    import ui

    for h in (64, 32):
        p = Panel(h)
        u = ui.UI(p)
        key = steam_key()
        preview = key.totp(1511200548)
        u.totp(_view(key.totp(1511200518), preview if h == 64 else -1))
        found = panelread.big_digits(p.buffer, 128, h)
        assert found == [(u.y_code, "FR8RV")], (h, found)
        if h == 64:  # the next code in small type, its five characters side by side
            assert panelread.has_text(p.buffer, key.format(preview))
            assert panelread.has_text(p.buffer, ">")


def test_partial_redraw_of_a_steam_code_equals_a_full_one():
    import ui

    key = steam_key()
    p = Panel()
    u = ui.UI(p)
    u.totp(_view(key.totp(1511200518)))
    u.totp(_view(key.totp(1511200714)))  # another code: only the cells that differ redrawn
    q = Panel()
    ui.UI(q).totp(_view(key.totp(1511200714)))
    assert bytes(p.buffer) == bytes(q.buffer)
    u.totp(_view(value_of("22222")))  # and digits among the letters
    r = Panel()
    ui.UI(r).totp(_view(value_of("22222")))
    assert bytes(p.buffer) == bytes(r.buffer)


def test_the_letters_are_loaded_only_for_a_steam_code():
    import sys

    import ui

    sys.modules.pop("font_steam", None)
    u = ui.UI(Panel())
    v = _view(123456)
    v.digits = 6
    u.totp(v)
    assert "font_steam" not in sys.modules and len(u._cols) == 10 * 12 * 4
    u.totp(_view(steam_key().totp(1511200518)))
    assert "font_steam" in sys.modules and len(u._cols) == 28 * 12 * 4


def test_drawing_a_steam_code_allocates_nothing():
    import ui

    key = steam_key()
    p = Panel()
    u = ui.UI(p)
    a = _view(key.totp(1511200518), key.totp(1511200548))
    b = _view(key.totp(1511200714), key.totp(1511200744))
    u.totp(a)
    u.totp(b)
    gc.collect()
    micropython.heap_lock()
    try:
        for _ in range(3):
            u.totp(a)
            u.totp(b)
    finally:
        micropython.heap_unlock()


if __name__ == "__main__":
    mptest.main(globals())
