"""The firmware the sim runs while nothing is deployed on its flash: built as `host_tools
deploy` builds it for a board (modules compiled to .mpy for the interpreter's .mpy version and
native arch, main.py and boot.py as source), so the heap it uses is a board's. A board never
compiles the firmware's sources in its own heap; running them as source would spend heap of
the firmware's budget that no board spends.

The image goes to the sim's state directory (`firmware/`, seen by the firmware process as
/_state/firmware), written afresh at each start of the sim; deploy's compile cache makes that
quick after the first build.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import tempfile
from pathlib import Path

from host_tools import deploy
from host_tools.errors import HostToolsError
from host_tools.sim import SimError

# What deploy asks a board (deploy.parse_probe's tuple), but the board's cwd and manifest.
_PROBE = (
    "import sys; print(repr((tuple(sys.implementation.version[:3]), "
    "getattr(sys.implementation, '_mpy', None), sys.platform)))"
)
IMAGE_DIR = "firmware"  # in the state directory
DEVICE_PATH = "/_state/" + IMAGE_DIR  # the same, as simboot mounts it


def probe(micropython: str) -> deploy.DeviceInfo:
    try:
        out = subprocess.run(
            [micropython, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
        ).stdout
        version, mpy, platform = ast.literal_eval(out.strip())
    except (OSError, subprocess.SubprocessError, ValueError, SyntaxError) as e:
        raise SimError(f"sim: cannot ask {micropython} what it runs: {e}") from e
    return deploy.parse_probe((version, mpy, platform, "/", None))


def install(micropython: str, state_dir: Path) -> str:
    """Compile the firmware for this interpreter into state_dir/firmware; its path as the
    firmware process sees it."""
    dest = state_dir / IMAGE_DIR
    with tempfile.TemporaryDirectory() as tmp:
        try:
            image = deploy.build_image(deploy.SIM_BOARD, probe(micropython), Path(tmp))
        except HostToolsError as e:
            raise SimError(f"sim: cannot compile the firmware: {e}") from e
    if dest.exists():
        shutil.rmtree(dest)
    for rel, data in image.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return DEVICE_PATH
