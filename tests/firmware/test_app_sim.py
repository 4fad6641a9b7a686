# The app on the sim board: the real SSD1306 and DS3231 drivers against the sim's device models
# (boards/sim), codes read back from the panel model's glass. Apart from test_app.py so that
# the models' memory is not held by a process that runs the fake-board tests too: on an
# ESP32-sized heap (RV32 in QEMU) the two together do not fit.
import app as appmod
import fsutil
import micropython
import mptest
import panelread
import simboard
import vault

SEED20 = b"12345678901234567890"
RFC6238_SHA1_1234567890 = "89005924"  # RFC 6238 Appendix B, 8 digits


def test_on_the_sim_board_the_real_drivers_show_the_code():
    if float(1 << 24) + 1 == float(1 << 24):  # single-precision floats (ESP32, RV32)
        mptest.skip("the sim's DS3231 model is set from a float time: needs double precision")
    b = simboard.make()
    hw = b.hw
    hw.rtc.set_unix(1234567890.2)
    b.rtc().clear_oscillator_stop()
    vault.Vault(b.data_dir).add("RFC", "sim", SEED20, digits=8)
    a = appmod.App(b)
    a.start()
    assert panelread.code(hw.panel.glass()) == RFC6238_SHA1_1234567890
    assert hw.panel.display_on
    # The first sync measures the RTC's phase from its second edge (about a second).
    assert a.clock.refresh()
    err = a.clock.unix_ms() - hw.rtc.unix_ns() // 1000000
    assert -3 <= err <= 3, err
    # A steady-state redraw of the code screen allocates nothing before the driver's show().
    micropython.heap_lock()
    try:
        a.screen.draw()
    finally:
        micropython.heap_unlock()


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
