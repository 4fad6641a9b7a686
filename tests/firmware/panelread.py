# Reads a 128x64 MONO_VLSB frame back in MicroPython tests: the large digits by exact match
# with the project's font (font_digits.py), small text by exact match with framebuf's 8x8 font.
import font_digits as font
import framebuf


def _fb(buf, w, h):
    return framebuf.FrameBuffer(buf, w, h, framebuf.MONO_VLSB)


def _writable(frame):
    # framebuf wants a writable buffer; a bytearray is used as it is (no 1 KB copy per call:
    # these run on an ESP32-sized heap too).
    return frame if isinstance(frame, bytearray) else bytearray(frame)


def _glyph_table():
    # Glyph bytes -> its character: the digits, then the letters of Steam codes. The letters
    # only once the firmware has loaded them (it does to draw a Steam code): loading them here
    # would cost the test 3 KB of an ESP32-sized heap for codes that cannot be on the panel.
    import sys

    n = font.GLYPH_BYTES
    table = {bytes(font.DIGITS[d * n : (d + 1) * n]): str(d) for d in range(10)}
    steam = sys.modules.get("font_steam")
    for i in range(len(steam.LETTER_CHARS) if steam is not None else 0):
        table[bytes(steam.LETTERS[i * n : (i + 1) * n])] = steam.LETTER_CHARS[i]
    return table


def big_digits(frame, width=128, height=64):
    """The large digits (and Steam letters) on the frame, left to right, as a string of the
    rows where they were found: [(y, "123456"), ...]. A glyph counts only if all 288 pixels
    of its cell match."""
    src = _fb(_writable(frame), width, height)
    table = _glyph_table()
    scratch = bytearray(font.GLYPH_BYTES)
    sfb = _fb(scratch, font.WIDTH, font.HEIGHT)
    rows = {}
    for y in range(height - font.HEIGHT + 1):
        for x in range(-2, width - font.WIDTH + 3):
            sfb.fill(0)
            sfb.blit(src, -x, -y)
            d = table.get(bytes(scratch))
            if d is not None:
                rows.setdefault(y, []).append((x, d))
    return [(y, "".join(d for _, d in sorted(rows[y]))) for y in sorted(rows)]


def code(frame):
    """The one code shown in large digits, or None if there are none (or several rows)."""
    found = big_digits(frame)
    if len(found) != 1:
        return None
    return found[0][1]


def has_text(frame, text, width=128, height=64, ink=1):
    """True if `text` appears anywhere on the frame in framebuf's 8x8 font (ink 1: lit on
    dark; ink 0: dark on lit, as in a highlighted title)."""
    w = len(text) * 8
    ref = bytearray(w)  # one page: 8 rows
    rfb = _fb(ref, w, 8)
    rfb.fill(1 - ink)
    rfb.text(text, 0, 0, ink)
    scratch = bytearray(w)
    sfb = _fb(scratch, w, 8)
    src = _fb(_writable(frame), width, height)
    for y in range(height - 7):
        for x in range(-2, width - w + 3):
            sfb.fill(1 - ink)
            sfb.blit(src, -x, -y)
            if scratch == ref:
                return True
    return False
