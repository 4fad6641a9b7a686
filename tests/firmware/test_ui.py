# UI drawing: digit grouping and placement, labels, messages, burn-in shift, 128x32 panels.
import framebuf
import mptest
import panelread
import ui
import uiscreens


def totp_view(top, bottom, code, digits, left_ms, period_ms, position, preview):
    v = ui.View()
    v.top, v.bottom, v.code, v.digits = top, bottom, code, digits
    v.left_ms, v.period_ms, v.position, v.preview = left_ms, period_ms, position, preview
    return v


class Panel(framebuf.FrameBuffer):
    def __init__(self, h=64):
        self.width = 128
        self.height = h
        self.buffer = bytearray(128 * h // 8)
        super().__init__(self.buffer, 128, h, framebuf.MONO_VLSB)


def test_digits_grouped_and_centred():
    for digits, code, groups in ((6, 12345, (3, 3)), (7, 1234567, (3, 4)), (8, 90123456, (4, 4))):
        p = Panel()
        u = ui.UI(p)
        u.totp(totp_view("I", "N", code, digits, 15000, 30000, "1/1", -1))
        found = panelread.big_digits(p.buffer)
        assert len(found) == 1, found
        assert found[0][1] == "%0*d" % (digits, code), found
        assert ui.group_split(digits) == groups[0]


def test_group_gap_is_wider_than_the_digit_gap():
    p = Panel()
    u = ui.UI(p)
    uiscreens.digits(u, 111111, 6, 18)
    cols = [x for x in range(128) if any(p.pixel(x, y) for y in range(18, 42))]
    gaps = [cols[i + 1] - cols[i] for i in range(len(cols) - 1) if cols[i + 1] - cols[i] > 1]
    assert len(gaps) == 5, gaps
    assert gaps[2] > max(gaps[:2] + gaps[3:]), gaps


def test_shift_moves_everything_by_at_most_two_pixels():
    for dx, dy in ((0, 0), (2, 2)):
        p = Panel()
        u = ui.UI(p)
        u.shift(dx, dy)
        u.totp(totp_view("Issuer", "name", 123456, 6, 1000, 30000, "2/7", 654321))
        assert panelread.code(p.buffer) == "123456"
        assert panelread.has_text(p.buffer, "Issuer")
        assert panelread.has_text(p.buffer, "2/7")
        assert panelread.has_text(p.buffer, "654") and panelread.has_text(p.buffer, "321")


def test_message_has_highlighted_title_and_lines():
    p = Panel()
    u = ui.UI(p)
    uiscreens.message(u, ("Title", "", "line two"))
    assert panelread.has_text(p.buffer, "Title", ink=0)
    assert panelread.has_text(p.buffer, "line two")


def test_ascii_label():
    assert ui.ascii_label("plain") == "plain"
    assert ui.ascii_label("Ünïcödé") == "Unicode"
    assert ui.ascii_label("Müller") == "Muller"
    assert ui.ascii_label("日本") == "??"
    assert ui.ascii_label("a\u00e9b") == "aeb"


def test_small_panel_layout():
    p = Panel(32)
    u = ui.UI(p)
    u.totp(totp_view("Issuer", "name", 12345678, 8, 1000, 30000, "2/7", -1))
    big = bytearray(1024)  # the reader works on 128x64 frames: the 32 rows on top
    big[:512] = p.buffer
    found = panelread.big_digits(big)
    assert found and found[0][1] == "12345678", found
    assert panelread.has_text(big, "Issuer")


def _full(v, h, dx, dy):
    """The frame a fresh UI draws for v: the reference a partial redraw must equal."""
    p = Panel(h)
    u = ui.UI(p)
    u.shift(dx, dy)
    u.totp(v)
    return bytes(p.buffer)


def _steps():
    """A sequence of screens, each a change from the one before: (field changes, shift)."""
    long_name = "a.very.long.name@example.com"  # scrolls
    return (
        ({}, (0, 0)),
        ({"code": 12345679}, (0, 0)),  # one digit
        ({"code": 12340000}, (0, 0)),  # several digits
        ({"left_ms": 19000}, (0, 0)),  # a bar tick
        ({"left_ms": 29999}, (0, 0)),  # the bar grows: a new period
        ({"left_ms": 0}, (0, 0)),  # empty bar
        ({"bottom": long_name, "step": 0}, (0, 0)),  # a long label appears
        ({"step": 3}, (0, 0)),  # it scrolls
        ({"step": 4}, (0, 0)),
        ({"step": 30}, (0, 0)),  # its second pass
        ({"step": 40}, (0, 0)),  # at rest at its start for good
        ({"step": 41}, (0, 0)),
        ({"step": 5}, (0, 0)),  # the account shown again: it scrolls again
        ({"preview": 87654321, "left_ms": 4000}, (0, 0)),  # the preview appears
        ({"preview": 87654322}, (0, 0)),
        ({"preview": -1, "code": 87654322, "left_ms": 30000}, (0, 0)),
        ({"top": "Other", "bottom": "", "position": "3/7", "code": 11111111}, (0, 0)),  # switch
        ({"digits": 6, "code": 123456}, (0, 0)),  # another digit count
        ({"code": 123457, "left_ms": 12345}, (1, 1)),  # a burn-in shift
        ({"code": 999999, "top": "A", "bottom": "B", "step": 0}, (2, 2)),
        ({"code": 999998}, (2, 2)),
    )


def test_partial_redraws_leave_the_frame_a_full_redraw_would():
    for h in (64, 32):
        p = Panel(h)
        u = ui.UI(p)
        v = totp_view("ACME", "alice@example.com", 12345678, 8, 20000, 30000, "2/7", -1)
        for n, (changes, (dx, dy)) in enumerate(_steps()):
            for k in changes:
                setattr(v, k, changes[k])
            u.shift(dx, dy)
            u.totp(v)
            assert bytes(p.buffer) == _full(v, h, dx, dy), (h, n, changes)
            if n == 5:  # other screens in between: the next TOTP frame is drawn whole
                uiscreens.message(u, ("Error", "x"))
            if n == 8:
                uiscreens.hotp(u, v)


def test_forget_redraws_a_frame_changed_behind_the_ui():
    p = Panel()
    u = ui.UI(p)
    v = totp_view("ACME", "alice", 123456, 6, 20000, 30000, "2/7", -1)
    u.totp(v)
    p.fill_rect(0, 0, 128, 64, 1)  # someone else drew on it
    u.forget()
    u.totp(v)
    assert bytes(p.buffer) == _full(v, 64, 0, 0)


def test_partial_redraws_allocate_nothing():
    import micropython

    p = Panel()
    u = ui.UI(p)
    v = totp_view("ACME", "a.very.long.name@example.com", 12345678, 8, 20000, 30000, "2/7", -1)
    u.totp(v)
    micropython.heap_lock()
    try:
        v.code = 12345679  # a digit
        v.left_ms = 19000  # a bar tick
        v.step = 3  # a scroll step
        v.preview = 87654321  # the preview appears
        u.totp(v)
    finally:
        micropython.heap_unlock()
    assert bytes(p.buffer) == _full(v, 64, 0, 0)


def test_a_frame_without_a_buffer_is_refused():
    import framebuf

    try:
        ui.UI(framebuf.FrameBuffer(bytearray(1024), 128, 64, framebuf.MONO_VLSB))
    except ValueError as e:
        assert "buffer" in str(e), e
    else:
        raise AssertionError("accepted a frame it cannot draw digits into")


def test_on_the_panel_partial_updates_leave_what_a_full_redraw_would():
    # Through the real driver to the sim's SSD1306 model: after each disp.show() the panel's
    # GDDRAM must equal a frame drawn whole, although only the redrawn area was compared.
    try:
        from model_ssd1306 import Ssd1306Model
        from simi2c import SimI2C
    except ImportError:
        mptest.skip("needs the sim device models (boards/sim)")
    from drivers.ssd1306 import SSD1306_I2C

    for h in (64, 32):
        model = Ssd1306Model(128, h)
        disp = SSD1306_I2C(128, h, SimI2C({0x3C: model}))
        u = ui.UI(disp)
        v = totp_view("ACME", "alice@example.com", 12345678, 8, 20000, 30000, "2/7", -1)
        for n, (changes, (dx, dy)) in enumerate(_steps()):
            for k in changes:
                setattr(v, k, changes[k])
            u.shift(dx, dy)
            model.reset_counts()
            u.totp(v)
            disp.show()
            assert bytes(model.gddram[: 16 * h]) == _full(v, h, dx, dy), (h, n, changes)
            if n == 1 and h == 64:  # one digit changed: one cell's columns on its 4 pages
                assert 0 < model.data_bytes <= 12 * 4, model.data_bytes
            if n == 5:
                uiscreens.message(u, ("Error", "x"))
                disp.show()
            if n == 8:
                uiscreens.hotp(u, v)
                disp.show()


def test_a_label_at_rest_sends_nothing_as_the_seconds_go_on():
    try:
        from model_ssd1306 import Ssd1306Model
        from simi2c import SimI2C
    except ImportError:
        mptest.skip("needs the sim device models (boards/sim)")
    from drivers.ssd1306 import SSD1306_I2C

    disp = SSD1306_I2C(128, 64, SimI2C({0x3C: Ssd1306Model(128, 64)}))
    u = ui.UI(disp)
    v = totp_view("ACME", "a.very.long.name@example.com", 12345678, 8, 20000, 30000, "2/7", -1)
    u.totp(v)
    disp.show()
    v.step = 3  # scrolling: the name's band is sent
    u.totp(v)
    assert disp.show() > 0
    v.step = 100  # back at its start, for good
    u.totp(v)
    assert disp.show() > 0
    for step in (101, 102, 500):
        v.step = step
        u.totp(v)
        assert disp.show() == 0, step
        assert bytes(disp.buffer) == _full(v, 64, 0, 0)


if __name__ == "__main__":
    mptest.main(globals())
