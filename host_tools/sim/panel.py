"""The OLED as the supervisor last saw it: frames from the firmware's SSD1306 model.

A `Frame` holds what the model reported after an I2C write changed it: GDDRAM (page-major
MONO_VLSB, as the driver wrote it), the glass (what the panel shows: GDDRAM after COM
remapping, inversion, display on/off and charge pump), and the register state. Rendering
(terminal half blocks, PNG snapshots) uses the glass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# An OLED look for snapshots: lit pixels in the blue-white of a common SSD1306 module,
# dark pixels near black, a one-pixel gap between scaled pixels so the dot matrix shows.
_LIT = (200, 230, 255)
_DARK = (12, 12, 16)
_GAP = (0, 0, 0)


@dataclass
class Frame:
    width: int = 128
    height: int = 64
    gddram: bytes = b""
    glass: bytes = b""
    state: dict = field(default_factory=dict)
    version: int = -1
    received: float = 0.0  # host time.time() when the supervisor received it

    def pixel(self, x: int, y: int) -> int:
        """1 if the glass pixel at (x, y) is lit."""
        if not self.glass:
            return 0
        return (self.glass[(y >> 3) * self.width + x] >> (y & 7)) & 1

    def rows(self) -> list[list[int]]:
        return [[self.pixel(x, y) for x in range(self.width)] for y in range(self.height)]

    def half_blocks(self) -> list[str]:
        """The glass as text, two pixel rows per line (U+2580/2584/2588 and space)."""
        glyphs = {(0, 0): " ", (1, 0): "\u2580", (0, 1): "\u2584", (1, 1): "\u2588"}
        lines = []
        for y in range(0, self.height, 2):
            lines.append(
                "".join(
                    glyphs[(self.pixel(x, y), self.pixel(x, y + 1))] for x in range(self.width)
                )
            )
        return lines

    def snapshot(self, path: Path, scale: int = 4) -> Path:
        """Write a PNG of the glass, each pixel a scale x scale dot with a dark gap.

        Pixel (x, y) of the panel is the square from (x*scale, y*scale); its centre
        (x*scale + scale//2, y*scale + scale//2) has the lit or dark colour. The lit colour
        follows the contrast register (dimmer at low contrast), as on the glass.
        """
        from PIL import Image, ImageDraw

        if scale < 1:
            raise ValueError("scale must be >= 1")
        contrast = int(self.state.get("contrast", 0x7F))
        level = 0.55 + 0.45 * contrast / 255
        lit = tuple(int(c * level) for c in _LIT)
        small = Image.new("RGB", (self.width, self.height), _DARK)
        small.putdata([lit if on else _DARK for row in self.rows() for on in row])
        img = small.resize((self.width * scale, self.height * scale), Image.Resampling.NEAREST)
        if scale >= 3:
            draw = ImageDraw.Draw(img)
            for x in range(self.width):
                edge = x * scale + scale - 1
                draw.line([(edge, 0), (edge, img.height - 1)], fill=_GAP)
            for y in range(self.height):
                edge = y * scale + scale - 1
                draw.line([(0, edge), (img.width - 1, edge)], fill=_GAP)
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, "PNG")
        return path
