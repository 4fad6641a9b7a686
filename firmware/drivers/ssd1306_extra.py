# The SSD1306 driver's methods an idle token does not call: the panel's init sequence (at
# boot), rotation (a settings change), inversion and show_area(). Each is a function of the
# driver (`d`), reached as a method of drivers.ssd1306.SSD1306_I2C (d.rotate(True) calls
# rotate(d, True) here), whose header documents them. Loaded only for such a call.

import time

from micropython import const

_SET_CONTRAST = const(0x81)
_SET_ENTIRE_ON = const(0xA4)
_SET_NORM_INV = const(0xA6)
_SET_DISP = const(0xAE)
_SET_MEM_ADDR = const(0x20)
_SET_DISP_START_LINE = const(0x40)
_SET_SEG_REMAP = const(0xA0)
_SET_MUX_RATIO = const(0xA8)
_SET_COM_OUT_DIR = const(0xC0)
_SET_DISP_OFFSET = const(0xD3)
_SET_COM_PIN_CFG = const(0xDA)
_SET_DISP_CLK_DIV = const(0xD5)
_SET_PRECHARGE = const(0xD9)
_SET_VCOM_DESEL = const(0xDB)
_SET_CHARGE_PUMP = const(0x8D)
_DEACTIVATE_SCROLL = const(0x2E)
_CTRL_CMD = const(0x00)  # Co=0, D/C=0: the rest of the transaction is commands
_SET_COL_ADDR = const(0x21)
_SET_PAGE_ADDR = const(0x22)
_VOUCHED = const(1)  # area[4]: every change since the last show() lies inside area[0:4]
_NO_AREA = b"\xff\xff\x00\x00\x00"  # area[0:5] after a show(): empty, nothing vouched


def _setup(d):
    # The second half of SSD1306_I2C.__init__ (attributes set in the same order as ever):
    # everything after the frame buffer, then the panel's init.
    size = len(d.buffer)
    d._stale = True  # shadow unknown: next show() is full
    # What a caller that draws straight into the buffer vouches for (the UI does): x0, y0,
    # x1, y1 (ends excluded) holding every change since the last show(), and a state byte
    # (0: nothing vouched, _VOUCHED, 2: anything may have changed, _FULL: send it all).
    # show() compares only that rectangle when vouched. Bytes 5.. are the driver's own:
    # the page count, and the data length the send vector is set up for (low, high).
    d.area = bytearray(_NO_AREA + bytes((d.pages, 0, 0)))
    # The shadow of GDDRAM (size bytes: what the panel holds), then 1,023 bytes of
    # staging: a changed window of n bytes goes out as one writevto of the staging
    # regions that n's binary digits name, largest first. Fixed views over fixed
    # regions: sending any window allocates nothing and puts exactly n data bytes on the
    # bus, for 10 views (about 200 bytes) where a view per length would take 16 KB.
    d._shadow = bytearray(size + 1023)
    tx = memoryview(d._shadow)[size:]
    # Region of bit j (2 ** j bytes) at 1024 - 2 ** (j + 1) in the staging: bit 9 first.
    d._views = tuple(tx[1024 - (2 << j) : 1024 - (1 << j)] for j in range(9, -1, -1)) + (
        b"",
        d.buffer,
    )
    d._txvec = [b"\x40"] + [b""] * 10
    d._cmd1 = bytearray((_CTRL_CMD, 0))
    d._cmd2 = bytearray((_CTRL_CMD, 0, 0))
    d._win = bytearray((_CTRL_CMD, _SET_COL_ADDR, 0, 0, _SET_PAGE_ADDR, 0, 0))
    d.bytes_sent = 0
    init_display(d)


def init_display(d):
    """Reset (if there is a reset pin), configure the panel, send the frame, switch on."""
    reset = d._reset
    if reset is not None:
        reset.value(1)
        time.sleep_ms(1)
        reset.value(0)  # RES# low for at least 3 us
        time.sleep_ms(10)
        reset.value(1)
        time.sleep_ms(10)
    ext = d.external_vcc
    d._write(
        bytes(
            (
                _CTRL_CMD,
                _SET_DISP,  # display off while configuring
                _SET_MEM_ADDR,
                0x00,  # horizontal addressing: windows wrap column then page
                _SET_DISP_START_LINE,
                _SET_MUX_RATIO,
                d.height - 1,
                _SET_DISP_OFFSET,
                0x00,
                _SET_COM_PIN_CFG,
                0x12 if d.height == 64 else 0x02,  # alternative vs sequential COM wiring
                _SET_DISP_CLK_DIV,
                0x80,
                _SET_PRECHARGE,
                0x22 if ext else 0xF1,
                _SET_VCOM_DESEL,
                0x30,  # about 0.83 x Vcc
                _SET_CONTRAST,
                0xCF,
                _SET_ENTIRE_ON,  # follow RAM
                _SET_NORM_INV,  # not inverted
                _SET_CHARGE_PUMP,
                0x10 if ext else 0x14,
                _DEACTIVATE_SCROLL,
            )
        )
    )
    _set_orientation(d)
    d._stale = True
    d.show()
    d.poweron()


def _set_orientation(d):
    # The usual module wiring shows the frame upright with column 127 on SEG0 (0xA1) and
    # COM scan from COM[N-1] (0xC8); rotating by 180 degrees undoes both.
    r = d._rotated
    d.write_cmd(_SET_SEG_REMAP | (0 if r else 1))
    d.write_cmd(_SET_COM_OUT_DIR | (0 if r else 0x08))


def invert(d, on):
    d.write_cmd(_SET_NORM_INV | (1 if on else 0))


def rotate(d, on):
    """Turn the picture by 180 degrees (on=True) or back; the next show() is full."""
    d._rotated = bool(on)
    _set_orientation(d)
    d._stale = True


def show_area(d, x, y, w, h):
    """Like show(), for a caller that knows nothing outside the rectangle (x, y, w, h)
    changed since the last show(): only that area is compared with what the panel holds,
    which is what makes a one-digit refresh cheap. After init, rotate() or a bus error
    it sends everything, as show() does. A caller drawing straight into the buffer can
    instead grow d.area itself (x0, y0, x1, y1, ends excluded, then area[4] = 1) and
    call show(), as the UI does."""
    a = d.area
    if w <= 0 or h <= 0:
        x = y = 255
        w = h = -255
    a[0] = min(max(x, 0), 255)
    a[1] = min(max(y, 0), 255)
    a[2] = min(max(x + w, 0), 255)
    a[3] = min(max(y + h, 0), 255)
    a[4] = _VOUCHED
    return d.show()
