"""How `make test` spreads the suite over pytest-xdist workers (`pytest -n N`).

Most of the suite's wall time is waiting (on a sim's clock, its serial line, a deploy), so the
run is short when the long tests start first, the short ones fill the gaps, and nothing
expensive is done twice. xdist hands out work in units (`scope` below), each unit to one
worker, in collection order:

- A firmware test module is one unit: one interpreter run serves all its tests
  (tests/firmware/conftest.py), and every worker that got one of them would run it again.
- Tests that share a module-scoped sim (or another costly module-scoped fixture) are one
  unit (SHARED_SIMS), so that it is started and prepared once, not once per worker.
- Every other test is its own unit.
- LONG_FIRST, the firmware modules and then the tests known to take tens of seconds, are
  moved to the front of the collection (stable, so everything else keeps its order). A test
  that grows long later just runs in its usual place; `make test` prints the ten slowest,
  which is where to notice it.

The units are chosen here, in the scheduler, from node ids: the controller that schedules
sees only those. (xdist's own `--dist loadgroup` would read `xdist_group` marks, but with
pytest 9 the group never reaches the node id it schedules by, so the marks are ignored.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import pytest

# Node id prefixes of the tests that share a module-scoped sim, and the unit they form.
SHARED_SIMS = (
    # test_app_screen.py: the `token` fixture (sim_module with three accounts provisioned).
    ("tests/e2e/test_app_screen.py::test_codes_equal_pyotp", "app_screen-token"),
    ("tests/e2e/test_app_screen.py::test_labels_are_drawn", "app_screen-token"),
    ("tests/e2e/test_app_screen.py::test_code_flips_within_50ms", "app_screen-token"),
    ("tests/e2e/test_app_screen.py::test_buttons_step_and_wrap", "app_screen-token"),
    # test_deploy.py: the `deployed` fixture, on two sims that share the firmware modules
    # about evenly (measured on 2 cores: test_vault and test_app about 20 s each under load,
    # test_simflash 12, others1 28, others2 14, the deploy tests 11), so that they overlap.
    ("tests/e2e/test_deploy.py::test_device_test_passes_on_the_sim[test_simflash]", "deployed-a"),
    ("tests/e2e/test_deploy.py::test_device_test_passes_on_the_sim[test_app]", "deployed-a"),
    ("tests/e2e/test_deploy.py::test_device_test_passes_on_the_sim[others1]", "deployed-a"),
    ("tests/e2e/test_deploy.py::test_device_test_passes_on_the_sim[", "deployed-b"),
    ("tests/e2e/test_deploy.py::test_data_dir_survives_redeploy", "deployed-b"),
    ("tests/e2e/test_deploy.py::test_provisioned_accounts_survive_redeploy", "deployed-b"),
    ("tests/e2e/test_deploy.py::test_mpremote_sees_the_deployed_files", "deployed-b"),
    # test_deploy_lint.py: not a sim, but as costly to make twice: one mypy run over every
    # case's broken board file (the `misuse_lint` fixture).
    ("tests/host/test_deploy_lint.py::test_api_misuse_fails", "deploy-lint-misuse"),
)

# Node id prefixes, in the order they start. The firmware modules go first: they are short,
# and some assert real-time intervals (test_clock.py: an asyncio sleep of 360 ms must end
# within 400) that failed in every run where they met the sims' load; first, they meet only
# each other. Then the long tests, longest first (measured with --durations on 2 cores, other
# work sharing them).
LONG_FIRST = (
    "tests/firmware/",
    "tests/e2e/test_deploy.py::test_device_test_passes_on_the_sim",
    "tests/e2e/test_ram_64_accounts.py",
    "tests/e2e/test_app_screen.py::test_figures_boot_time_and_i2c_traffic",
    "tests/e2e/test_lock.py::test_mpremote_gets_no_repl",
    "tests/e2e/test_provision.py::test_verify_10000_vectors_passes",
    "tests/e2e/test_vault_power.py::test_power_cut_during_the_first_save_leaves_an_empty_vault",
    "tests/e2e/test_lock.py::test_ctrl_c_through_twenty_resets_never_reaches_a_prompt",
    "tests/host/test_otp_vectors.py",
    "tests/e2e/test_app_screen.py::test_idle_token_light_sleeps_and_a_press_wakes_it",
    "tests/e2e/test_factory_reset.py::test_the_power_on_gesture_erases_everything",
    "tests/e2e/test_harvest.py::test_small_corrections_and_a_first_set_need_no_press",
    "tests/e2e/test_lock.py::test_unlock_opens_the_repl_until_the_next_reset",
    "tests/e2e/test_pin.py::test_wrong_pins_are_counted_across_a_reset",
    "tests/e2e/test_deploy.py::test_deploy_fresh_then_nothing_to_copy",
)


def scope(nodeid: str) -> str:
    """The unit of work a test belongs to: tests with the same scope run on one worker."""
    path = nodeid.partition("::")[0]
    if path.startswith("tests/firmware/"):
        return path
    for prefix, unit in SHARED_SIMS:
        if nodeid.startswith(prefix):
            return unit
    return nodeid


def _rank(item: pytest.Item) -> int:
    for n, prefix in enumerate(LONG_FIRST):
        if item.nodeid.startswith(prefix):
            return n
    return len(LONG_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)


# Compiled firmware modules are shared by the run's deploys (host_tools.deploy's cache): the
# first deploy of a run compiles, the others reuse, and nothing is kept in the user's cache.
# Made by the process that starts the run, before the xdist workers it starts inherit it; a
# cache directory already named in the environment is used as it is.
_COMPILE_CACHE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if "HOST_TOOLS_CACHE_DIR" not in os.environ:
        made = tempfile.mkdtemp(prefix="host_tools-mpy-")
        _COMPILE_CACHE.append(made)
        os.environ["HOST_TOOLS_CACHE_DIR"] = made


def pytest_unconfigure(config: pytest.Config) -> None:
    for made in _COMPILE_CACHE:
        shutil.rmtree(made, ignore_errors=True)
        os.environ.pop("HOST_TOOLS_CACHE_DIR", None)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope(nodeid)

    # Units in collection order (LONG_FIRST first), not reordered by their size.
    config.option.loadscopereorder = False
    return UnitScheduling(config, log)
