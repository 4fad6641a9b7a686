"""Read the token's screen back from the SSD1306 model's GDDRAM (test decoder, CPython).

The large digits, and the letters of Steam Guard codes, are matched exactly against the
project's own font (firmware/font_digits.py and font_steam.py, read as data, not imported);
small text against framebuf's 8x8 font, dumped once from the MicroPython interpreter itself.
A glyph counts only if every pixel of its cell matches, so a half-drawn or corrupted digit
reads as nothing rather than as a wrong digit.

    screen = panel_decode.decode(gddram)        # 1024 bytes, page-major MONO_VLSB
    screen.code        # "123456" (a Steam code: "FR8RV") or None (no large glyphs, or more
                       #   than one row of them)
    screen.lines       # [(y, "GitHub"), (y, "alice"), (y, "> 123 456       2/7"), ...]
    screen.preview     # next code in small type ("123456", "FR8RV") or None
    screen.position    # "2/7" or None
    screen.bar         # countdown bar length in pixels (0 when absent)
    screen.has_text("Clock not set")
"""

from __future__ import annotations

import ast
import functools
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from host_tools.micropython import find_micropython

REPO = Path(__file__).resolve().parents[2]
FONT_FILE = REPO / "firmware" / "font_digits.py"
STEAM_FONT_FILE = REPO / "firmware" / "font_steam.py"
WIDTH = 128


@functools.cache
def digit_font() -> tuple[int, int, dict[tuple[int, ...], str]]:
    """(width, height, {column bit patterns: character}) from firmware/font_digits.py (the
    digits) and font_steam.py (the letters of Steam codes)."""
    values: dict[str, object] = {}
    for path in (FONT_FILE, STEAM_FONT_FILE):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                values[node.targets[0].id] = ast.literal_eval(node.value)
    w, h, n = int(values["WIDTH"]), int(values["HEIGHT"]), int(values["GLYPH_BYTES"])  # type: ignore[call-overload]
    table: dict[tuple[int, ...], str] = {}
    glyph_sets = ((values["DIGITS"], "0123456789"), (values["LETTERS"], values["LETTER_CHARS"]))
    for data, chars in glyph_sets:
        assert isinstance(data, bytes) and isinstance(chars, str)
        assert len(data) == len(chars) * n
        for i, char in enumerate(chars):
            glyph = data[i * n : (i + 1) * n]
            cols = []
            for x in range(w):
                v = 0
                for page in range(h // 8):
                    v |= glyph[page * w + x] << (8 * page)
                cols.append(v)
            assert tuple(cols) not in table, f"glyph {char} looks like {table[tuple(cols)]}"
            table[tuple(cols)] = char
    return w, h, table


_DUMP_FONT = """
import framebuf
b = bytearray(8)
f = framebuf.FrameBuffer(b, 8, 8, framebuf.MONO_VLSB)
for c in range(32, 127):
    f.fill(0)
    f.text(chr(c), 0, 0, 1)
    print(c, bytes(b).hex())
"""


@functools.cache
def text_font() -> dict[tuple[int, ...], str]:
    """{8 column bytes: character} of framebuf's built-in font, from MicroPython itself."""
    out = subprocess.run(
        [find_micropython(honor_env=False), "-c", _DUMP_FONT],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    table: dict[tuple[int, ...], str] = {}
    for line in out.splitlines():
        code, hexed = line.split()
        cols = tuple(bytes.fromhex(hexed))
        if any(cols):  # the space is found from gaps, not matched
            table.setdefault(cols, chr(int(code)))
    return table


def columns(gddram: bytes, height: int = 64) -> list[int]:
    """Each panel column as an int, bit y = pixel (x, y)."""
    cols = []
    for x in range(WIDTH):
        v = 0
        for page in range(height // 8):
            v |= gddram[page * WIDTH + x] << (8 * page)
        cols.append(v)
    return cols


def rotate180(gddram: bytes, height: int = 64) -> bytes:
    """The same picture turned by 180 degrees (for a panel drawn with rotate on)."""
    cols = columns(gddram, height)
    out = bytearray(len(gddram))
    for x in range(WIDTH):
        v = cols[WIDTH - 1 - x]
        r = int(f"{v:0{height}b}"[::-1], 2)  # reverse the bits: bit y -> bit height-1-y
        for page in range(height // 8):
            out[page * WIDTH + x] = (r >> (8 * page)) & 0xFF
    return bytes(out)


@dataclass
class Screen:
    cols: list[int]
    height: int
    digit_rows: list[tuple[int, int, str]] = field(default_factory=list)  # (y, x, digits)
    lines: list[tuple[int, str]] = field(default_factory=list)

    @property
    def code(self) -> str | None:
        return self.digit_rows[0][2] if len(self.digit_rows) == 1 else None

    @property
    def text(self) -> str:
        return "\n".join(t for _, t in self.lines)

    def has_text(self, needle: str) -> bool:
        return any(needle in t for _, t in self.lines)

    @property
    def preview(self) -> str | None:
        for _, t in self.lines:
            m = re.match(r"^>\s*([0-9A-Z ]+?)\s*(?:\d+/\d+)?$", t)
            if m:
                return m.group(1).replace(" ", "")
        return None

    @property
    def position(self) -> str | None:
        for _, t in self.lines:
            m = re.search(r"(\d+)/(\d+)$", t)
            if m:
                return m.group(0)
        return None

    @property
    def bar(self) -> int:
        """Longest horizontal run of lit pixels in the rows between the digits and the
        bottom line (the countdown bar)."""
        if not self.digit_rows:
            return 0
        y0 = self.digit_rows[0][0] + digit_font()[1]
        best = 0
        for y in range(y0, min(y0 + 10, self.height)):
            run = 0
            for x in range(WIDTH):
                if self.cols[x] >> y & 1:
                    run += 1
                    best = max(best, run)
                else:
                    run = 0
        return best

    @property
    def lit(self) -> int:
        return sum(bin(c).count("1") for c in self.cols)


def _digit_rows(cols: list[int], height: int) -> list[tuple[int, int, str]]:
    w, h, table = digit_font()
    mask = (1 << h) - 1
    found: dict[int, list[tuple[int, str]]] = {}
    for y in range(height - h + 1):
        for x in range(WIDTH - w + 1):
            key = tuple((cols[x + i] >> y) & mask for i in range(w))
            d = table.get(key)
            if d is not None:
                found.setdefault(y, []).append((x, d))
    return [(y, hits[0][0], "".join(d for _, d in hits)) for y, hits in sorted(found.items())]


def _text_lines(
    cols: list[int], height: int, skip: tuple[int, int] = (0, 0)
) -> list[tuple[int, str]]:
    table = text_font()
    lines = []
    for y in range(height - 7):
        if skip[0] <= y < skip[1]:
            continue  # the digits and the bar: their edges would read as "_" or "-"
        for invert in (False, True):
            chars: list[tuple[int, str]] = []
            x = 0
            while x <= WIDTH - 8:
                key = tuple((((~v if invert else v) >> y) & 0xFF) for v in cols[x : x + 8])
                c = table.get(key)
                if c is not None:
                    chars.append((x, c))
                    x += 8
                else:
                    x += 1
            if chars:
                text = chars[0][1]
                for (x0, _), (x1, c) in zip(chars, chars[1:], strict=False):
                    text += " " * ((x1 - x0 - 8 + 4) // 8) + c
                lines.append((y, text))
    return lines


def decode(gddram: bytes, height: int = 64) -> Screen:
    cols = columns(gddram, height)
    screen = Screen(cols, height)
    screen.digit_rows = _digit_rows(cols, height)
    skip = (0, 0)
    if screen.digit_rows:
        y = screen.digit_rows[0][0]
        skip = (y - 7, y + digit_font()[1] + 10)
    screen.lines = _text_lines(cols, height, skip)
    return screen


def render(gddram: bytes, height: int = 64) -> str:
    """The picture as text (two pixel rows per line), for failure messages."""
    cols = columns(gddram, height)
    out = []
    for y in range(0, height, 2):
        out.append("".join(" ▀▄█"[(c >> y & 1) + 2 * (c >> (y + 1) & 1)] for c in cols))
    return "\n".join(out)
