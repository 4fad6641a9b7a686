"""host_tools.deploy: version checks, board choice, the image, and incremental copying.

The incremental tests run deploy() against a stand-in device: a directory on the host driven by
the real MicroPython unix interpreter (the snippets deploy sends to a board are executed by
`micropython` with that directory as its working directory). Only the serial transport is
replaced; the tests against the simulator's serial port live in tests/e2e/test_deploy.py.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from host_tools import deploy
from host_tools.devicelink import DeviceLink
from host_tools.errors import InvalidInputError

MICROPYTHON = str(Path(sys.executable).parent / "micropython")
# sys.implementation._mpy of MicroPython 1.2x on an ESP32: .mpy v6.3, arch xtensawin (10).
ESP32_MPY = 6 | 3 << 8 | 10 << 10


def esp32(version=(1, 24, 1), mpy=ESP32_MPY, manifest=None) -> deploy.DeviceInfo:
    text = json.dumps(manifest) if manifest is not None else None
    return deploy.parse_probe((version, mpy, "esp32", "/", text))


class DirDevice:
    """Stands in for DeviceLink: runs each snippet with `micropython` inside `root`."""

    instances: list[DirDevice] = []

    def __init__(self, port: str) -> None:
        self.root = Path(port)
        self.writes: list[str] = []
        self.resets = 0
        self.transport = self
        DirDevice.instances.append(self)

    def __enter__(self) -> DirDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def enter_raw_repl(self, soft_reset: bool = True) -> None:
        pass

    def exit_raw_repl(self) -> None:
        pass

    def reset_into_firmware(self) -> None:
        self.resets += 1

    def exec(self, code: str, timeout: float = 10) -> str:
        proc = subprocess.run(
            [MICROPYTHON, "-c", code],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            env={"MICROPYPATH": ".frozen"},
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    # The real method: it only sends a snippet through exec().
    remove_files = DeviceLink.remove_files

    def eval(self, code: str, timeout: float = 10) -> object:
        import ast

        return ast.literal_eval(self.exec(code).strip())

    def write_file(self, path: str, data: bytes) -> None:
        target = self.root / path
        assert target.parent.is_dir(), f"{path}: deploy did not create the directory first"
        target.write_bytes(data)
        self.writes.append(path)


@pytest.fixture
def device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(deploy, "DeviceLink", DirDevice)
    DirDevice.instances.clear()
    root = tmp_path / "device"
    root.mkdir()
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- the device's answer and the refusals ---


def test_probe_decodes_mpy_field() -> None:
    info = esp32()
    assert (info.mpy_version, info.mpy_sub_version, info.arch) == (6, 3, "xtensawin")
    assert info.version == (1, 24, 1) and not info.is_sim


def test_unix_interpreter_reports_its_arch() -> None:
    out = subprocess.run(
        [MICROPYTHON, "-c", "import sys; print(sys.implementation._mpy)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    info = deploy.parse_probe(((1, 29, 0), int(out), "linux", "/", None))
    assert info.arch == "x64" and info.is_sim


def test_old_micropython_is_refused() -> None:
    with pytest.raises(deploy.UnsupportedDeviceError, match=r"1\.20\.0 is too old.*1\.23\.0"):
        deploy.mpy_cross_args(esp32(version=(1, 20, 0), mpy=6 | 1 << 8 | 10 << 10))


def test_mpy_format_mpy_cross_cannot_make_is_refused() -> None:
    with pytest.raises(deploy.UnsupportedDeviceError, match=r"\.mpy v7\.0"):
        deploy.mpy_cross_args(esp32(version=(2, 0, 0), mpy=7 | 10 << 10))


def test_no_mpy_support_is_refused() -> None:
    with pytest.raises(deploy.UnsupportedDeviceError, match="cannot import .mpy"):
        deploy.parse_probe(((1, 24, 0), None, "esp32", "/", None))


def test_current_esp32_compiles_for_xtensawin() -> None:
    assert deploy.mpy_cross_args(esp32()) == ["-march=xtensawin"]


def test_unknown_board_lists_known_ones() -> None:
    with pytest.raises(InvalidInputError) as e:
        deploy.choose_board("esp8266_nodemcu", esp32())
    assert "esp32_devkit" in str(e.value) and "heltec_wifi_kit_32" in str(e.value)


def test_board_required_on_first_esp32_deploy() -> None:
    with pytest.raises(InvalidInputError, match="--board"):
        deploy.choose_board(None, esp32())


def test_board_remembered_from_last_deploy() -> None:
    info = esp32(manifest={"board": "heltec_wifi_kit_32", "files": {}})
    assert deploy.choose_board(None, info) == "heltec_wifi_kit_32"


def test_sim_board_refused_on_esp32_and_esp32_board_on_sim() -> None:
    with pytest.raises(InvalidInputError, match="simulator"):
        deploy.choose_board("sim", esp32())
    sim = deploy.parse_probe(((1, 29, 0), 6 | 3 << 8 | 2 << 10, "linux", "/", None))
    with pytest.raises(InvalidInputError, match="ESP32"):
        deploy.choose_board("esp32_devkit", sim)
    assert deploy.choose_board(None, sim) == "sim"


# --- the image ---


def test_image_compiles_all_but_the_boot_entries_and_adds_the_board(tmp_path: Path) -> None:
    sources = deploy.firmware_sources()
    if not sources:
        pytest.skip("no firmware modules yet")
    image = deploy.build_image("esp32_devkit", esp32(), tmp_path)
    assert image["board.py"] == (deploy.BOARDS_DIR / "esp32_devkit.py").read_bytes()
    for src in sources:
        rel = src.relative_to(deploy.FIRMWARE_DIR).as_posix()
        if rel in ("main.py", "boot.py"):  # the boot entries stay source
            assert image[rel] == src.read_bytes()
        else:
            data = image[rel[:-3] + ".mpy"]
            # .mpy header: 'M', version 6; the arch is only recorded when native code is present.
            assert data[:2] == b"M\x06", rel
    assert not any(p.startswith("data/") for p in image)


def test_data_dir_is_never_a_target() -> None:
    for path in ("data/vault.bin", "/data/x", "data"):
        with pytest.raises(deploy.DeployError, match="data directory"):
            deploy.check_outside_data_dir(path)


def test_plan_copies_only_changed_and_removes_stale() -> None:
    image = {"a.mpy": b"new", "b.mpy": b"same", "board.py": b"board"}
    old = {"board": "esp32_devkit", "files": {"a.mpy": "x", "old.mpy": "y"}}
    hashes = {
        "a.mpy": hashlib.sha256(b"old").hexdigest(),
        "b.mpy": hashlib.sha256(b"same").hexdigest(),
        "board.py": None,
        "old.mpy": "y",
        "a.py": "z",  # a stale source would shadow a.mpy
        "b.py": None,
    }
    plan = deploy.make_plan(esp32(manifest=old), "esp32_devkit", image, hashes)
    assert plan.copy == ["a.mpy", "board.py"]
    assert plan.unchanged == ["b.mpy"]
    assert plan.remove == ["a.py", "old.mpy"]
    assert plan.write_manifest


# --- deploy() end to end on a directory device ---


def test_deploy_then_redeploy_copies_nothing_and_keeps_data(device: Path) -> None:
    (device / "data").mkdir()
    (device / "data" / "vault.bin").write_bytes(b"accounts")
    first = deploy.deploy(str(device), None)
    files = tree(device)
    assert first.plan.board == "sim"
    assert set(first.plan.copy) == set(first.plan.image) and first.plan.write_manifest
    for path, data in first.plan.image.items():
        assert files[path] == data
    manifest = json.loads(files[deploy.MANIFEST])
    assert manifest["files"] == {
        p: hashlib.sha256(d).hexdigest() for p, d in first.plan.image.items()
    }

    second = deploy.deploy(str(device), None)
    assert second.plan.copy == [] and second.plan.remove == [] and not second.plan.write_manifest
    assert DirDevice.instances[-1].writes == []
    assert tree(device) == files
    assert files["data/vault.bin"] == b"accounts"
    assert DirDevice.instances[-1].resets == 1


def test_dry_run_writes_nothing(device: Path) -> None:
    result = deploy.deploy(str(device), None, dry_run=True)
    assert tree(device) == {}
    assert DirDevice.instances[-1].writes == []
    text = "\n".join(result.plan.describe())
    assert f"{len(result.plan.copy)} to copy" in text and "data/ is not touched" in text


def test_changed_file_is_the_only_copy_and_stale_file_goes(device: Path) -> None:
    first = deploy.deploy(str(device), None)
    if not first.plan.image:
        pytest.skip("no firmware modules yet")
    some = sorted(first.plan.image)[0]
    (device / some).write_bytes(b"corrupted on the device")
    manifest = json.loads((device / deploy.MANIFEST).read_text())
    manifest["files"]["gone.mpy"] = "0" * 64
    (device / deploy.MANIFEST).write_text(json.dumps(manifest))
    (device / "gone.mpy").write_bytes(b"left by an older firmware")
    again = deploy.deploy(str(device), None)
    assert again.plan.copy == [some]
    assert again.plan.remove == ["gone.mpy"]
    assert not (device / "gone.mpy").exists()
    assert (device / some).read_bytes() == first.plan.image[some]
