"""Strict UTF-8 checks for text that enters the vault (account labels).

    utf8.valid(buf)        # True if buf is well-formed UTF-8, as CPython's decoder requires
    utf8.has_control(buf)  # True if well-formed buf holds a character a label must not show

Why: MicroPython's bytes.decode() accepts surrogates (ED A0 80), code points above U+10FFFF
(F4 90 80 80) and overlong forms (C1 81). A label stored that way cannot be read by the host,
so the vault checks the bytes itself before storing them.

valid() follows the Unicode Standard's table of well-formed byte sequences (chapter 3, table
3-7; RFC 3629): a lead byte C2..DF takes one continuation byte, E0..EF two, F0..F4 three, each
80..BF except the second byte after E0 (A0..BF: shorter forms are overlong), ED (80..9F: A0..BF
would be surrogates), F0 (90..BF: overlong) and F4 (80..8F: beyond U+10FFFF). C0, C1 and
F5..FF never occur; a continuation byte without its lead, or a sequence cut short, is invalid.

has_control() looks for what can rewrite or hide what a terminal shows: the C0 controls
U+0000..U+001F, DEL U+007F, the C1 controls U+0080..U+009F (C2 80..C2 9F) and the
bidirectional embeddings, overrides and isolates U+202A..U+202E (E2 80 AA..AE) and
U+2066..U+2069 (E2 81 A6..A9). It expects valid() input: in well-formed UTF-8 these byte
patterns mean exactly those characters.

Both take any bytes-like object, read it by index and allocate nothing (tests check it under
micropython.heap_lock()).
"""


def valid(buf):
    n = len(buf)
    i = 0
    while i < n:
        c = buf[i]
        i += 1
        if c < 0x80:
            continue
        # The lead byte sets how many continuation bytes follow and the range of the first one.
        low = 0x80
        high = 0xBF
        if c < 0xC2:  # 80..BF: a stray continuation byte; C0, C1: overlong two-byte forms
            return False
        if c < 0xE0:
            more = 1
        elif c < 0xF0:
            more = 2
            if c == 0xE0:
                low = 0xA0
            elif c == 0xED:
                high = 0x9F
        elif c < 0xF5:
            more = 3
            if c == 0xF0:
                low = 0x90
            elif c == 0xF4:
                high = 0x8F
        else:
            return False
        if i + more > n:
            return False
        c = buf[i]
        if c < low or c > high:
            return False
        i += 1
        more -= 1
        while more:
            if buf[i] & 0xC0 != 0x80:
                return False
            i += 1
            more -= 1
    return True


def has_control(buf):
    n = len(buf)
    i = 0
    while i < n:
        c = buf[i]
        if c < 0x20 or c == 0x7F:
            return True
        if c == 0xC2 and i + 1 < n and buf[i + 1] < 0xA0:
            return True  # U+0080..U+009F (the second byte is a continuation, >= 0x80)
        if c == 0xE2 and i + 2 < n:
            b = buf[i + 1]
            d = buf[i + 2]
            if (b == 0x80 and 0xAA <= d <= 0xAE) or (b == 0x81 and 0xA6 <= d <= 0xA9):
                return True
        i += 1
    return False
