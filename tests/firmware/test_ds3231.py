# DS3231 driver against the sim's DS3231 model.
#
# Expected values come from outside both: the table below was computed with CPython
# (datetime.datetime(..., tzinfo=timezone.utc).timestamp() and .weekday(), Monday = 0), and
# the register bytes in test_register_layout are written out by hand from the datasheet's
# register map. On the 32-bit interpreter most of these Unix times are big ints.

import fsutil
import mptest

ADDR = 0x68
NS = 1000000000

KNOWN = (
    (946684800, (2000, 1, 1, 0, 0, 0, 5)),
    (951782399, (2000, 2, 28, 23, 59, 59, 0)),
    (951782400, (2000, 2, 29, 0, 0, 0, 1)),
    (951868799, (2000, 2, 29, 23, 59, 59, 1)),
    (951868800, (2000, 3, 1, 0, 0, 0, 2)),
    (978307199, (2000, 12, 31, 23, 59, 59, 6)),
    (983361600, (2001, 2, 28, 12, 0, 0, 2)),
    (983404800, (2001, 3, 1, 0, 0, 0, 3)),
    (1078036215, (2004, 2, 29, 6, 30, 15, 6)),
    (1709210096, (2024, 2, 29, 12, 34, 56, 3)),
    (1795436719, (2026, 11, 23, 12, 25, 19, 0)),
    (2147483647, (2038, 1, 19, 3, 14, 7, 1)),
    (2147483648, (2038, 1, 19, 3, 14, 8, 1)),
    (3141577060, (2069, 7, 20, 20, 17, 40, 5)),
    (3981398399, (2096, 2, 29, 23, 59, 59, 2)),
    (4076006399, (2099, 2, 28, 23, 59, 59, 5)),
    (4076006400, (2099, 3, 1, 0, 0, 0, 6)),
    (4102444799, (2099, 12, 31, 23, 59, 59, 3)),
    # random.Random(3231) samples over 2000..2099
    (3008652991, (2065, 5, 4, 8, 56, 31, 0)),
    (3543049106, (2082, 4, 10, 12, 18, 26, 4)),
    (1841767923, (2028, 5, 12, 18, 12, 3, 4)),
    (971405895, (2000, 10, 13, 2, 58, 15, 4)),
    (1155956595, (2006, 8, 19, 3, 3, 15, 5)),
    (2348818527, (2044, 6, 6, 9, 35, 27, 0)),
    (1570931161, (2019, 10, 13, 1, 46, 1, 6)),
    (3569526058, (2083, 2, 10, 23, 0, 58, 2)),
    (3492633412, (2080, 9, 3, 23, 56, 52, 1)),
    (3156084835, (2070, 1, 4, 18, 13, 55, 5)),
    (2962763685, (2063, 11, 20, 5, 54, 45, 1)),
    (1832357406, (2028, 1, 24, 20, 10, 6, 0)),
)


class HostClock:
    """A host clock the test moves by hand (integer nanoseconds)."""

    def __init__(self, ns=1700000000 * NS + 123456789):
        self.ns = ns

    def __call__(self):
        return self.ns

    def advance(self, seconds):
        self.ns += int(seconds * NS)


def _models():
    try:
        import model_ds3231
        import simi2c
    except ImportError:
        mptest.skip("needs the sim device models (boards/sim)")
    return model_ds3231, simi2c


def _rig(state_path=None, clock=None):
    model_ds3231, simi2c = _models()
    from drivers.ds3231 import DS3231

    clock = clock or HostClock()
    model = model_ds3231.Ds3231Model(state_path, clock=clock)
    bus = simi2c.SimI2C({ADDR: model})
    return bus, model, DS3231(bus), clock


def _tmp_path(tag):
    return fsutil.tmpdir(tag) + "/state.json"


def _remove(path):
    import os

    for p in (path, path + ".tmp"):
        try:
            os.remove(p)
        except OSError:
            pass


def test_round_trips_known_times():
    bus, model, rtc, clock = _rig()
    for unix, dt in KNOWN:
        rtc.set_time(unix)
        assert model.unix() == unix, (unix, model.unix())
        assert rtc.time() == unix, (unix, rtc.time())
        assert rtc.datetime() == dt, (unix, rtc.datetime(), dt)
        days, second = rtc.days_seconds()
        assert days * 86400 + second == unix
    for unix, dt in KNOWN:
        rtc.set_datetime(dt[:6])
        assert model.unix() == unix
        assert rtc.time() == unix


def test_register_layout():
    bus, model, rtc, clock = _rig()
    # seconds, minutes, hours (24 h), day (Monday = 1), date, month | century, year; BCD
    cases = (
        (951782400, b"\x00\x00\x00\x02\x29\x02\x00"),  # 2000-02-29 00:00:00, Tuesday
        (1709210096, b"\x56\x34\x12\x04\x29\x02\x24"),  # 2024-02-29 12:34:56, Thursday
        (4102444799, b"\x59\x59\x23\x04\x31\x12\x99"),  # 2099-12-31 23:59:59, Thursday
    )
    for unix, regs in cases:
        rtc.set_time(unix)
        assert model.regs(0, 7) == regs, (unix, model.regs(0, 7))


def test_century_bit_at_2100():
    bus, model, rtc, clock = _rig()
    rtc.set_time(4102444799)  # 2099-12-31 23:59:59
    clock.advance(1)
    regs = model.regs(0, 7)
    assert regs[5] == 0x81 and regs[6] == 0x00, regs  # century bit, January, year 00
    assert rtc.time() == 4102444800
    assert rtc.datetime() == (2100, 1, 1, 0, 0, 0, 4)


def test_leap_day_ticks_over():
    bus, model, rtc, clock = _rig()
    rtc.set_time(951782399)  # 2000-02-28 23:59:59
    clock.advance(1)
    assert rtc.datetime()[:3] == (2000, 2, 29)
    rtc.set_time(983404799)  # 2001-02-28 23:59:59: not a leap year
    clock.advance(1)
    assert rtc.datetime()[:3] == (2001, 3, 1)


def test_set_time_refuses_out_of_range_and_writes_nothing():
    bus, model, rtc, clock = _rig()
    rtc.set_time(1709210096)
    writes = model.writes
    for bad in (946684799, 4102444800, 0, -1, 1709210096.5):
        mptest.raises(ValueError, rtc.set_time, bad)
    for bad in (
        (1999, 12, 31, 0, 0, 0),
        (2100, 1, 1, 0, 0, 0),
        (2023, 2, 29, 0, 0, 0),
        (2024, 13, 1, 0, 0, 0),
        (2024, 1, 1, 24, 0, 0),
        (2024, 1, 1, 0, 60, 0),
        (2024, 1, 1, 0, 0, 60),
        (2024, 1, 1),
    ):
        mptest.raises(ValueError, rtc.set_datetime, bad)
    assert model.writes == writes
    assert rtc.time() == 1709210096


def test_twelve_hour_mode_is_read_correctly():
    bus, model, rtc, clock = _rig()
    rtc.set_time(1709210096)  # 2024-02-29 12:34:56
    # Hours register in 12-hour mode: bit 6 set, bit 5 = PM, BCD 1..12.
    for reg, hour in (
        (0x40 | 0x20 | 0x11, 23),
        (0x40 | 0x12, 0),
        (0x40 | 0x20 | 0x12, 12),
        (0x40 | 0x01, 1),
        (0x40 | 0x20 | 0x01, 13),
    ):
        bus.writeto_mem(ADDR, 0x02, bytes((reg,)))
        assert model.regs(2, 1)[0] == reg
        assert rtc.datetime()[3] == hour, (hex(reg), rtc.datetime())
    rtc.set_time(1709210096)  # writing the time puts the chip back in 24-hour mode
    assert model.regs(2, 1)[0] == 0x12


def test_invalid_registers_raise_oserror():
    from drivers.ds3231 import DS3231

    class FixedRegisters:
        # A bus whose DS3231 returns fixed time registers (no model: the model never
        # produces impossible values, a glitching chip or bus can).
        def __init__(self, regs):
            self.regs = regs

        def readfrom_mem_into(self, addr, reg, buf):
            buf[:] = self.regs[reg : reg + len(buf)]

    good = b"\x56\x34\x12\x04\x29\x02\x24"
    assert DS3231(FixedRegisters(good)).time() == 1709210096
    for bad in (
        b"\x5a\x34\x12\x04\x29\x02\x24",  # seconds not BCD
        b"\x60\x34\x12\x04\x29\x02\x24",  # second 60
        b"\x56\x34\x24\x04\x29\x02\x24",  # hour 24
        b"\x56\x34\x53\x04\x29\x02\x24",  # 12-hour mode, hour 13
        b"\x56\x34\x12\x04\x30\x02\x24",  # February 30
        b"\x56\x34\x12\x04\x29\x02\x23",  # February 29 in 2023
        b"\x56\x34\x12\x04\x29\x13\x24",  # month 13
        b"\x56\x34\x12\x04\x00\x02\x24",  # day 0
        b"\x56\x34\x12\x04\x29\x00\x24",  # month 0
        b"\x56\x34\x12\x04\x29\x02\x2a",  # year not BCD
    ):
        e = mptest.raises(OSError, DS3231(FixedRegisters(bad)).time)
        assert e.errno == 5 and "DS3231" in str(e), bad


def test_oscillator_stop_flag():
    bus, model, rtc, clock = _rig()
    assert rtc.oscillator_stopped()  # set at first power-up
    rtc.clear_oscillator_stop()
    assert not rtc.oscillator_stopped()
    assert model.regs(0x0F, 1)[0] & 0x80 == 0
    rtc.set_time(1709210096)
    model.pull_battery()
    assert rtc.oscillator_stopped()
    assert rtc.time() == 946684800  # registers back at 2000-01-01 00:00:00
    model.insert_battery()
    assert rtc.oscillator_stopped()  # stays set until cleared
    rtc.clear_oscillator_stop()
    assert not rtc.oscillator_stopped()


def test_aging_offset_is_signed():
    bus, model, rtc, clock = _rig()
    assert rtc.aging() == 0
    for value, reg in ((-5, 0xFB), (127, 0x7F), (-128, 0x80), (1, 0x01), (0, 0x00)):
        rtc.set_aging(value)
        assert model.regs(0x10, 1)[0] == reg
        assert rtc.aging() == value
    for bad in (128, -129):
        mptest.raises(ValueError, rtc.set_aging, bad)
    assert rtc.aging() == 0


def test_temperature_quarter_degrees():
    bus, model, rtc, clock = _rig()
    assert rtc.temperature() == 25.0
    for t in (-10.25, 0.75, 85.5, -40.0, 0.0):
        model.temperature = t
        assert rtc.temperature() == t, (t, rtc.temperature())


def test_rarely_used_methods_leave_no_module_loaded():
    # Setting the time, the trim, the temperature and the calendar reads live in
    # drivers/ds3231_extra.py, loaded for each lookup and forgotten at once (the idle token
    # must not hold that code): after the calls it is neither in sys.modules nor on the
    # package, and its code is freed once the caller lets go of the method.
    import gc
    import sys

    import drivers

    bus, model, rtc, clock = _rig()

    def calls():
        rtc.set_time(1709210096)
        rtc.clear_oscillator_stop()
        rtc.set_aging(-3)
        assert rtc.aging() == -3 and rtc.temperature() == 25.0
        assert rtc.time() == 1709210096 and rtc.datetime()[:3] == (2024, 2, 29)

    sys.modules.pop("drivers.ds3231_extra", None)
    model.set_unix(1709210096)
    rtc.days_seconds()  # the idle token's reads: nothing more loaded
    rtc.oscillator_stopped()
    assert "drivers.ds3231_extra" not in sys.modules and "ds3231_extra" not in dir(drivers)
    calls()  # the first round interns the module's names for good
    gc.collect()
    before = gc.mem_alloc()
    set_time = rtc.set_time
    calls()
    set_time(1709210100)
    assert rtc.time() == 1709210100
    set_time = None
    gc.collect()
    assert gc.mem_alloc() - before < 256, gc.mem_alloc() - before
    assert "drivers.ds3231_extra" not in sys.modules
    assert "ds3231_extra" not in dir(drivers)
    mptest.raises(AttributeError, getattr, rtc, "no_such_method")
    assert rtc.days_seconds() == (1709210100 // 86400, 1709210100 % 86400)


def test_absent_device_raises_oserror_naming_it():
    model_ds3231, simi2c = _models()
    from drivers.ds3231 import DS3231

    rtc = DS3231(simi2c.SimI2C({}))
    for call in (rtc.time, rtc.oscillator_stopped, rtc.temperature):
        e = mptest.raises(OSError, call)
        assert e.errno == 19 and "DS3231" in str(e), e
    e = mptest.raises(OSError, rtc.set_time, 1709210096)
    assert e.errno == 19


def test_seconds_write_sets_the_phase():
    bus, model, rtc, clock = _rig()
    rtc.set_time(1709210096)
    clock.advance(0.999)
    assert rtc.time() == 1709210096
    clock.advance(0.001)
    assert rtc.time() == 1709210097
    # Writing only the minutes keeps the running phase of the seconds.
    clock.advance(0.5)
    bus.writeto_mem(ADDR, 0x01, b"\x40")  # minute 40
    clock.advance(0.499)
    assert rtc.datetime()[4:6] == (40, 57)
    clock.advance(0.001)
    assert rtc.datetime()[4:6] == (40, 58)


def test_state_persists_and_time_runs_while_off():
    path = _tmp_path("ds3231")
    try:
        clock = HostClock()
        bus, model, rtc, _ = _rig(path, clock)
        rtc.set_time(1709210096)
        rtc.clear_oscillator_stop()
        rtc.set_aging(-3)
        # Sim off for an hour and a second; a new model reads the same state file.
        clock.advance(3601)
        bus, model, rtc, _ = _rig(path, clock)
        assert rtc.time() == 1709210096 + 3601
        assert not rtc.oscillator_stopped()
        assert rtc.aging() == -3
        # Battery out: lost now, and lost again at the next power-up while it is out.
        model.pull_battery()
        clock.advance(100)
        bus, model, rtc, _ = _rig(path, clock)
        assert rtc.oscillator_stopped()
        assert rtc.time() == 946684800
        model.insert_battery()
        rtc.set_time(1709210096)
        rtc.clear_oscillator_stop()
        clock.advance(10)
        bus, model, rtc, _ = _rig(path, clock)
        assert rtc.time() == 1709210106 and not rtc.oscillator_stopped()
    finally:
        _remove(path)


def test_model_control_api():
    bus, model, rtc, clock = _rig()
    model.set_unix(4102444799)
    assert rtc.time() == 4102444799
    model.shift(-86400 * 366)
    assert rtc.datetime()[:3] == (2098, 12, 30)
    mptest.raises(ValueError, model.set_unix, 946684799)


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
