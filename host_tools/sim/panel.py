"""The OLED as the supervisor last saw it: frames from the firmware's SSD1306 model.

A `Frame` holds what the model reported after an I2C write changed it: GDDRAM (page-major
MONO_VLSB, as the driver wrote it), the glass (what the panel shows: GDDRAM after COM
remapping, inversion, display on/off and charge pump), and the register state. Rendering
(terminal half blocks, PNG snapshots) uses the glass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from host_tools.sim import SimError

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


class PanelMirror:
    """The panel as the supervisor knows it: the last frame, whether the panel has power, and
    how soon frames came. The panel keeps power (and its picture) across soft resets, resets
    and deep sleep; at the first start and after a power cut it starts dark with random
    GDDRAM (the new process's model makes that up)."""

    def __init__(self) -> None:
        self.frame = Frame()
        self.powered = False
        self.first_frame_s: float | None = None  # supervisor start to the first lit frame
        self.boot_first_frame_s: float | None = None  # last process start to its first frame
        self._snap_count = 0

    def welcome(self) -> dict:
        """A boot's welcome message: the picture and registers to restore, if it kept power."""
        keep = self.powered and bool(self.frame.gddram)
        self.powered = True
        return {
            "t": "welcome",
            "panel": self.frame.state if keep else None,
            "gddram": self.frame.gddram.hex() if keep else "",
        }

    def boot(self) -> None:
        self.boot_first_frame_s = None

    def power_cut(self) -> None:
        self.powered = False
        self.frame = Frame(version=self.frame.version + 1, received=time.time())

    def update(self, msg: dict, since_boot: float, since_start: float) -> None:
        """A frame message from the firmware's SSD1306 model."""
        size = int(msg["w"]) * int(msg["h"]) // 8
        self.frame = Frame(
            width=int(msg["w"]),
            height=int(msg["h"]),
            gddram=bytes.fromhex(msg["gddram"])[:1024],
            glass=bytes.fromhex(msg["glass"])[:size],
            state={k: v for k, v in msg.items() if k not in ("t", "gddram", "glass")},
            version=int(msg["v"]),
            received=time.time(),
        )
        if msg.get("lit") and self.boot_first_frame_s is None:
            self.boot_first_frame_s = since_boot
            if self.first_frame_s is None:
                self.first_frame_s = since_start

    def info(self) -> dict:
        """The frame as the control socket sends it."""
        f = self.frame
        return {
            "version": f.version,
            "width": f.width,
            "height": f.height,
            "gddram": f.gddram.hex(),
            "glass": f.glass.hex(),
            "state": f.state,
            "received": f.received,
        }

    def snapshot(self, snapshots: Path, path: str | None, scale: int) -> Path:
        """A PNG of the glass at path (relative: under snapshots), or a new name there."""
        if not self.frame.glass:
            raise SimError("no frame from the panel yet")
        if path:
            target = Path(path)
            if not target.is_absolute():
                target = snapshots / target
        else:
            self._snap_count += 1
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            target = snapshots / f"panel-{stamp}-{self._snap_count}.png"
        return self.frame.snapshot(target, int(scale))
