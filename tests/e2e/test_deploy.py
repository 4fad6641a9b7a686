"""Deploy and device-test against the virtual token's serial port, as a user would run them.

The sim's port behaves as a board's (raw REPL, soft reset, littlefs flash), so these drive
the real `host_tools` command line and mpremote exactly as on an ESP32.

A deploy costs seconds of compiling and copying, so only the tests about a fresh token get a
fresh sim (`sim`, tests/e2e/conftest.py); the others share deployed tokens (`deployed`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host_tools.deploy import MANIFEST
from host_tools.devicelink import DeviceLink

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
HOST_TOOLS = str(BIN / "host_tools")
MPREMOTE = str(BIN / "mpremote")
REPO = Path(__file__).resolve().parents[2]


def host_tools(port: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOST_TOOLS, "--port", port, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def deploy(port: str, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = host_tools(port, "deploy", *args)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    return result, elapsed


def device_files(port: str) -> dict:
    """The deploy manifest and a listing of the flash, read back through mpremote's library."""
    with DeviceLink(port) as link:
        link.enter_raw_repl(soft_reset=True)
        found = link.eval(
            "import os\n"
            "def walk(d):\n"
            " out = []\n"
            " for e in os.ilistdir(d or '.'):\n"
            "  p = d + '/' + e[0] if d else e[0]\n"
            "  out += walk(p) if e[1] & 0x4000 else [p]\n"
            " return out\n"
            "print(repr([p for p in walk('') if not p.startswith('_')]))"
        )
        manifest = json.loads(link.exec(f"print(open({MANIFEST!r}).read())"))
        link.reset_into_firmware()
    return {"files": sorted(found), "manifest": manifest}


@pytest.fixture(scope="module")
def deployed(unpaced_sim_module):  # type: ignore[no-untyped-def]
    """A sim deployed once per unit of work (SHARED_SIMS in tests/conftest.py), shared by the
    tests that only need a deployed token. Each of them leaves it deployed and consistent
    with its manifest (a test that damages a file redeploys); what they add (a file in
    data/, an account) is what a user's token holds anyway, and no test here depends on its
    absence.
    The line is unpaced (conftest.UNPACED): these tests are about what is copied, not how
    fast; so is the fresh deploy below. The paced line a user has is kept by the dry run
    (probe and hashes at 115,200 baud) and by mpremote's own writes in test_sim.py."""
    deploy(unpaced_sim_module.port)
    return unpaced_sim_module


# Every firmware test module runs on the deployed sim, as on a board (what cannot run on the
# sim skips itself with a reason). One run of all of them took over a minute, so they run in
# groups that xdist can spread over its workers: the modules that take tens of seconds on the
# sim each alone (slowest first, and before this file's other tests, so they start first),
# the rest dealt round-robin into a few groups. A new module lands in one of those without a
# change here; test_device_test_groups_cover_every_module proves it.
FIRMWARE_MODULES = sorted(p.stem for p in (REPO / "tests" / "firmware").glob("test_*.py"))
_ALONE = ("test_simflash", "test_vault", "test_app")
_REST = [m for m in FIRMWARE_MODULES if m not in _ALONE]
_REST_GROUPS = 2
DEVICE_TEST_GROUPS = {m: (m,) for m in _ALONE if m in FIRMWARE_MODULES} | {
    f"others{i + 1}": tuple(_REST[i::_REST_GROUPS]) for i in range(_REST_GROUPS)
}


def test_device_test_groups_cover_every_module() -> None:
    grouped = [m for group in DEVICE_TEST_GROUPS.values() for m in group]
    assert sorted(grouped) == FIRMWARE_MODULES  # each module once, none left out
    assert all(DEVICE_TEST_GROUPS.values())


def _failures(report: str) -> str:
    """The FAIL and ERROR entries of a device-test report with what follows each (traceback,
    stray output), not the PASS lines around them."""
    kept, inside = [], False
    for line in report.splitlines():
        if line.lstrip().startswith(("FAIL ", "ERROR ")):
            inside = True
        elif line.lstrip().startswith(("PASS ", "SKIP ")):
            inside = False
        if inside:
            kept.append(line)
    return "\n".join(kept[-200:]) + "\n" + report[-300:]


# The tests on `deployed` share two deployed sims (two xdist groups, tests/conftest.py),
# which the modules share about evenly, so that the two overlap.
@pytest.mark.parametrize("group", list(DEVICE_TEST_GROUPS))  # the slowest first
def test_device_test_passes_on_the_sim(deployed, group: str) -> None:  # type: ignore[no-untyped-def]
    port, _control = deployed
    modules = DEVICE_TEST_GROUPS[group]
    result = host_tools(port, "device-test", *modules, timeout=300)
    assert result.returncode == 0, _failures(result.stdout) + result.stderr
    assert " 0 failed" in result.stdout and "PASS " in result.stdout
    for name in modules:
        assert f"{name}.py::" in result.stdout, f"{name} was not run"


def test_deploy_fresh_then_nothing_to_copy(unpaced_sim) -> None:
    # Unpaced: 100 KB copied at 115,200 baud took 26 s of the suite's time, and what is
    # checked is what is copied (the 260-byte input ring still applies: mpremote's flow
    # control is still exercised, with input arriving faster than on a board).
    port, _control = unpaced_sim
    first, first_s = deploy(port)
    assert "deployed board sim" in first.stdout, first.stdout
    state = device_files(port)
    deployed = set(state["manifest"]["files"])
    assert deployed, "nothing was deployed"
    assert {p for p in deployed if p.endswith(".mpy")}, "no compiled modules"
    assert deployed <= set(state["files"])
    if (REPO / "firmware" / "main.py").exists():
        assert "main.py" in deployed

    second, second_s = deploy(port)
    assert ": 0 copied (0 bytes)" in second.stdout and "0 removed" in second.stdout, second.stdout
    assert device_files(port) == state
    print(f"\ndeploy into a fresh sim {first_s:.2f} s, second deploy {second_s:.2f} s")


def test_dry_run_changes_nothing(sim) -> None:
    port, _control = sim
    result, _ = deploy(port, "--dry-run")
    assert "dry run: nothing changed" in result.stdout
    assert "copy " in result.stdout and "data/ is not touched" in result.stdout
    with DeviceLink(port) as link:
        link.enter_raw_repl(soft_reset=True)
        exists = link.eval(f"import os\nprint(repr({MANIFEST!r} in os.listdir()))")
        link.reset_into_firmware()
    assert exists is False


def test_unknown_board_refused(sim) -> None:
    port, _control = sim
    result = host_tools(port, "deploy", "--board", "nonesuch")
    assert result.returncode != 0
    assert "unknown board 'nonesuch'" in result.stderr and "esp32_devkit" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_dir_survives_redeploy(deployed) -> None:  # type: ignore[no-untyped-def]
    port, _control = deployed
    keep = b"vault bytes that deploy must never touch \x00\xff"
    with DeviceLink(port) as link:
        link.enter_raw_repl(soft_reset=True)
        link.exec("import os\ntry:\n os.mkdir('data')\nexcept OSError:\n pass")
        link.write_file("data/keep.bin", keep)
        # damage one deployed file so the redeploy really copies something
        manifest = json.loads(link.exec(f"print(open({MANIFEST!r}).read())"))
        victim = sorted(manifest["files"])[0]
        link.write_file(victim, b"# damaged\n")
        link.reset_into_firmware()
    result, _ = deploy(port)
    assert ": 1 copied" in result.stdout, result.stdout
    with DeviceLink(port) as link:
        link.enter_raw_repl(soft_reset=True)
        back = link.eval("print(repr(open('data/keep.bin', 'rb').read()))")
        link.reset_into_firmware()
    assert back == keep


def test_provisioned_accounts_survive_redeploy(deployed) -> None:  # type: ignore[no-untyped-def]
    port, _control = deployed
    commands = host_tools(port, "--help").stdout
    if "provision" not in commands:
        pytest.skip("host_tools provision is not available yet")
    uri = "otpauth://totp/Example:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
    added = host_tools(port, "provision", uri)
    assert added.returncode == 0, added.stdout + added.stderr
    before = host_tools(port, "list")
    assert "alice@example.com" in before.stdout, before.stdout + before.stderr
    with DeviceLink(port) as link:  # force a real copy on the redeploy
        link.enter_raw_repl(soft_reset=True)
        manifest = json.loads(link.exec(f"print(open({MANIFEST!r}).read())"))
        link.write_file(sorted(manifest["files"])[-1], b"# damaged\n")
        link.reset_into_firmware()
    deploy(port)
    after = host_tools(port, "list")
    assert after.returncode == 0 and after.stdout == before.stdout, after.stdout + after.stderr


def test_mpremote_sees_the_deployed_files(deployed) -> None:  # type: ignore[no-untyped-def]
    port, _control = deployed
    listing = subprocess.run(
        [MPREMOTE, "connect", port, "fs", "ls", ":"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    assert MANIFEST in listing.stdout


def test_device_test_failure_exits_non_zero(sim, tmp_path: Path) -> None:
    port, _control = sim
    # A module that fails on purpose, run through the same command line on the sim's port.
    tests = tmp_path / "fw"
    tests.mkdir()
    (tests / "mptest.py").write_bytes((REPO / "tests" / "firmware" / "mptest.py").read_bytes())
    (tests / "test_fails.py").write_text(
        "def test_wrong():\n    assert 2 + 2 == 5, 'arithmetic'\n\n"
        "def test_right():\n    assert 2 + 2 == 4\n\n"
        'if __name__ == "__main__":\n    import mptest\n    mptest.main(globals())\n'
    )
    code = (
        "import sys\nfrom pathlib import Path\nfrom host_tools import devicetest\n"
        f"t = devicetest.run_device_tests({port!r}, test_dir=Path({str(tests)!r}))\n"
        "sys.exit(0 if t.ok else 1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL test_fails.py::test_wrong" in result.stdout
    assert "arithmetic" in result.stdout
    assert "PASS test_fails.py::test_right" in result.stdout
