# The app on the sim board, continued from test_app_sim.py: a pulled RTC battery is noticed.
# A module of its own because each module runs in one process: two apps, each with its own
# sim models, one after the other in one process do not fit an ESP32-sized heap (112 KiB).
import app as appmod
import fsutil
import mptest
import panelread
import simboard
import vault

SEED20 = b"12345678901234567890"


def test_on_the_sim_board_a_pulled_battery_is_noticed_by_check():
    import asyncio

    b = simboard.make()
    hw = b.hw
    hw.rtc.set_unix(1234567890.5)
    b.rtc().clear_oscillator_stop()
    vault.Vault(b.data_dir).add("RFC", "sim", SEED20, digits=8)
    a = appmod.App(b)
    a.start()
    assert panelread.code(hw.panel.glass()) is not None
    hw.rtc.pull_battery()
    assert not asyncio.run(a.clock.check())
    a.screen.render()
    assert panelread.code(hw.panel.glass()) is None
    assert panelread.has_text(hw.panel.glass(), "Clock not set", ink=0)


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
