# The large-digit font: shape of the data, and glyphs different enough to read back reliably.
import font_digits as font
import framebuf
import mptest


def glyph(d):
    n = font.GLYPH_BYTES
    return bytearray(font.DIGITS[d * n : (d + 1) * n])


def pixels(d):
    fb = framebuf.FrameBuffer(glyph(d), font.WIDTH, font.HEIGHT, framebuf.MONO_VLSB)
    return [fb.pixel(x, y) for y in range(font.HEIGHT) for x in range(font.WIDTH)]


def test_size_and_layout():
    assert font.WIDTH == 12 and font.HEIGHT == 24
    assert font.GLYPH_BYTES == font.WIDTH * font.HEIGHT // 8
    assert len(font.DIGITS) == 10 * font.GLYPH_BYTES
    assert isinstance(font.DIGITS, bytes)


def test_every_glyph_is_drawn_and_uses_its_box():
    for d in range(10):
        px = pixels(d)
        lit = sum(px)
        assert 40 < lit < 200, (d, lit)
        rows = [y for y in range(font.HEIGHT) if any(px[y * font.WIDTH : (y + 1) * font.WIDTH])]
        assert rows[0] == 0 and rows[-1] == font.HEIGHT - 1, (d, rows[0], rows[-1])


def test_glyphs_differ_by_many_pixels():
    # Readers (people, and the test decoder) must never confuse two digits.
    all_px = [pixels(d) for d in range(10)]
    for a in range(10):
        for b in range(a + 1, 10):
            diff = sum(1 for i in range(len(all_px[a])) if all_px[a][i] != all_px[b][i])
            assert diff >= 20, (a, b, diff)


if __name__ == "__main__":
    mptest.main(globals())
