# SSD1306 driver against the sim's SSD1306 model: what reaches the panel, and how many bytes.
#
# Byte counts are measured at the bus (SimI2C counts every byte on the wire: address byte,
# control byte, payload) and checked against numbers derived here from the window arithmetic:
# a refresh is one window command (address, control 0x00, 0x21 c0 c1 0x22 p0 p1 = 8 bytes)
# and one data transfer (address, control 0x40, then pages x columns bytes).

import framebuf
import mptest

ADDR = 0x3C
WINDOW_CMD_BYTES = 8
DATA_OVERHEAD = 2


def _rig(height=64, **kw):
    try:
        from model_ssd1306 import Ssd1306Model
        from simi2c import SimI2C
    except ImportError:
        mptest.skip("needs the sim device models (boards/sim)")
    from drivers.ssd1306 import SSD1306_I2C

    model = Ssd1306Model(128, height)
    bus = SimI2C({ADDR: model})
    disp = SSD1306_I2C(128, height, bus, **kw)
    return bus, model, disp


def _glass_matches(model, fb, w, h, mapping):
    for y in range(h):
        for x in range(w):
            fx, fy, inv = mapping(x, y)
            want = fb.pixel(fx, fy) ^ inv
            if model.pixel(x, y) != want:
                return "glass (%d,%d) is %d, want %d" % (x, y, model.pixel(x, y), want)
    return None


def _big_text(fb, text, x, y, scale):
    # The framebuf 8x8 font scaled up, like the large digits of the token's screen.
    glyph = bytearray(8)
    g = framebuf.FrameBuffer(glyph, 8, 8, framebuf.MONO_VLSB)
    for ch in text:
        g.fill(0)
        g.text(ch, 0, 0, 1)
        for gy in range(8):
            for gx in range(8):
                fb.fill_rect(x + gx * scale, y + gy * scale, scale, scale, g.pixel(gx, gy))
        x += 8 * scale


def _dirty_window(old, new, width, pages):
    # Independent of the driver: the smallest page/column rectangle holding every change.
    p0 = p1 = c0 = c1 = -1
    for p in range(pages):
        for c in range(width):
            if old[p * width + c] != new[p * width + c]:
                if p0 < 0:
                    p0 = p
                p1 = p
                c0 = c if c0 < 0 else min(c0, c)
                c1 = max(c1, c)
    return p0, p1, c0, c1


def test_init_overwrites_power_on_garbage():
    bus, model, disp = _rig()
    # The model powers up with random GDDRAM; init must leave the panel equal to the frame.
    assert model.gddram == disp.buffer
    assert model.lit and model.display_on and model.charge_pump
    assert model.multiplex == 64 and model.com_pins == 0x12
    assert model.addressing_mode == 0
    assert model.unknown == []
    assert _glass_matches(model, disp, 128, 64, lambda x, y: (x, y, 0)) is None


def test_show_puts_the_frame_on_the_glass():
    bus, model, disp = _rig()
    disp.text("123 456", 8, 0, 1)
    disp.rect(0, 10, 128, 30, 1)
    disp.fill_rect(100, 50, 28, 14, 1)
    disp.pixel(127, 63, 1)
    disp.show()
    assert model.gddram == disp.buffer
    assert model.glass() == bytes(disp.buffer)
    assert _glass_matches(model, disp, 128, 64, lambda x, y: (x, y, 0)) is None


def test_full_frame_byte_count():
    bus, model, disp = _rig()
    bus.reset_counts()
    disp.show(full=True)
    assert bus.bytes[ADDR] == WINDOW_CMD_BYTES + DATA_OVERHEAD + 128 * 8  # 1034
    assert model.data_bytes >= 1024
    model.reset_counts()
    bus.reset_counts()
    disp.show(full=True)
    assert model.data_bytes == 1024
    assert bus.bytes[ADDR] == 1034


def test_unchanged_frame_sends_nothing():
    bus, model, disp = _rig()
    disp.text("42", 0, 0, 1)
    disp.show()
    bus.reset_counts()
    assert disp.show() == 0
    assert bus.total_bytes == 0


def test_unchanged_show_allocates_nothing():
    import micropython

    bus, model, disp = _rig()
    disp.text("42", 0, 0, 1)
    disp.show()
    micropython.heap_lock()
    try:
        n = disp.show()
    finally:
        micropython.heap_unlock()
    assert n == 0


def test_one_digit_refresh_sends_only_its_window():
    bus, model, disp = _rig()
    scale = 2
    x0, y0 = 8, 20  # digit cells 16x16 px starting at row 20: pages 2..4
    _big_text(disp, "123456", x0, y0, scale)
    disp.text("GitHub:me", 0, 0, 1)
    disp.fill_rect(0, 60, 90, 4, 1)  # countdown bar
    disp.show()
    old = bytes(disp.buffer)
    _big_text(disp, "7", x0 + 2 * 8 * scale, y0, scale)  # third digit: 3 -> 7
    p0, p1, c0, c1 = _dirty_window(old, disp.buffer, 128, 8)
    # The change lies inside the third digit's cell: columns 40..55, pages 2..4.
    assert 2 <= p0 <= p1 <= 4 and 40 <= c0 <= c1 <= 55
    area = (p1 - p0 + 1) * (c1 - c0 + 1)
    # Canaries in GDDRAM outside the window: a driver that rewrites more would erase them.
    canaries = (0, 7 * 128 + 127, p0 * 128 + c1 + 1, p1 * 128 + c0 - 1)
    for i in canaries:
        model.gddram[i] ^= 0x5A
    bus.reset_counts()
    model.reset_counts()
    disp.show()
    assert bus.bytes[ADDR] == WINDOW_CMD_BYTES + DATA_OVERHEAD + area
    assert model.data_bytes == area
    assert model.transactions == 2
    for i in canaries:
        model.gddram[i] ^= 0x5A
    assert model.gddram == disp.buffer
    print(
        "one-digit refresh: window %dx%d, %d bytes on the bus"
        % (c1 - c0 + 1, p1 - p0 + 1, bus.bytes[ADDR])
    )


def test_changes_on_separate_pages_use_one_rectangle():
    bus, model, disp = _rig()
    disp.show()
    disp.pixel(10, 0, 1)  # page 0, column 10
    disp.pixel(20, 63, 1)  # page 7, column 20
    bus.reset_counts()
    disp.show()
    assert bus.bytes[ADDR] == WINDOW_CMD_BYTES + DATA_OVERHEAD + 8 * 11
    assert model.gddram == disp.buffer


def test_full_width_change_and_single_page_change():
    bus, model, disp = _rig()
    disp.show()
    disp.hline(0, 9, 128, 1)  # page 1, every column: contiguous path
    bus.reset_counts()
    disp.show()
    assert bus.bytes[ADDR] == WINDOW_CMD_BYTES + DATA_OVERHEAD + 128
    disp.fill_rect(0, 16, 128, 16, 1)  # pages 2..3, full width
    disp.pixel(5, 40, 1)  # page 5
    bus.reset_counts()
    disp.show()
    assert bus.bytes[ADDR] == WINDOW_CMD_BYTES + DATA_OVERHEAD + 4 * 128
    assert model.gddram == disp.buffer


def test_128x32_panel():
    bus, model, disp = _rig(height=32)
    assert model.multiplex == 32 and model.com_pins == 0x02
    assert model.gddram[:512] == disp.buffer
    disp.text("987 654", 0, 12, 1)
    disp.rect(0, 0, 128, 32, 1)
    disp.show()
    assert model.gddram[:512] == disp.buffer
    assert model.glass() == bytes(disp.buffer)
    assert _glass_matches(model, disp, 128, 32, lambda x, y: (x, y, 0)) is None
    bus.reset_counts()
    disp.show(full=True)
    assert bus.bytes[ADDR] == WINDOW_CMD_BYTES + DATA_OVERHEAD + 128 * 4  # 522


def test_rotate_180_on_the_glass():
    for height in (64, 32):
        bus, model, disp = _rig(height=height)
        disp.text("A1", 0, 0, 1)
        disp.fill_rect(0, 0, 3, 3, 1)  # a corner marker: top left of the frame
        disp.show()
        assert model.pixel(0, 0) == 1 and model.pixel(127, height - 1) == 0
        disp.rotate(True)
        bus.reset_counts()
        disp.show()
        # Segment remap only affects data written after it: the driver must resend it all.
        assert bus.bytes[ADDR] == WINDOW_CMD_BYTES + DATA_OVERHEAD + 128 * height // 8
        assert model.pixel(127, height - 1) == 1 and model.pixel(0, 0) == 0
        err = _glass_matches(
            model, disp, 128, height, lambda x, y, h=height: (127 - x, h - 1 - y, 0)
        )
        assert err is None, err
        disp.rotate(False)
        disp.show()
        assert _glass_matches(model, disp, 128, height, lambda x, y: (x, y, 0)) is None


def test_invert_is_visible():
    bus, model, disp = _rig()
    disp.text("7", 60, 30, 1)
    disp.show()
    disp.invert(True)
    assert model.inverted
    assert _glass_matches(model, disp, 128, 64, lambda x, y: (x, y, 1)) is None
    disp.invert(False)
    assert _glass_matches(model, disp, 128, 64, lambda x, y: (x, y, 0)) is None


def test_rarely_used_methods_leave_no_module_loaded():
    # init_display(), rotate(), invert() and show_area() live in drivers/ssd1306_extra.py,
    # loaded for each lookup and forgotten at once (the idle token must not hold that code).
    import sys

    import drivers

    bus, model, disp = _rig()
    disp.rotate(True)
    disp.invert(True)
    disp.show_area(0, 0, 8, 8)
    disp.init_display()
    assert model.display_on and model.inverted is False  # the init sequence resets inversion
    assert "drivers.ssd1306_extra" not in sys.modules
    assert "ssd1306_extra" not in dir(drivers)
    mptest.raises(AttributeError, getattr, disp, "no_such_method")


def test_poweroff_keeps_gddram_and_poweron_restores():
    bus, model, disp = _rig()
    disp.fill_rect(10, 10, 20, 20, 1)
    disp.show()
    disp.poweroff()
    assert not model.lit
    assert model.glass() == bytes(1024)
    disp.fill_rect(50, 10, 20, 20, 1)
    disp.show()  # drawing while asleep still updates GDDRAM
    assert model.gddram == disp.buffer
    disp.poweron()
    assert model.lit
    assert model.glass() == bytes(disp.buffer)


def test_contrast():
    bus, model, disp = _rig()
    disp.contrast(0x10)
    assert model.contrast == 0x10
    disp.contrast(255)
    assert model.contrast == 255
    bus.reset_counts()
    for bad in (-1, 256):
        mptest.raises(ValueError, disp.contrast, bad)
    assert bus.total_bytes == 0 and model.contrast == 255


def test_external_vcc_leaves_charge_pump_off():
    try:
        from model_ssd1306 import Ssd1306Model
        from simi2c import SimI2C
    except ImportError:
        mptest.skip("needs the sim device models (boards/sim)")
    from drivers.ssd1306 import SSD1306_I2C

    model = Ssd1306Model(external_vcc=True)
    SSD1306_I2C(128, 64, SimI2C({ADDR: model}), external_vcc=True)
    assert not model.charge_pump and model.lit


def test_reset_pin_is_pulsed_before_init():
    try:
        from model_ssd1306 import Ssd1306Model
        from simi2c import SimI2C
    except ImportError:
        mptest.skip("needs the sim device models (boards/sim)")
    from drivers.ssd1306 import SSD1306_I2C

    model = Ssd1306Model()
    levels = []

    class Pin:
        def value(self, v=None):
            if v is not None:
                levels.append(v)
                if v == 0:
                    model.reset()

    model.display_on = True  # state a reset must clear before init sets it again
    model.contrast = 1
    disp = SSD1306_I2C(128, 64, SimI2C({ADDR: model}), reset=Pin())
    assert levels == [1, 0, 1]
    assert model.lit and model.contrast == 0xCF
    assert model.gddram == disp.buffer


def test_bad_geometry_is_refused():
    from drivers.ssd1306 import SSD1306_I2C

    class NoBus:
        pass

    for w, h in ((64, 48), (128, 48), (96, 64)):
        mptest.raises(ValueError, SSD1306_I2C, w, h, NoBus())


def test_absent_panel_raises_oserror_naming_it():
    try:
        from simi2c import SimI2C
    except ImportError:
        mptest.skip("needs the sim device models (boards/sim)")
    from drivers.ssd1306 import SSD1306_I2C

    e = mptest.raises(OSError, SSD1306_I2C, 128, 64, SimI2C({}))
    assert e.errno == 19
    assert "SSD1306" in str(e)


def test_bus_error_mid_frame_forces_full_resend():
    bus, model, disp = _rig()
    disp.text("1", 0, 0, 1)
    disp.show()
    disp.text("2", 64, 40, 1)
    model.present = False
    e = mptest.raises(OSError, disp.show)
    assert e.errno == 19 and "SSD1306" in str(e)
    model.present = True
    bus.reset_counts()
    disp.show()
    assert bus.bytes[ADDR] == 1034
    assert model.gddram == disp.buffer


def _sent_window(bus, model, disp, send):
    """What send() put on the panel: the data bytes, checked against the smallest window."""
    old = bytes(model.gddram)
    p0, p1, c0, c1 = _dirty_window(old, disp.buffer, 128, disp.pages)
    area = 0 if p0 < 0 else (p1 - p0 + 1) * (c1 - c0 + 1)
    model.reset_counts()
    bus.reset_counts()
    n = send()
    assert n == area and model.data_bytes == area, (n, model.data_bytes, area)
    assert model.gddram == disp.buffer
    return area


def test_a_change_inside_the_span_of_earlier_pages_is_sent():
    bus, model, disp = _rig()
    disp.show()
    disp.pixel(10, 16, 1)  # page 2: columns 10..50
    disp.pixel(50, 16, 1)
    disp.pixel(30, 33, 1)  # page 4: only inside that span
    assert _sent_window(bus, model, disp, disp.show) == 3 * 41


def test_random_changes_send_the_smallest_window():
    bus, model, disp = _rig()
    disp.show()
    seed = 12345
    for _ in range(60):
        for _ in range(1 + seed % 4):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            x = seed % 128
            y = (seed >> 8) % 64
            w = 1 + (seed >> 16) % 20
            h = 1 + (seed >> 20) % 12
            disp.fill_rect(x, y, w, h, (seed >> 24) & 1)
        _sent_window(bus, model, disp, disp.show)


def test_show_area_compares_only_inside_the_area():
    bus, model, disp = _rig()
    disp.show()
    disp.fill_rect(20, 18, 12, 24, 1)  # inside the area given below
    assert _sent_window(bus, model, disp, lambda: disp.show_area(16, 16, 20, 28)) == 4 * 12
    disp.fill_rect(22, 20, 2, 2, 0)  # partly outside the area: clipped to it ...
    disp.pixel(100, 60, 1)  # ... and outside it: left for a later show()
    bus.reset_counts()
    assert disp.show_area(16, 16, 7, 8) == 1
    assert model.gddram != disp.buffer
    _sent_window(bus, model, disp, disp.show)
    # Areas reaching past the frame's edges are clipped; an empty one sends nothing.
    disp.fill_rect(120, 56, 8, 8, 1)
    assert _sent_window(bus, model, disp, lambda: disp.show_area(100, 50, 100, 100)) == 8
    bus.reset_counts()
    assert disp.show_area(0, 0, 0, 0) == 0 and bus.total_bytes == 0


def test_windows_of_every_size_are_sent_exactly_without_allocating():
    # A window of n bytes goes out from fixed staging regions chosen by n's binary digits:
    # sizes with many and few bits set, one byte to the whole frame, under a locked heap.
    # The sim's bus is Python that allocates, so a twin driver on a bus that only takes the
    # bytes runs under the lock, and the sim checks what the same frames put on the panel.
    import micropython
    from drivers.ssd1306 import SSD1306_I2C

    class QuietBus:
        def writeto(self, addr, buf):
            return 1

        def writevto(self, addr, bufs):
            return 1

    bus, model, disp = _rig()
    twin = SSD1306_I2C(128, 64, QuietBus())
    disp.show()
    for w, h in ((1, 8), (3, 8), (12, 32), (127, 8), (128, 8), (85, 48), (127, 64),
                 (128, 56), (128, 64), (5, 16), (128, 64), (7, 24)):
        ink = 0 if disp.pixel(0, 0) else 1
        disp.fill_rect(0, 0, w, h, ink)
        twin.fill_rect(0, 0, w, h, ink)
        p0, p1, c0, c1 = _dirty_window(bytes(model.gddram), disp.buffer, 128, 8)
        model.reset_counts()
        n = disp.show()
        assert n == (p1 - p0 + 1) * (c1 - c0 + 1) == model.data_bytes, (w, h, n)
        assert model.gddram == disp.buffer, (w, h)
        micropython.heap_lock()
        try:
            m = twin.show()
        finally:
            micropython.heap_unlock()
        assert m == n, (w, h, m, n)


def test_a_vouched_area_is_all_that_show_compares():
    bus, model, disp = _rig()
    disp.show()
    disp.fill_rect(20, 18, 12, 24, 1)
    disp.pixel(100, 60, 1)  # outside the area vouched for: left for a later show()
    a = disp.area
    a[0], a[1], a[2], a[3], a[4] = 16, 16, 36, 44, 1
    assert disp.show() == 4 * 12
    assert tuple(a[:5]) == (255, 255, 0, 0, 0)  # reset: nothing vouched
    assert model.gddram != disp.buffer
    assert _sent_window(bus, model, disp, disp.show) == 1  # unvouched: the whole frame


def test_show_area_after_rotate_sends_everything():
    bus, model, disp = _rig()
    disp.text("42", 0, 0, 1)
    disp.show()
    disp.rotate(True)
    bus.reset_counts()
    assert disp.show_area(0, 0, 8, 8) == 1024
    assert bus.bytes[ADDR] == WINDOW_CMD_BYTES + DATA_OVERHEAD + 1024


if __name__ == "__main__":
    mptest.main(globals())
