# utf8.valid / utf8.has_control (firmware/utf8.py). The expected answers were produced by
# CPython's own decoder (bytes.decode("utf-8") accepts or raises), not by the code under test;
# tests/host/test_utf8_vs_cpython.py compares the two on a generated corpus.
import micropython
import mptest
import utf8

# (bytes, CPython accepts it)
CPYTHON = (
    (b"", True),
    (b"abc", True),
    (b"\x00", True),
    (b"\x7f", True),
    (b"\x80", False),  # a continuation byte without a lead
    (b"\xbf", False),
    (b"\xc0\x80", False),  # overlong NUL
    (b"\xc1\x81", False),  # overlong "A"
    (b"\xc2\x80", True),
    (b"\xdf\xbf", True),
    (b"\xc2", False),  # cut short
    (b"\xc2A", False),
    (b"\xc2\xc0", False),
    (b"\xe0\x80\x80", False),  # overlong three-byte forms
    (b"\xe0\x9f\xbf", False),
    (b"\xe0\xa0\x80", True),
    (b"\xed\x9f\xbf", True),
    (b"\xed\xa0\x80", False),  # surrogates U+D800..U+DFFF
    (b"\xed\xbf\xbf", False),
    (b"\xee\x80\x80", True),
    (b"\xef\xbf\xbf", True),
    (b"\xe2\x82", False),
    (b"\xe2\x82\xac", True),
    (b"\xf0\x80\x80\x80", False),  # overlong four-byte forms
    (b"\xf0\x8f\xbf\xbf", False),
    (b"\xf0\x90\x80\x80", True),
    (b"\xf4\x8f\xbf\xbf", True),  # U+10FFFF
    (b"\xf4\x90\x80\x80", False),  # U+110000
    (b"\xf5\x80\x80\x80", False),
    (b"\xf8\x88\x80\x80\x80", False),
    (b"\xfe", False),
    (b"\xff", False),
    (b"\xf0\x9f\x98", False),
    (b"\xf0\x9f\x98\x80", True),
    (b"\xf0\x9f\x98\x80\x80", False),
    (b"a\xe2\x82\xacb\xc3\xa9", True),
    (b"\xed\xa0\x80\xed\xb0\x80", False),  # a surrogate pair written as two code points
    (b"\xe2\x80\xae", True),
    (b"\xc2\x9b", True),
    (b"\xef\xbb\xbf", True),
)


def test_valid_agrees_with_cpython():
    for data, accepted in CPYTHON:
        assert utf8.valid(data) is accepted, data
        assert utf8.valid(bytearray(data)) is accepted, data
        assert utf8.valid(memoryview(b"x" + data)[1:]) is accepted, data


def test_valid_in_the_middle_of_text():
    for data, accepted in CPYTHON:
        assert utf8.valid(b"GitHub:" + data + b"alice") is accepted, data


def test_controls_are_found():
    controls = (
        "\x00", "\x1b", "\x1f", "\x7f", "\x80", "\x9b", "\x9f",
        "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
        "\u2066", "\u2067", "\u2068", "\u2069",
    )  # fmt: skip
    for ch in controls:
        data = ("ab" + ch + "cd").encode()
        assert utf8.valid(data)
        assert utf8.has_control(data), data
        assert utf8.has_control(ch.encode()), data


def test_neighbours_of_controls_are_text():
    fine = (
        " ", "~", "\xa0", "\xe9", "\u2029", "\u2060", "\u2065", "\u206a", "\u200e", "\u20ac",
        "\u2080", "\u2081", "\U0001f600", "Bänk €",
    )  # fmt: skip
    for text in fine:
        data = text.encode()
        assert utf8.valid(data)
        assert not utf8.has_control(data), data
    assert not utf8.has_control(b"")


def test_checks_allocate_nothing():
    good = "GitHub:alice \u20ac \U0001f600 \xe9".encode()
    bad = b"abc\xed\xa0\x80"
    bidi = "x\u2067y".encode()
    view = memoryview(good)[7:]  # made before the lock: a memoryview is an allocation
    out = [None] * 5
    micropython.heap_lock()
    try:
        out[0] = utf8.valid(good)
        out[1] = utf8.valid(bad)
        out[2] = utf8.has_control(good)
        out[3] = utf8.has_control(bidi)
        out[4] = utf8.valid(view)
    finally:
        micropython.heap_unlock()
    assert out == [True, False, False, True, True]


if __name__ == "__main__":
    mptest.main(globals())
