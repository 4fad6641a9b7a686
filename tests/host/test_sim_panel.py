"""The sim's panel mirror (host_tools.sim.panel.PanelMirror): what a boot gets back of the
panel (its picture survives resets, not power cuts), frame timings, snapshots' paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from host_tools.sim import SimError
from host_tools.sim.panel import PanelMirror


def frame_msg(version: int, lit: bool = True, fill: int = 0x0F) -> dict:
    return {
        "t": "frame",
        "v": version,
        "w": 128,
        "h": 64,
        "lit": lit,
        "contrast": 0x7F,
        "gddram": (bytes([fill]) * 1024).hex(),
        "glass": (bytes([fill]) * 1024).hex(),
    }


def test_first_boot_gets_a_dark_panel_later_boots_the_picture() -> None:
    panel = PanelMirror()
    assert panel.welcome() == {"t": "welcome", "panel": None, "gddram": ""}
    panel.update(frame_msg(3), since_boot=0.1, since_start=0.2)
    welcome = panel.welcome()  # a reset or soft reset: the panel kept power
    assert welcome["gddram"] == (b"\x0f" * 1024).hex()
    assert welcome["panel"]["contrast"] == 0x7F and "gddram" not in welcome["panel"]


def test_a_power_cut_darkens_the_panel_and_the_next_boot_starts_dark() -> None:
    panel = PanelMirror()
    panel.welcome()
    panel.update(frame_msg(5), since_boot=0.1, since_start=0.1)
    panel.power_cut()
    assert panel.frame.version == 6 and panel.frame.glass == b""  # clients see a change
    assert panel.welcome() == {"t": "welcome", "panel": None, "gddram": ""}


def test_first_lit_frame_times() -> None:
    panel = PanelMirror()
    panel.update(frame_msg(1, lit=False), since_boot=0.05, since_start=0.06)
    assert panel.first_frame_s is None and panel.boot_first_frame_s is None
    panel.update(frame_msg(2), since_boot=0.12, since_start=0.13)
    panel.update(frame_msg(3), since_boot=0.5, since_start=0.5)
    assert (panel.boot_first_frame_s, panel.first_frame_s) == (0.12, 0.13)
    panel.boot()
    panel.update(frame_msg(4), since_boot=0.2, since_start=9.0)
    assert (panel.boot_first_frame_s, panel.first_frame_s) == (0.2, 0.13)


def test_snapshot_paths(tmp_path: Path) -> None:
    panel = PanelMirror()
    with pytest.raises(SimError, match="no frame"):
        panel.snapshot(tmp_path, None, 4)
    panel.update(frame_msg(1), since_boot=0.1, since_start=0.1)
    assert panel.snapshot(tmp_path, "a.png", 2) == tmp_path / "a.png"
    absolute = tmp_path / "elsewhere" / "b.png"
    assert panel.snapshot(tmp_path, str(absolute), 1) == absolute and absolute.exists()
    named = panel.snapshot(tmp_path, None, 1)
    assert named.parent == tmp_path and named.name.startswith("panel-")
    info = panel.info()
    assert info["version"] == 1 and info["glass"] == (b"\x0f" * 1024).hex()
