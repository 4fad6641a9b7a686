"""`make bench-memory` (and `make bench`): the firmware's memory on an ESP32-sized heap.

Measured on the 32-bit interpreter ($MICROPYTHON32, else ../shared/bin/micropython32; without
one, on the venv's 64-bit interpreter, labelled so), with the firmware compiled to .mpy as
`host_tools deploy` builds it, running on the sim board (bench/mp_memory.py: the real app,
the real drivers against the sim's models, littlefs on the sim's flash, requests through the
protocol server). Every figure comes from its own fresh interpreter process:

- the heap in use after boot (app built, display drawn, vault loaded, idle), with the ESP32's
  112 KB given to the firmware;
- the heap each account adds, per kind (TOTP/HOTP x SHA1/SHA256/SHA512), from the steady heap
  at 0, 16 and 32 accounts of that kind added through the protocol;
- the steady heap with 64 mixed accounts (idle after boot, and again after a command once the
  protocol server was unloaded), the peak during a provision (ADD of the 64th) and
  during a vault save (RENAME with 64): the heap in use before the command plus the least
  free heap it still succeeds with (the rest of the heap filled, one free block left at its
  end, its size bisected);
- the largest single allocation during those commands: the free heap is cut into holes of N
  blocks, and N bisected for the smallest with which the command succeeds;
- the .mpy size of every deployed file and the heap each module holds once imported.

The bench prints; it does not fail on a target.
"""

from __future__ import annotations

import ast
import functools
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from host_tools import deploy  # noqa: E402
from host_tools import protocol as p  # noqa: E402
from host_tools.commands.sim import ESP32_HEAP, HEAP_RATIO_64  # noqa: E402  (the sim's budget)
from host_tools.errors import HostToolsError  # noqa: E402
from host_tools.micropython import find_micropython  # noqa: E402

MP_SCRIPT = REPO / "bench" / "mp_memory.py"
SIM_DIR = REPO / "boards" / "sim"
SIM_MODULES = ("board", "model_ds3231", "model_ssd1306", "simflash", "simi2c", "simlink")
MICROPYTHON32 = REPO.parent / "shared" / "bin" / "micropython32"

KB = 1024
TARGET_STEADY = 64 * KB
TARGET_PEAK = 96 * KB
TARGET_LARGEST = 16 * KB
UNIX = 1_800_000_000  # the token's clock during the bench (2027-01-15)
SLOPE_POINTS = (16, 32)
MIX = 64  # the mixed vault: 40 SHA1, 12 SHA256, 12 SHA512
SECRET_BYTES = {"sha1": 20, "sha256": 32, "sha512": 64}  # RFC 6238's seed lengths
KINDS = [(kind, alg) for kind in ("totp", "hotp") for alg in p.ALGORITHMS]
# Interpreter processes at once: each sleeps most of its time (the token settling, the
# buttons pressed at a user's pace, in poll()); the CPU-bound part is about a tenth.
WORKERS = min(12, 6 * (os.cpu_count() or 1))
WAYS = 3  # tries at once in each of the four bisections
TIMEOUT_S = 120
SERVER_IDLE_MS = 1000  # the app's 12 s wait before it unloads the protocol server, shortened
IDLE_WAIT_MS = 3000  # after a command: the server unloaded by then


@dataclass(frozen=True)
class Spec:
    kind: str
    algorithm: str
    digits: int
    issuer: str
    name: str
    secret: bytes


def labelled(i: int, kind: str, algorithm: str, digits: int) -> Spec:
    """An account with a 20-character issuer and a 32-character name (the issue's mix)."""
    issuer = f"Issuer {i:02d} {algorithm}".ljust(20, ".")[:20]
    name = f"user{i:02d}.{kind}@example.com".ljust(32, ".")[:32]
    secret = random.Random(i * 7 + len(algorithm)).randbytes(SECRET_BYTES[algorithm])
    return Spec(kind, algorithm, digits, issuer, name, secret)


def mixed_accounts() -> list[Spec]:
    specs = []
    for i in range(MIX):
        algorithm = "sha1" if i < 40 else "sha256" if i < 52 else "sha512"
        kind = "hotp" if i % 4 == 3 else "totp"
        specs.append(labelled(i, kind, algorithm, 8 if i % 2 else 6))
    return specs


def add_payload(spec: Spec) -> bytes:
    return (
        p.Fields()
        .u8(0)
        .u8(p.KINDS.index(spec.kind))
        .u8(p.ALGORITHMS.index(spec.algorithm) + 1)
        .u8(spec.digits)
        .u16(30)
        .u64(0)
        .text(spec.issuer)
        .text(spec.name)
        .raw(spec.secret, p.MAX_SECRET)
        .bytes()
    )


def rename_payload(spec: Spec, issuer: str, name: str) -> bytes:
    return p.Fields().text(spec.issuer).text(spec.name).text(issuer).text(name).bytes()


def request_record(rid: int, code: int, payload: bytes) -> bytes:
    """One request as mp_memory reads it: u16 length, u8 frames, the frames' wire lines."""
    chunks = p.split_payload(payload)
    lines = b"".join(
        p.encode_frame(p.Frame(p.FLAG_MORE if i < len(chunks) - 1 else 0, rid, i, code, c))
        for i, c in enumerate(chunks)
    )
    return struct.pack("<HB", len(lines), len(chunks)) + lines


def requests(items: Sequence[tuple[int, bytes]]) -> bytes:
    """Consecutive requests with distinct ids (a repeated id+frame is answered from cache)."""
    return b"".join(
        request_record(i % 250 + 1, code, data) for i, (code, data) in enumerate(items)
    )


# ---- the interpreter and the compiled firmware


@dataclass
class Interpreter:
    path: str
    bits: int
    device: deploy.DeviceInfo

    @property
    def limit(self) -> int:
        return ESP32_HEAP if self.bits == 32 else int(ESP32_HEAP * HEAP_RATIO_64)

    @property
    def scale(self) -> float:
        """The targets are a board's (32-bit); on a 64-bit build, scaled as its heap is."""
        return 1.0 if self.bits == 32 else HEAP_RATIO_64

    @property
    def block(self) -> int:
        return self.bits // 2  # the collector's block: 4 words

    def heap(self, kind: str) -> str:
        """-X heapsize for a run: the limit plus room for the plumbing, or a roomy heap."""
        room = 1 if self.bits == 32 else 2
        if kind == "limited":
            return str(self.limit + 160 * KB * room)
        return f"{room}M"


def choose_interpreter() -> tuple[Interpreter, str]:
    """The 32-bit interpreter, else the 64-bit one with a note saying so."""
    note = ""
    chosen = os.environ.get("MICROPYTHON32")  # set but empty: none (to try the fallback)
    if chosen is None:
        chosen = str(MICROPYTHON32) if MICROPYTHON32.exists() else ""
    if not chosen:
        try:
            chosen = find_micropython()
        except HostToolsError as e:
            sys.exit(f"bench-memory: {e}")
        note = (
            "NOTE: no 32-bit interpreter (set MICROPYTHON32): measured on the 64-bit one, whose "
            f"objects are larger; the firmware heap and the targets are 112 KB, 64, 96 and 16 KB "
            f"x {HEAP_RATIO_64}: the figures are not a board's."
        )
    probe = (
        "import sys; print(tuple(sys.implementation.version[:3]), sys.implementation._mpy, "
        "repr(sys.platform), sys.maxsize)"
    )
    out = subprocess.run(
        [chosen, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    version, mpy, platform, maxsize = out.rsplit(" ", 3)
    device = deploy.parse_probe(
        (ast.literal_eval(version), int(mpy), ast.literal_eval(platform), "/", None)
    )
    bits = 32 if int(maxsize) < 2**32 else 64
    if bits == 64 and not note:
        note = "NOTE: this interpreter is 64-bit: its objects are larger than an ESP32's."
    return Interpreter(chosen, bits, device), note


@dataclass
class Build:
    firmware: Path  # the deployed image (.mpy, main.py as source)
    bench: Path  # mp_memory and the sim board, compiled
    sizes: dict[str, int] = field(default_factory=dict)  # deployed path -> bytes


def compile_all(interp: Interpreter, into: Path) -> Build:
    fw = into / "fw"
    fw.mkdir()
    try:
        image = deploy.build_image(deploy.SIM_BOARD, interp.device, into / "mpy-tmp")
    except HostToolsError as e:
        sys.exit(f"bench-memory: {e}")
    for rel, data in image.items():
        out = fw / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    bench = into / "bench"
    bench.mkdir()
    cross = deploy.mpy_cross_args(interp.device)
    sources = [SIM_DIR / f"{m}.py" for m in SIM_MODULES] + [MP_SCRIPT]
    for src in sources:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mpy_cross",
                *cross,
                "-o",
                str(bench / f"{src.stem}.mpy"),
                str(src),
            ],
            check=True,
        )
    return Build(fw, bench, {rel: len(data) for rel, data in image.items()})


# ---- running one measurement


class Runner:
    def __init__(self, interp: Interpreter, build: Build, tmp: Path) -> None:
        self.interp = interp
        self.build = build
        self.tmp = tmp
        self._slots = threading.Semaphore(WORKERS)
        self._count = 0
        self._lock = threading.Lock()
        self.runs = 0

    def run(
        self,
        cfg: dict,
        heap: str,
        requests_data: bytes = b"",
        flash: Path | None = None,
        keep_flash: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> dict[str, str]:
        with self._lock:
            self._count += 1
            work = self.tmp / f"run{self._count}"
        work.mkdir()
        (work / "fw").symlink_to(self.build.firmware)
        (work / "requests.bin").write_bytes(requests_data)
        os.mkfifo(work / "serial")
        if flash is not None:
            shutil.copyfile(flash, work / "flash.img")
        cfg = dict(cfg, work=str(work), unix=UNIX)
        driver = work / "driver.py"
        driver.write_text(f"import mp_memory\nmp_memory.main({cfg!r})\n")
        env = dict(
            os.environ,
            MICROPYPATH=os.pathsep.join([".frozen", str(self.build.bench)]),
            TZ="UTC",
            **(env or {}),
        )
        with self._slots:
            proc = subprocess.run(
                [self.interp.path, "-X", f"heapsize={heap}", str(driver)],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=TIMEOUT_S,
            )
        with self._lock:
            self.runs += 1
        figures = parse(proc.stdout)
        if "MemoryError" in proc.stdout + proc.stderr:
            figures.setdefault("memory_error", "logged")
            figures["ok"] = "0"
        if "done" not in figures:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-12:])
            raise RuntimeError(f"{cfg['mode']} run failed (status {proc.returncode}):\n{tail}")
        if keep_flash is not None:
            shutil.copyfile(work / "flash.img", keep_flash)
        shutil.rmtree(work, ignore_errors=True)
        return figures


def parse(output: str) -> dict[str, str]:
    """The "@@MEM name value" lines of a run."""
    figures: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] == "@@MEM":
            figures[parts[1]] = parts[2]
    return figures


def between(lo: int, hi: int, k: int) -> list[int]:
    """Up to k values spread evenly strictly between lo and hi."""
    points = {lo + (hi - lo) * i // (k + 1) for i in range(1, k + 1)}
    return sorted(n for n in points if lo < n < hi)


def bisect(ok: Callable[[int], bool], lo: int, hi: int, step: int, ways: int = 1) -> int | None:
    """The smallest n in (lo, hi] (to `step`) with ok(n), given ok is monotonic; the upper
    end is widened (doubled, up to 16 times) until it succeeds; None if it never does.
    `ways` values are tried at once (each try is a process that mostly waits), so a round
    cuts the range in ways + 1 parts."""
    with ThreadPoolExecutor(ways) as pool:
        for _ in range(16):
            points = [*between(lo, hi, ways - 1), hi]
            results = dict(zip(points, pool.map(ok, points), strict=True))
            if results[hi]:
                break
            lo, hi = hi, hi * 2
        else:
            return None
        while True:
            hi = min([n for n, good in results.items() if good] + [hi])
            lo = max([n for n, good in results.items() if not good and n < hi] + [lo])
            if hi - lo <= step:
                return hi
            points = between(lo, hi, ways)
            results = dict(zip(points, pool.map(ok, points), strict=True))


# ---- the measurements


@dataclass
class OpResult:
    used_before: int
    used_idle: int  # after it, once the protocol server was unloaded (the host quiet)
    peak: int | None  # used_before + the least free heap it succeeds with
    largest: int | None  # bytes, rounded up to the collector's block
    allocated: int  # bytes allocated during it with the collector off


def measure_op(runner: Runner, image: Path, accounts: int, code: int, payload: bytes) -> OpResult:
    """Peak and largest allocation of one request against the flash image (which holds
    `accounts`, each shown once with the buttons before the request)."""
    data = request_record(1, code, payload)  # a fresh process: no earlier id to repeat
    heap = runner.interp.heap("roomy")
    base = {"mode": "op", "browse": accounts}
    # The probe also waits for the protocol server's unload (shortened by the sim board:
    # SIM_SERVER_IDLE_MS) and reads the heap then: the steady heap of a token that talked.
    probe = runner.run(
        dict(base, limit_how="probe", idle_ms=IDLE_WAIT_MS), heap, data, image,
        env={"SIM_SERVER_IDLE_MS": str(SERVER_IDLE_MS)},
    )  # fmt: skip
    if probe.get("ok") != "1":
        raise RuntimeError(f"the command failed even on a roomy heap: {probe}")
    used = int(probe["used_before"])
    allocated = int(probe["allocated"])
    block = runner.interp.block
    given: dict[int, int] = {}

    def fits_free(n: int) -> bool:
        f = runner.run(dict(base, limit_how="free", n=n), heap, data, image)
        if f.get("ok") == "1":
            given[n] = int(f["free_given"])
        return f.get("ok") == "1"

    def fits_holes(n: int) -> bool:
        f = runner.run(dict(base, limit_how="holes", n=n), heap, data, image)
        return f.get("ok") == "1"

    with ThreadPoolExecutor(2) as pool:
        free_job = pool.submit(bisect, fits_free, 0, allocated + 8 * block, block, WAYS)
        holes_job = pool.submit(bisect, fits_holes, 0, allocated // block + 2, 1, WAYS)
        least_free, least_blocks = free_job.result(), holes_job.result()
    peak = used + given[least_free] if least_free is not None else None
    largest = least_blocks * block if least_blocks is not None else None
    return OpResult(used, int(probe["used_idle"]), peak, largest, allocated)


def module_deps() -> dict[str, list[str]]:
    """Firmware module -> the modules it imports at its top level (in order)."""
    deps: dict[str, list[str]] = {}
    for src in deploy.firmware_sources():
        rel = src.relative_to(deploy.FIRMWARE_DIR).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith("__init__"):
            name = name.rsplit(".", 1)[0]
        found = []
        for node in ast.parse(src.read_text()).body:
            if isinstance(node, ast.Import):
                found += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append(node.module)
        deps[name] = [m for m in found if m != "micropython"]
    return deps


def import_order(name: str, deps: dict[str, list[str]]) -> list[str]:
    """What to import before `name` so that its delta is its own: deps first, depth first."""
    order: list[str] = []

    def visit(m: str) -> None:
        for d in deps.get(m, []):
            if "." in d:  # a package's parent first (drivers before drivers.ssd1306)
                visit(d.rsplit(".", 1)[0])
            visit(d)
        if m not in order:
            order.append(m)

    visit(name)
    if "." in name:
        order.insert(0, name.rsplit(".", 1)[0])
    return [m for m in dict.fromkeys(order) if m != name]


@dataclass
class Figures:
    boot: dict[str, str] = field(default_factory=dict)
    slopes: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    provision: OpResult | None = None
    save: OpResult | None = None
    imports: dict[str, int | None] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def measure(runner: Runner) -> Figures:
    figs = Figures()
    limited = runner.interp.heap("limited")
    limit = runner.interp.limit
    mix = mixed_accounts()
    adds = [(p.Command.ADD, add_payload(s)) for s in mix]
    images = runner.tmp / "images"
    images.mkdir()

    def boot() -> None:
        figs.boot = runner.run({"mode": "boot", "limit": limit}, limited)

    def slope(kind: str, algorithm: str) -> None:
        specs = [labelled(i, kind, algorithm, 6) for i in range(SLOPE_POINTS[-1])]
        data = requests([(p.Command.ADD, add_payload(s)) for s in specs])
        # On a roomy heap: a per-account figure even where 112 KB would run out first (the
        # steady and peak rows say whether 64 accounts fit).
        cfg = {"mode": "slope", "points": list(SLOPE_POINTS)}
        figs.slopes[(kind, algorithm)] = runner.run(cfg, runner.interp.heap("roomy"), data)

    def ops() -> None:
        roomy = runner.interp.heap("roomy")
        img63, img64 = images / "mix63.img", images / "mix64.img"
        done = runner.run(
            {"mode": "prepare", "count": MIX - 1}, roomy, requests(adds[:-1]), keep_flash=img63
        )
        if done.get("prepared") != str(MIX - 1):
            raise RuntimeError(f"preparing {MIX - 1} accounts failed: {done}")
        with ThreadPoolExecutor(2) as pool:
            prov = pool.submit(measure_op, runner, img63, MIX - 1, *adds[-1])
            # The 64-account image: the 63 plus the same ADD, kept from a run of its own.
            data = request_record(1, *adds[-1])
            runner.run({"mode": "prepare", "count": 1}, roomy, data, img63, keep_flash=img64)
            rename = rename_payload(mix[0], mix[0].issuer, "renamed")
            saved = pool.submit(measure_op, runner, img64, MIX, p.Command.RENAME, rename)
            figs.provision, figs.save = prov.result(), saved.result()

    def imports() -> None:
        deps = module_deps()
        for name in list(deps) + ["asyncio"]:
            if name == "main":
                continue
            cfg = {"mode": "import", "module": name, "deps": import_order(name, deps)}
            f = runner.run(cfg, runner.interp.heap("roomy"))
            figs.imports[name] = int(f["import"]) if "import" in f else None

    jobs: list[Callable[[], None]] = [ops, boot, imports]
    jobs += [functools.partial(slope, k, a) for k, a in KINDS]
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = [pool.submit(job) for job in jobs]
        for fut in futures:
            try:
                fut.result()
            except Exception as e:  # noqa: BLE001 - one failed figure must not hide the rest
                figs.errors.append(str(e))
    return figs


# ---- the table


def kb(n: int | None) -> str:
    return "-" if n is None else f"{n:,} B ({n / KB:.1f} KB)"


def slope_row(f: dict[str, str]) -> tuple[int | None, int | None, str]:
    """Bytes per account (between the last two readings: the first accounts also pay
    one-time costs, such as the lazily imported OTP core), those one-time costs, and the
    readings as text."""
    points = (0, *SLOPE_POINTS)
    readings = [f.get(f"used_at_{n}") for n in points]
    shown = " / ".join("-" if r is None else f"{int(r):,}" for r in readings)
    if "failed_at" in f:
        shown += f" (failed at account {f['failed_at']}, status {f.get('status')})"
    known = [int(r) for r in readings if r is not None]
    if len(known) < len(readings):
        return None, None, shown
    u0, u1, u2 = known
    per = (u2 - u1) // (points[2] - points[1])
    return per, u1 - u0 - per * points[1], shown


def module_key(rel: str) -> str:
    name = rel.rsplit(".", 1)[0].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def table(interp: Interpreter, figs: Figures, build: Build, commit: str) -> list[str]:
    out = [
        f"Firmware memory on the sim board: {interp.path} ({interp.bits}-bit), .mpy as "
        f"deployed; commit {commit}",
        "",
        f"  {'figure':50} {'measured':>20}  {'target':>6}  verdict",
    ]

    def row(what: str, value: str, target: int | None = None, n: int | None = None) -> None:
        if target is None:
            out.append(f"  {what:50} {value:>20}")
            return
        target = int(target * interp.scale)
        result = "unknown" if n is None else "holds" if n <= target else "DOES NOT HOLD"
        out.append(f"  {what:50} {value:>20}  {target / KB:>3.0f} KB  {result}")

    b = figs.boot
    heap = f"{interp.limit // KB} KB heap" if interp.bits == 32 else f"{interp.limit:,} B heap"
    if "app_failure" in b:
        row(f"heap in use after boot ({heap})", "FAILED: app stopped")
        out.append(f"    {b['app_failure']}")
    elif "used" in b:
        row(f"heap in use after boot ({heap}, no accounts)", kb(int(b["used"])))
        row("  then free; largest free block", f"{int(b['free']):,}; {int(b['largest_free']):,}")
    else:
        row(f"heap in use after boot ({heap})", "FAILED: " + b.get("memory_error", "?"))
    prov, save = figs.provision, figs.save
    steady = save.used_before if save else None
    row("steady heap with 64 mixed accounts", kb(steady), TARGET_STEADY, steady)
    after = max(save.used_idle, prov.used_idle) if save and prov else None
    row("  the same after a command (server unloaded)", kb(after), TARGET_STEADY, after)
    for label, res in (
        ("provision (ADD of the 64th)", prov),
        ("vault save (RENAME, 64 accounts)", save),
    ):
        if res is None:
            row(f"peak during a {label}", "-")
            continue
        row(f"peak during a {label}", kb(res.peak), TARGET_PEAK, res.peak)
    for label, res in (("provision", prov), ("vault save", save)):
        if res is not None:
            row(
                f"largest single allocation, {label}", kb(res.largest), TARGET_LARGEST, res.largest
            )
    for label, res in (("provision", prov), ("vault save", save)):
        if res is not None:
            row(
                f"  {label}: in use before; allocated during",
                f"{res.used_before:,}; {res.allocated:,}",
            )
    out += [
        "",
        f"  {'added per account':24} {'bytes':>7} {'one-time':>9}   "
        f"steady heap at 0 / 16 / 32 accounts",
    ]
    for kind, algorithm in KINDS:
        f = figs.slopes.get((kind, algorithm), {})
        per, once, shown = slope_row(f)
        name = f"{kind.upper()} {algorithm.upper()}"
        out.append(
            f"  {name:24} {'-' if per is None else f'{per:,}':>7} "
            f"{'-' if once is None else f'{once:,}':>9}   {shown}"
        )
    out += [
        "",
        "  Heap in use: gc.collect(), then all in use minus the sim's plumbing (measured before",
        "  the firmware starts), the app idle, every account shown once first with the NEXT",
        "  button (showing a TOTP account makes its OTP key, which it keeps). Accounts have",
        "  20-character issuers, 32-character names and are added through the protocol (the 64:",
        "  40 SHA1, 12 SHA256, 12 SHA512, every 4th HOTP, 6 and 8 digits). Per account: between",
        "  16 and 32 accounts of that kind (one-time: what the first accounts cost beyond that,",
        "  e.g. the lazily imported OTP core). Peak: heap in use before the command plus the",
        "  least free heap it succeeds with (all else filled, one free block at the heap's end,",
        "  bisected to a block). Success: status OK, the app still running, no MemoryError",
        "  logged. Largest allocation: the free heap cut into holes of N blocks (filled with",
        "  one-block objects, runs of N freed), N bisected to the least that succeeds: exact to",
        f"  the collector's {interp.block}-byte block. The sim's bus and flash hand the models",
        "  the firmware's buffers without copies. Each figure comes from a fresh interpreter",
        "  process; repeated runs differ by a few hundred bytes (the app's timing).",
        "",
        f"  {'module (deployed file)':30} {'.mpy bytes':>10}  {'heap once imported':>18}",
    ]
    total_size = 0
    total_heap = 0
    for rel, size in sorted(build.sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        name = module_key(rel)
        cost = figs.imports.get(name)
        total_size += size
        total_heap += cost or 0
        shown = "runs as source" if rel == "main.py" else "-" if cost is None else f"{cost:,}"
        out.append(f"  {rel:30} {size:>10,}  {shown:>18}")
    out.append(f"  {'total':30} {total_size:>10,}  {total_heap:>18,}")
    frozen = figs.imports.get("asyncio")
    if frozen is not None:
        out.append(f"  {'asyncio (frozen, not deployed)':30} {'':>10}  {frozen:>18,}")
    out += [
        "  heap once imported: gc delta of importing the module after what it imports itself",
        "  (its own cost). Viper code is not in it: the unix port maps executable memory for it,",
        "  and the esp32 port commits it to executable RAM outside the heap too (only its",
        "  transient load buffer is in the heap).",
    ]
    for e in figs.errors:
        out.append(f"  ERROR: {e}")
    return out


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout

    rev = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--", "firmware", "boards/sim", "bench").strip()
    return rev + ("+changes" if dirty else "")


def main() -> None:
    started = time.monotonic()
    interp, note = choose_interpreter()
    with tempfile.TemporaryDirectory(prefix="membench-") as tmp:
        build = compile_all(interp, Path(tmp))
        runner = Runner(interp, build, Path(tmp))
        figs = measure(runner)
    if note:
        print(note)
    print("\n".join(table(interp, figs, build, commit())))
    print(f"  ({runner.runs} interpreter runs, {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
