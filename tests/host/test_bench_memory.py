"""bench/memory.py's pieces without the whole bench: reading a run's output, the bisection, the
request records the token reads, the mixed vault, the import order, and one real run."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from host_tools import protocol as p
from host_tools.errors import HostToolsError
from host_tools.micropython import find_micropython, is_rv32

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def mem() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_memory", REPO / "bench" / "memory.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_parse_reads_only_the_marked_lines(mem: ModuleType) -> None:
    out = "token: vault: noise\n@@MEM used 72880\n@@MEM memory_error 'x y'\n@@MEM\nused 1\n"
    assert mem.parse(out) == {"used": "72880", "memory_error": "'x y'"}


def test_bisect_finds_the_least_that_succeeds_to_the_step(mem: ModuleType) -> None:
    tried: list[int] = []

    def ok(n: int) -> bool:
        tried.append(n)
        return n >= 1000

    assert mem.bisect(ok, 0, 4096, 16) - 1000 in range(16)
    assert len(tried) <= 10
    assert mem.bisect(lambda n: n >= 5000, 0, 100, 1) == 5000  # the upper end is widened
    assert mem.bisect(lambda n: False, 0, 100, 1) is None
    tried.clear()
    assert mem.bisect(ok, 0, 4096, 16, ways=3) - 1000 in range(16)  # three at once
    assert len(tried) <= 3 * 5
    assert mem.bisect(lambda n: n >= 5000, 0, 100, 1, ways=3) == 5000
    assert mem.between(0, 100, 3) == [25, 50, 75] and mem.between(10, 12, 3) == [11]


def test_a_request_record_holds_the_frames_of_one_message(mem: ModuleType) -> None:
    spec = mem.labelled(7, "totp", "sha512", 8)
    payload = mem.add_payload(spec)
    assert len(payload) > p.MAX_PAYLOAD  # a 64-byte secret: two chunks
    record = mem.request_record(9, p.Command.ADD, payload)
    length, count = record[0] | record[1] << 8, record[2]
    assert length == len(record) - 3 and count == 2
    frames = p.FrameParser().feed(record[3:])
    assert [(f.rid, f.seq, f.code, f.more) for f in frames] == [
        (9, 0, p.Command.ADD, True),
        (9, 1, p.Command.ADD, False),
    ]
    assert b"".join(f.payload for f in frames) == payload
    reader = p.FieldReader(payload)
    fields = [reader.u8() for _ in range(4)] + [reader.u16(), reader.u64()]
    assert fields == [0, 0, 3, 8, 30, 0]
    assert (reader.text(), reader.text(), reader.raw()) == (spec.issuer, spec.name, spec.secret)
    reader.end()


def test_consecutive_requests_have_distinct_ids(mem: ModuleType) -> None:
    data = mem.requests([(p.Command.INFO, b"")] * 300)
    frames = p.FrameParser().feed(data)  # the records' headers are noise between the lines
    ids = [f.rid for f in frames]
    assert len(ids) == 300 and all(a != b for a, b in zip(ids, ids[1:], strict=False))


def test_the_mixed_vault_is_the_issues(mem: ModuleType) -> None:
    mix = mem.mixed_accounts()
    algorithms = [s.algorithm for s in mix]
    assert (algorithms.count("sha1"), algorithms.count("sha256"), algorithms.count("sha512")) == (
        40,
        12,
        12,
    )
    assert all(len(s.issuer) == 20 and len(s.name) == 32 for s in mix)
    assert len({(s.issuer, s.name) for s in mix}) == 64
    assert {s.digits for s in mix} == {6, 8} and {s.kind for s in mix} == {"totp", "hotp"}
    assert all(len(s.secret) == mem.SECRET_BYTES[s.algorithm] for s in mix)


def test_a_module_is_imported_after_what_it_imports(mem: ModuleType) -> None:
    deps = mem.module_deps()
    assert {"app", "server", "vault", "drivers.ssd1306"} <= set(deps)
    server = mem.import_order("server", deps)
    assert "protocol" in server and "server" not in server
    codes = mem.import_order("cmdcodes", deps)  # a handler module: asyncio, then its server
    assert "asyncio" in codes and codes.index("protocol") < codes.index("server")
    assert "cmdcodes" not in codes
    vault = mem.import_order("vault", deps)
    assert "store" in vault and "vault" not in vault
    assert mem.import_order("drivers.ssd1306", deps)[0] == "drivers"


def test_slope_rows(mem: ModuleType) -> None:
    readings = {"used_at_0": "1000", "used_at_16": "9000", "used_at_32": "12200"}
    per, once, shown = mem.slope_row(readings)
    assert (per, once) == (200, 8000 - 16 * 200)
    assert shown == "1,000 / 9,000 / 12,200"
    per, once, shown = mem.slope_row({"used_at_0": "1000", "failed_at": "20", "status": "51"})
    assert per is None and once is None and "failed at account 20, status 51" in shown


def test_one_real_boot_run(mem: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # The plumbing end to end on the venv's interpreter: firmware compiled as deployed, the
    # sim board, the app booted and idle, the figures read back.
    try:
        micropython = find_micropython()
    except HostToolsError as e:
        pytest.skip(str(e))
    if is_rv32(micropython):
        pytest.skip("the memory bench runs on a unix port, not the RV32 runner")
    monkeypatch.setenv("MICROPYTHON32", micropython)
    interp, _ = mem.choose_interpreter()
    with tempfile.TemporaryDirectory() as tmp:
        build = mem.compile_all(interp, Path(tmp))
        assert build.sizes["main.py"] > 0 and build.sizes["app.mpy"] > 0
        runner = mem.Runner(interp, build, Path(tmp))
        f = runner.run({"mode": "boot", "settle_ms": 100}, interp.heap("roomy"))
    assert int(f["plumbing"]) > 0 and int(f["used"]) > 0, f
    assert int(f["largest_free"]) <= int(f["free"])
    assert "app_failure" not in f and "memory_error" not in f, f
