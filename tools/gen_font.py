"""Generate firmware/font_digits.py, the token's own large digits, and firmware/font_steam.py,
the letters Steam Guard codes use (STEAM_LETTERS: Steam's alphabet is 2-9 and these 18), drawn
from pen strokes. The letters are a module of their own: the UI imports it only when it shows
a Steam code, so a token without Steam accounts spends no RAM on them.

Each digit is a few strokes (straight segments and elliptic arcs) through a 12x24 pixel box;
a pixel is lit when its centre lies within the pen's radius of a stroke. The result is stored
as MONO_VLSB bytes (the SSD1306's and framebuf's layout), so the firmware blits a glyph
without any conversion and the test decoder reads the same bytes back.

    python tools/gen_font.py            # rewrite firmware/font_digits.py and font_steam.py
    python tools/gen_font.py --show     # print the glyphs as text art
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

WIDTH = 12
HEIGHT = 24
PEN = 1.55  # stroke half-width in pixels: strokes come out 3 px wide

Point = tuple[float, float]
Stroke = list[Point]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Points along an ellipse from angle start to end (degrees, 0 = right, 90 = up)."""
    steps = max(8, int(abs(end - start) / 6))
    pts = []
    for i in range(steps + 1):
        t = math.radians(start + (end - start) * i / steps)
        pts.append((cx + rx * math.cos(t), cy - ry * math.sin(t)))
    return pts


L, R, T, B = 1.5, 10.5, 1.5, 22.5  # stroke centre lines at the box edges
MID = 11.5

GLYPHS: dict[str, list[Stroke]] = {
    "0": [arc(6, 6, 4.5, 4.5, 0, 180), [(L, 6), (L, 18)], arc(6, 18, 4.5, 4.5, 180, 360),
          [(R, 18), (R, 6)]],
    "1": [[(6.5, T), (6.5, B)], [(5.6, 2.4), (2.4, 5.2)], [(2.5, B), (R, B)]],
    "2": [arc(6, 6, 4.5, 4.5, 165, -25) + [(L, 20.5), (L, B)], [(L, B), (R, B)]],
    "3": [arc(6, 6.25, 4.5, 4.75, 155, -90), arc(6, 16.75, 4.5, 5.75, 90, -155)],
    "4": [[(8.5, T), (L, 15.5), (R, 15.5)], [(8.5, 8), (8.5, B)]],
    "5": [[(R, T), (2.2, T), (2.0, 11.6)], arc(6, 16.5, 4.5, 6, 120, -150)],
    "6": [arc(6, 16.5, 4.5, 6, 0, 360), arc(6, 7, 4.5, 5.5, 45, 180) + [(L, 16.5)]],
    "7": [[(L, T), (R, T), (4.5, B)]],
    "8": [arc(6, 6, 4.0, 4.5, 0, 360), arc(6, 17, 4.5, 5.5, 0, 360)],
    "9": [arc(6, 7.5, 4.5, 6, 0, 360), arc(6, 17, 4.5, 5.5, -135, 0) + [(R, 7.5)]],
    # Letters: a straight stem or flat sides where the digit they resemble is round (B/8,
    # D/0, G/6, Q/0), so neither a person nor the test decoder can take one for the other.
    "B": [[(L, T), (L, B)], [(L, T), (6.5, T)] + arc(6.5, 6.5, 4, 5, 90, -90) + [(L, MID)],
          [(L, MID), (6.5, MID)] + arc(6.5, 17, 4, 5.5, 90, -90) + [(L, B)]],
    "C": [arc(6.5, 12, 5, 10.5, 45, 315)],
    "D": [[(L, T), (L, B)], [(L, T), (4.5, T)] + arc(4.5, 12, 6, 10.5, 90, -90) + [(L, B)]],
    "F": [[(R, T), (L, T), (L, B)], [(L, MID), (8.5, MID)]],
    "G": [arc(6.5, 12, 5, 10.5, 40, 360) + [(R, 13)], [(R, 13), (6.5, 13)]],
    "H": [[(L, T), (L, B)], [(R, T), (R, B)], [(L, MID), (R, MID)]],
    "J": [[(4.5, T), (R, T)], [(R, T), (R, 17)] + arc(6, 17, 4.5, 5.5, 0, -180)],
    "K": [[(L, T), (L, B)], [(R, T), (L, 14)], [(4.5, 10.5), (R, B)]],
    "M": [[(L, B), (L, T), (6, 14), (R, T), (R, B)]],
    "N": [[(L, B), (L, T), (R, B), (R, T)]],
    "P": [[(L, T), (L, B)], [(L, T), (6.5, T)] + arc(6.5, 7, 4, 5.5, 90, -90) + [(L, 12.5)]],
    "Q": [arc(6, 11, 4.5, 9.5, 0, 360), [(6.5, 16.5), (R, B)]],
    "R": [[(L, T), (L, B)], [(L, T), (6.5, T)] + arc(6.5, 7, 4, 5.5, 90, -90) + [(L, 12.5)],
          [(5.5, 12.5), (R, B)]],
    "T": [[(L, T), (R, T)], [(6, T), (6, B)]],
    "V": [[(L, T), (6, B), (R, T)]],
    "W": [[(L, T), (L, B), (6, 10), (R, B), (R, T)]],
    "X": [[(L, T), (R, B)], [(R, T), (L, B)]],
    "Y": [[(L, T), (6, MID)], [(R, T), (6, MID)], [(6, MID), (6, B)]],
}
DIGITS = "0123456789"
STEAM_LETTERS = "BCDFGHJKMNPQRTVWXY"  # Steam's alphabet 23456789BCDFGHJKMNPQRTVWXY less 2-9


def _dist(p: Point, a: Point, b: Point) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0
    if length2:
        t = max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


def render(strokes: list[Stroke]) -> list[list[int]]:
    rows = []
    for y in range(HEIGHT):
        row = []
        for x in range(WIDTH):
            c = (x + 0.5, y + 0.5)
            lit = any(
                _dist(c, s[i], s[i + 1]) <= PEN for s in strokes for i in range(len(s) - 1)
            )
            row.append(1 if lit else 0)
        rows.append(row)
    return rows


def to_vlsb(rows: list[list[int]]) -> bytes:
    out = bytearray()
    for page in range(HEIGHT // 8):
        for x in range(WIDTH):
            byte = 0
            for bit in range(8):
                if rows[page * 8 + bit][x]:
                    byte |= 1 << bit
            out.append(byte)
    return bytes(out)


def _table(chars: str) -> str:
    # The glyphs of `chars` as one bytes literal, a line per page of each glyph.
    per = WIDTH * HEIGHT // 8
    data = b"".join(to_vlsb(render(GLYPHS[c])) for c in chars)
    lines = []
    for i, c in enumerate(chars):
        for page in range(HEIGHT // 8):
            start = i * per + page * WIDTH
            chunk = data[start : start + WIDTH]
            hexes = "".join(f"\\x{b:02x}" for b in chunk)
            lines.append(f"    b'{hexes}'  # {c} page {page}")
    return "(\n" + "\n".join(lines) + "\n)\n"


def module_text() -> str:
    per = WIDTH * HEIGHT // 8
    return (
        "# The token's large digits 0-9: 12x24 pixels each, MONO_VLSB (framebuf's and the\n"
        "# SSD1306's layout): glyph d is DIGITS[d * 36 : d * 36 + 36], 3 pages of 12 columns.\n"
        "# Generated by tools/gen_font.py from pen strokes; edit the strokes there, not here.\n"
        "# Plain data (no imports), so the host-side test decoder reads the same bytes.\n"
        "\n"
        f"WIDTH = {WIDTH}\n"
        f"HEIGHT = {HEIGHT}\n"
        f"GLYPH_BYTES = {per}\n"
        "DIGITS = " + _table(DIGITS)
    )


def steam_module_text() -> str:
    alphabet = DIGITS[2:] + STEAM_LETTERS
    text = ",\n".join(
        "    " + ", ".join(f'"{c}"' for c in alphabet[i : i + 13]) for i in range(0, 26, 13)
    )
    return (
        "# The letters of Steam Guard codes in the large font (font_digits.py: 12x24, MONO_VLSB,\n"
        "# GLYPH_BYTES each): glyph i of LETTERS is LETTER_CHARS[i]. Steam's alphabet is 2-9\n"
        "# then these, so a character of value v is glyph v + 2 counting the digits first.\n"
        "# TEXT: the alphabet as one-character strings, for small type without allocating.\n"
        "# Imported by the UI only when it shows a Steam code.\n"
        "# Generated by tools/gen_font.py from pen strokes; edit the strokes there, not here.\n"
        "# Plain data (no imports), so the host-side test decoder reads the same bytes.\n"
        "\n"
        f'LETTER_CHARS = "{STEAM_LETTERS}"\n'
        f"TEXT = (\n{text},\n)\n"
        "LETTERS = " + _table(STEAM_LETTERS)
    )


def show() -> None:
    for chars in (DIGITS, STEAM_LETTERS[:9], STEAM_LETTERS[9:]):
        glyphs = [render(GLYPHS[c]) for c in chars]
        for y in range(HEIGHT):
            print("  ".join("".join("#" if v else "." for v in g[y]) for g in glyphs))
        print()


def main() -> None:
    if "--show" in sys.argv:
        show()
        return
    firmware = Path(__file__).resolve().parent.parent / "firmware"
    for name, text in (("font_digits.py", module_text()), ("font_steam.py", steam_module_text())):
        (firmware / name).write_text(text)
        print(f"wrote {firmware / name}")


if __name__ == "__main__":
    main()
