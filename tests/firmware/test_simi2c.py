# The sim's I2C bus and its device models, driven with raw bytes as the datasheets describe
# them (no driver involved), so the models can be trusted as a reference for the drivers.

import fsutil
import mptest

OLED = 0x3C
RTC = 0x68
NS = 1000000000


def _sim():
    try:
        import model_ds3231
        import model_ssd1306
        import simi2c
    except ImportError:
        mptest.skip("needs the sim device models (boards/sim)")
    return simi2c, model_ssd1306, model_ds3231


def _oled(**kw):
    simi2c, model_ssd1306, _ = _sim()
    model = model_ssd1306.Ssd1306Model(garbage=False, **kw)
    return simi2c.SimI2C({OLED: model}), model


def _cmds(bus, *cmds):
    bus.writeto(OLED, bytes((0x00,) + cmds))


def _on(bus):
    _cmds(bus, 0x8D, 0x14, 0xA1, 0xC8, 0xAF)  # charge pump, usual orientation, display on


# --- the bus ---------------------------------------------------------------------------------


def test_absent_address_raises_enodev():
    simi2c, model_ssd1306, model_ds3231 = _sim()
    model = model_ds3231.Ds3231Model()
    bus = simi2c.SimI2C({RTC: model})
    assert bus.scan() == [RTC]
    for call, args in (
        (bus.writeto, (0x50, b"\x00")),
        (bus.readfrom, (0x50, 1)),
        (bus.readfrom_mem, (0x50, 0, 1)),
        (bus.writeto_mem, (0x50, 0, b"\x00")),
        (bus.writevto, (0x50, (b"\x00", b"\x01"))),
    ):
        e = mptest.raises(OSError, call, *args)
        assert e.errno == 19
    model.present = False
    assert bus.scan() == []
    assert mptest.raises(OSError, bus.readfrom_mem, RTC, 0, 1).errno == 19
    model.present = True
    bus.detach(RTC)
    assert bus.scan() == []
    bus.attach(RTC, model)
    assert len(bus.readfrom_mem(RTC, 0, 7)) == 7


def test_byte_counting_includes_address_bytes():
    simi2c, model_ssd1306, model_ds3231 = _sim()
    oled = model_ssd1306.Ssd1306Model()
    rtc = model_ds3231.Ds3231Model()
    bus = simi2c.SimI2C({OLED: oled, RTC: rtc})
    assert bus.writeto(OLED, b"\x00\xaf") == 2
    assert bus.bytes == {OLED: 3} and bus.transactions == 1
    assert bus.writevto(OLED, (b"\x40", b"\x01\x02\x03")) == 4
    assert bus.bytes[OLED] == 3 + 5
    assert oled.bytes_received == 6  # the model does not see address bytes
    buf = bytearray(7)
    bus.readfrom_mem_into(RTC, 0x00, buf)  # addr+W, register, addr+R, 7 data bytes
    assert bus.bytes[RTC] == 10 and bus.transactions == 4
    bus.writeto_mem(RTC, 0x10, b"\x05")  # addr+W, register, data
    assert bus.bytes[RTC] == 13
    bus.readfrom(RTC, 2)  # addr+R, 2 data bytes (register pointer carries on)
    assert bus.bytes[RTC] == 16
    assert bus.total_bytes == 16 + 8
    try:
        bus.writeto(0x50, b"\x00\x01")
    except OSError:
        pass
    assert bus.bytes[0x50] == 1  # the address byte went out, nobody answered
    bus.reset_counts()
    assert bus.total_bytes == 0 and bus.bytes == {} and bus.transactions == 0


# --- the SSD1306 model -----------------------------------------------------------------------


def test_ssd1306_power_on_state_and_supply():
    bus, model = _oled()
    assert not model.display_on and not model.lit and model.contrast == 0x7F
    assert model.addressing_mode == 2  # page addressing after reset
    _cmds(bus, 0xAF)
    assert model.display_on and not model.lit  # no charge pump, no external VCC: dark
    assert model.glass() == bytes(1024)
    _cmds(bus, 0x8D, 0x14)
    assert model.lit
    _, ext = _oled(external_vcc=True)
    ext.i2c_start(False)
    ext.i2c_write(b"\x00\xaf")
    assert ext.lit


def test_ssd1306_single_byte_control_and_split_parameters():
    bus, model = _oled()
    # Co=1: one command byte per control byte; the parameter comes in a later transaction.
    bus.writeto(OLED, b"\x80\x81")
    bus.writeto(OLED, b"\x80\x42")
    assert model.contrast == 0x42
    # Co=1 with D/C=1: a single data byte, then a control byte switching back to commands.
    bus.writeto(OLED, b"\xc0\x5a\x80\xaf")
    assert model.display_on
    assert model.gddram[127] == 0x5A  # page mode, column 0, before any remap: glass x = 127
    assert model.command_bytes == 3 and model.data_bytes == 1 and model.unknown == []


def test_ssd1306_horizontal_window_wraps():
    bus, model = _oled()
    _cmds(bus, 0xA1, 0x20, 0x00, 0x21, 10, 12, 0x22, 1, 2)
    bus.writeto(OLED, b"\x40" + bytes(range(1, 9)))
    ram = model.gddram
    # 3 columns x 2 pages = 6 bytes, then the pointer wraps to the window's start.
    assert bytes(ram[128 + 10 : 128 + 13]) == b"\x07\x08\x03"
    assert bytes(ram[256 + 10 : 256 + 13]) == b"\x04\x05\x06"
    assert ram[128 + 9] == 0 and ram[128 + 13] == 0 and ram[384 + 10] == 0


def test_ssd1306_vertical_mode_fills_pages_first():
    bus, model = _oled()
    _cmds(bus, 0xA1, 0x20, 0x01, 0x21, 0, 1, 0x22, 0, 2)
    bus.writeto(OLED, b"\x40\x01\x02\x03\x04\x05\x06")
    ram = model.gddram
    assert (ram[0], ram[128], ram[256], ram[1], ram[129], ram[257]) == (1, 2, 3, 4, 5, 6)


def test_ssd1306_page_mode_addresses_and_wrap():
    bus, model = _oled()
    _cmds(bus, 0xA1, 0x20, 0x02, 0xB3, 0x0E, 0x17)  # page 3, column 0x7E
    bus.writeto(OLED, b"\x40\x01\x02\x03")
    ram = model.gddram
    assert ram[3 * 128 + 126] == 1 and ram[3 * 128 + 127] == 2
    assert ram[3 * 128 + 0] == 3  # wrapped to column 0 of the same page
    assert ram[4 * 128] == 0


def test_ssd1306_unknown_commands_are_recorded():
    bus, model = _oled()
    _cmds(bus, 0xFF, 0xAF, 0x8D, 0x14)
    assert model.unknown == [0xFF]
    assert model.lit


def test_ssd1306_segment_remap_applies_to_later_data_com_scan_at_once():
    bus, model = _oled()
    _on(bus)
    _cmds(bus, 0x20, 0x00, 0x21, 0, 0, 0x22, 0, 0)
    bus.writeto(OLED, b"\x40\x01")  # column 0, row 0
    assert model.pixel(0, 0) == 1
    _cmds(bus, 0xA0)  # segment remap off: nothing already stored moves
    assert model.pixel(0, 0) == 1 and model.pixel(127, 0) == 0
    _cmds(bus, 0x21, 0, 0)
    bus.writeto(OLED, b"\x40\x01")  # the same column address now lands on the other side
    assert model.pixel(127, 0) == 1
    _cmds(bus, 0xC0)  # COM scan direction flips the picture immediately
    assert model.pixel(0, 63) == 1 and model.pixel(127, 63) == 1 and model.pixel(0, 0) == 0


def test_ssd1306_invert_entire_on_start_line():
    bus, model = _oled()
    _on(bus)
    _cmds(bus, 0x20, 0x00, 0x21, 5, 5, 0x22, 0, 0)
    bus.writeto(OLED, b"\x40\x02")  # row 1 of column 5
    assert model.pixel(5, 1) == 1 and model.pixel(5, 0) == 0
    _cmds(bus, 0xA7)
    assert model.pixel(5, 1) == 0 and model.pixel(5, 0) == 1 and model.inverted
    _cmds(bus, 0xA6, 0x41)  # start line 1: RAM row 1 shows on the top row
    assert model.pixel(5, 0) == 1 and model.pixel(5, 1) == 0
    _cmds(bus, 0x40, 0xA5)
    assert model.glass() == b"\xff" * 1024
    _cmds(bus, 0xA4, 0xAE)
    assert model.glass() == bytes(1024)


def test_ssd1306_wrong_com_configuration_scrambles_rows():
    bus, model = _oled()
    _on(bus)
    _cmds(bus, 0x20, 0x00, 0x21, 0, 0, 0x22, 0, 0)
    bus.writeto(OLED, b"\x40\x02")  # RAM row 1
    assert model.pixel(0, 1) == 1
    _cmds(bus, 0xDA, 0x02)  # sequential COM pins on a panel wired for alternative
    lit = [y for y in range(64) if model.pixel(0, y)]
    assert len(lit) == 1 and lit != [1], lit
    _cmds(bus, 0xDA, 0x12)
    assert model.pixel(0, 1) == 1


def test_ssd1306_version_counts_visible_changes_only():
    bus, model = _oled()
    _on(bus)
    v = model.version
    _cmds(bus, 0x20, 0x00, 0x21, 0, 127, 0x22, 0, 7, 0xD5, 0x80, 0xA1)  # no visible effect
    _cmds(bus, 0x81, 0x7F)  # contrast already 0x7F
    assert model.version == v
    bus.writeto(OLED, b"\x40\x00")  # GDDRAM already 0 there
    assert model.version == v
    bus.writeto(OLED, b"\x40\x01")
    assert model.version == v + 1
    _cmds(bus, 0xA7)
    assert model.version == v + 2


def test_ssd1306_reset_keeps_gddram():
    bus, model = _oled()
    _on(bus)
    _cmds(bus, 0x81, 0x10, 0x20, 0x00)
    bus.writeto(OLED, b"\x40\xaa")
    v = model.version
    model.reset()
    assert not model.display_on and model.contrast == 0x7F and model.addressing_mode == 2
    assert model.gddram[0] == 0xAA
    assert model.version > v
    assert bus.readfrom(OLED, 2) == b"\xff\xff"  # no reads in I2C mode


# --- the DS3231 model ------------------------------------------------------------------------


class _Clock:
    def __init__(self):
        self.ns = 1700000000 * NS

    def __call__(self):
        return self.ns


def _rtc(path=None):
    simi2c, _, model_ds3231 = _sim()
    clock = _Clock()
    model = model_ds3231.Ds3231Model(path, clock=clock)
    return simi2c.SimI2C({RTC: model}), model, clock


def test_ds3231_power_on_registers():
    bus, model, clock = _rtc()
    regs = bus.readfrom_mem(RTC, 0x00, 0x13)
    # 2000-01-01 00:00:00, day register 1; control INTCN|RS2|RS1; status OSF|EN32kHz;
    # aging 0; 25.00 C.
    assert regs == b"\x00\x00\x00\x01\x01\x01\x00" + bytes(7) + b"\x1c\x88\x00\x19\x00"


def test_ds3231_register_pointer_wraps_and_read_only_bits():
    bus, model, clock = _rtc()
    bus.writeto_mem(RTC, 0x12, b"\x00")  # temperature LSB is read-only
    assert bus.readfrom_mem(RTC, 0x12, 2) == b"\x00\x00"  # 0x12 then wraps to seconds
    bus.writeto_mem(RTC, 0x0F, b"\x08")  # writing 0 clears OSF; EN32kHz stays as written
    assert bus.readfrom_mem(RTC, 0x0F, 1) == b"\x08"
    bus.writeto_mem(RTC, 0x0F, b"\x8b")  # writing 1 to OSF, A2F, A1F does not set them
    assert bus.readfrom_mem(RTC, 0x0F, 1) == b"\x08"
    bus.writeto_mem(RTC, 0x0F, b"\x00")
    assert bus.readfrom_mem(RTC, 0x0F, 1) == b"\x00"
    bus.writeto_mem(RTC, 0x0E, b"\x3c")  # CONV: the conversion completes at once
    assert bus.readfrom_mem(RTC, 0x0E, 1) == b"\x1c"
    bus.writeto_mem(RTC, 0x07, b"\x01\x02\x03")  # alarm registers are plain storage
    assert bus.readfrom_mem(RTC, 0x07, 3) == b"\x01\x02\x03"


def test_ds3231_read_is_a_snapshot_taken_at_start():
    bus, model, clock = _rtc()
    bus.writeto_mem(RTC, 0x00, b"\x59\x59\x23\x02\x29\x02\x00")  # 2000-02-29 23:59:59
    model.i2c_start(False)
    model.i2c_write(b"\x00")
    model.i2c_stop()
    model.i2c_start(True)
    clock.ns += 2 * NS  # the clock ticks during the transfer
    buf = bytearray(7)
    model.i2c_read(buf)
    model.i2c_stop()
    assert buf == b"\x59\x59\x23\x02\x29\x02\x00"


def test_ds3231_day_register_keeps_its_own_numbering():
    bus, model, clock = _rtc()
    # Date 2000-02-29 23:59:59 with the day register set to 7 (the chip lets the user pick).
    bus.writeto_mem(RTC, 0x00, b"\x59\x59\x23\x07\x29\x02\x00")
    assert model.unix() == 951868799
    clock.ns += NS
    assert bus.readfrom_mem(RTC, 0x00, 7) == b"\x00\x00\x00\x01\x01\x03\x00"


def test_ds3231_state_file_is_replaced_atomically():
    import json
    import os

    path = fsutil.tmpdir("rtc") + "/state.json"
    try:
        bus, model, clock = _rtc(path)
        bus.writeto_mem(RTC, 0x10, b"\x7f")
        with open(path) as f:
            state = json.load(f)
        assert state["regs"][0x10] == 0x7F and state["battery"] is True
        try:
            os.stat(path + ".tmp")
            leftover = True
        except OSError:
            leftover = False
        assert not leftover
        # An unreadable state file counts as a first power-up, not a crash.
        with open(path, "w") as f:
            f.write('{"offset_ns": 12, "regs": [1, 2')
        bus, model, clock = _rtc(path)
        assert bus.readfrom_mem(RTC, 0x0F, 1) == b"\x88"
        assert model.unix() == 946684800
    finally:
        for p in (path, path + ".tmp"):
            try:
                os.remove(p)
            except OSError:
                pass


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
