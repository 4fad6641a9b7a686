"""host_tools.deploy for an ESP32-C3 (RISC-V): the arch it compiles for, and the C3 board."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from host_tools import deploy

# sys.implementation._mpy of MicroPython 1.2x on an ESP32-C3: .mpy v6.3, arch rv32imc (11),
# the value MicroPython's py/persistentcode.h gives MP_NATIVE_ARCH_RV32IMC.
C3_MPY = 6 | 3 << 8 | 11 << 10
# The .mpy header's byte 2 holds the arch in its top 6 bits when the file has native code.
RV32IMC = 11


def c3(mpy: int | None = C3_MPY, manifest: dict | None = None) -> deploy.DeviceInfo:
    text = json.dumps(manifest) if manifest is not None else None
    return deploy.parse_probe(((1, 26, 1), mpy, "esp32", "/", text))


def test_c3_probe_reads_rv32imc() -> None:
    info = c3()
    assert (info.mpy_version, info.mpy_sub_version, info.arch) == (6, 3, "rv32imc")
    assert not info.is_sim


def test_c3_compiles_for_rv32imc() -> None:
    assert deploy.mpy_cross_args(c3()) == ["-march=rv32imc"]


def test_build_without_native_emitter_is_refused() -> None:
    with pytest.raises(deploy.UnsupportedDeviceError, match="no native code emitter"):
        deploy.mpy_cross_args(c3(mpy=6 | 3 << 8))


def test_unknown_arch_is_refused() -> None:
    with pytest.raises(deploy.UnsupportedDeviceError, match="arch#40"):
        deploy.mpy_cross_args(c3(mpy=6 | 3 << 8 | 40 << 10))


def test_c3_board_is_known_and_remembered() -> None:
    assert "esp32_c3_devkit" in deploy.known_boards()
    assert deploy.choose_board("esp32_c3_devkit", c3()) == "esp32_c3_devkit"
    remembered = c3(manifest={"board": "esp32_c3_devkit", "files": {}})
    assert deploy.choose_board(None, remembered) == "esp32_c3_devkit"


def test_c3_image_has_rv32imc_native_code_and_the_board(tmp_path: Path) -> None:
    image = deploy.build_image("esp32_c3_devkit", c3(), tmp_path)
    board = deploy.BOARDS_DIR / "esp32_c3_devkit.py"
    assert image["board.py"] == board.read_bytes()
    native = [
        path
        for path, data in image.items()
        if path.endswith(".mpy") and data[:2] == b"M\x06" and data[2] >> 2
    ]
    assert native, "no module with native (viper) code in the image"
    for path in native:
        assert image[path][2] >> 2 == RV32IMC, path
