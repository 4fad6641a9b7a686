# SSD1306 OLED driver (I2C), with partial refresh.
#
# SSD1306_I2C(width, height, i2c, addr=0x3C, external_vcc=False, reset=None) is a
# framebuf.FrameBuffer (MONO_VLSB) of a 128x64 or 128x32 panel: draw on it with the framebuf
# methods, then show(). `i2c` is any object with the machine.I2C methods (writeto, writevto);
# `reset` is an optional pin object with .value() wired to RES# (e.g. the Heltec WiFi Kit 32).
#
# show() sends only what changed since the last frame: the driver keeps a shadow of what the
# panel holds, finds the pages that differ and the column span that differs within them,
# points the panel's column/page window (0x21/0x22, horizontal addressing mode) at that
# rectangle and sends just its bytes. On the bus that costs 8 bytes for the window command
# (address, control, 0x21 c0 c1 0x22 p0 p1) plus 2 + (pages x columns) for the data
# (address, control 0x40, data). show(full=True) resends everything; the first show() after
# init_display() or rotate() is always full. show_area(x, y, w, h) does the same within a
# rectangle its caller vouches for (nothing outside it changed): the UI passes the cells it
# redrew, so a one-digit refresh compares 48 bytes instead of 1,024. The diff and the copy
# of the window into one staging buffer run in viper.
#
# Other methods: poweroff()/poweron() (display sleep, GDDRAM kept), contrast(0..255),
# invert(bool), rotate(bool) (180 degrees; needs a show(), which is then full, because the
# segment remap only applies to data written after it), init_display() (full init again, e.g.
# after the panel lost power). `bytes_sent` counts bytes handed to the bus (control bytes
# included, address bytes not). Bus errors raise OSError(errno, "SSD1306 at 0x..: ...").

import time

import framebuf
import micropython
from micropython import const

_SET_CONTRAST = const(0x81)
_SET_ENTIRE_ON = const(0xA4)
_SET_NORM_INV = const(0xA6)
_SET_DISP = const(0xAE)
_SET_MEM_ADDR = const(0x20)
_SET_COL_ADDR = const(0x21)
_SET_PAGE_ADDR = const(0x22)
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
_CTRL_DATA = const(0x40)  # Co=0, D/C=1: the rest of the transaction is GDDRAM data


class SSD1306_I2C(framebuf.FrameBuffer):
    def __init__(self, width, height, i2c, addr=0x3C, external_vcc=False, reset=None):
        if width != 128 or height not in (32, 64):
            raise ValueError("SSD1306: 128x64 or 128x32 panels only")
        self.width = width
        self.height = height
        self.pages = height // 8
        self.i2c = i2c
        self.addr = addr
        self.external_vcc = external_vcc
        self._reset = reset
        self._rotated = False
        size = self.pages * width
        self.buffer = bytearray(size)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        self._shadow = bytearray(size)  # what the panel's GDDRAM holds
        self._stale = True  # shadow unknown: next show() is full
        # Transmit staging for a window narrower than the panel: control byte, then data.
        self._tx = bytearray(1 + size)
        self._tx[0] = _CTRL_DATA
        self._txmv = memoryview(self._tx)
        self._vec = [b"\x40", self.buffer]
        self._cmd1 = bytearray((_CTRL_CMD, 0))
        self._cmd2 = bytearray((_CTRL_CMD, 0, 0))
        self._win = bytearray((_CTRL_CMD, _SET_COL_ADDR, 0, 0, _SET_PAGE_ADDR, 0, 0))
        self.bytes_sent = 0
        self.init_display()

    # --- bus --------------------------------------------------------------------------------

    def _fail(self, e):
        self._stale = True  # the panel may hold part of a frame: resend it all next time
        return OSError(e.errno, "SSD1306 at 0x%02x: I2C write failed" % self.addr)

    def _write(self, buf):
        try:
            self.i2c.writeto(self.addr, buf)
        except OSError as e:
            raise self._fail(e) from None
        self.bytes_sent += len(buf)

    def _write_data(self, data):
        self._vec[1] = data
        try:
            self.i2c.writevto(self.addr, self._vec)
        except OSError as e:
            raise self._fail(e) from None
        self.bytes_sent += 1 + len(data)

    def write_cmd(self, cmd):
        self._cmd1[1] = cmd
        self._write(self._cmd1)

    def _write_cmd2(self, cmd, arg):
        self._cmd2[1] = cmd
        self._cmd2[2] = arg
        self._write(self._cmd2)

    # --- setup --------------------------------------------------------------------------------

    def init_display(self):
        """Reset (if there is a reset pin), configure the panel, send the frame, switch on."""
        if self._reset is not None:
            self._reset.value(1)
            time.sleep_ms(1)
            self._reset.value(0)  # RES# low for at least 3 us
            time.sleep_ms(10)
            self._reset.value(1)
            time.sleep_ms(10)
        ext = self.external_vcc
        seq = bytearray((_CTRL_CMD,))
        seq.extend(
            (
                _SET_DISP,  # display off while configuring
                _SET_MEM_ADDR,
                0x00,  # horizontal addressing: windows wrap column then page
                _SET_DISP_START_LINE,
                _SET_MUX_RATIO,
                self.height - 1,
                _SET_DISP_OFFSET,
                0x00,
                _SET_COM_PIN_CFG,
                0x12 if self.height == 64 else 0x02,  # alternative vs sequential COM wiring
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
        self._write(seq)
        self._set_orientation()
        self._stale = True
        self.show()
        self.poweron()

    def _set_orientation(self):
        # The usual module wiring shows the frame upright with column 127 on SEG0 (0xA1) and
        # COM scan from COM[N-1] (0xC8); rotating by 180 degrees undoes both.
        r = self._rotated
        self.write_cmd(_SET_SEG_REMAP | (0 if r else 1))
        self.write_cmd(_SET_COM_OUT_DIR | (0 if r else 0x08))

    # --- controls -----------------------------------------------------------------------------

    def poweroff(self):
        self.write_cmd(_SET_DISP)

    def poweron(self):
        self.write_cmd(_SET_DISP | 0x01)

    def contrast(self, value):
        if not 0 <= value <= 255:
            raise ValueError("contrast must be 0..255")
        self._write_cmd2(_SET_CONTRAST, value)

    def invert(self, on):
        self.write_cmd(_SET_NORM_INV | (1 if on else 0))

    def rotate(self, on):
        """Turn the picture by 180 degrees (on=True) or back; the next show() is full."""
        self._rotated = bool(on)
        self._set_orientation()
        self._stale = True

    # --- refresh ------------------------------------------------------------------------------

    def _window(self, c0, c1, p0, p1):
        w = self._win
        w[2] = c0
        w[3] = c1
        w[5] = p0
        w[6] = p1
        self._write(w)

    def show(self, full=False):
        """Send what changed since the last show() (everything if full); returns data bytes."""
        if full or self._stale:
            self._window(0, self.width - 1, 0, self.pages - 1)
            self._write_data(self.buffer)
            self._shadow[:] = self.buffer
            self._stale = False
            return len(self.buffer)
        return self.show_area(0, 0, self.width, self.height)

    def show_area(self, x, y, w, h):
        """Like show(), for a caller that knows nothing outside the rectangle (x, y, w, h)
        changed since the last show(): only that area is compared with what the panel holds,
        which is what makes a one-digit refresh cheap. After init, rotate() or a bus error
        it sends everything, as show() does. The changed window's bytes are gathered into
        one staging buffer, so a refresh is two writes (window, data) whatever its shape."""
        if self._stale:
            return self.show()
        k = _gather(self.buffer, self._shadow, self._tx, self._win, x, y, w, h)
        if k == 0:
            return 0
        try:
            self.i2c.writeto(self.addr, self._win)
            self.i2c.writeto(self.addr, self._txmv[:k])
        except OSError as e:
            raise self._fail(e) from None
        self.bytes_sent += 7 + k
        return k - 1


# The diff runs in viper: as bytecode, scanning 1,024 bytes against the shadow cost more than
# everything else in a one-digit refresh, and each Python call costs about as much as the
# scan of a digit's cell, so one call does it all. It knows the frame is 128 columns wide
# (the only width the driver accepts) and takes the buffer's length for the page count.


@micropython.viper
def _gather(buf, shadow, tx, cmd, x: int, y: int, w: int, h: int) -> int:
    """Find the smallest window holding every byte where buf differs from shadow within the
    rectangle (x, y, w, h) (clipped to the frame); copy it row by row into tx after its
    control byte and into the shadow, and put its bounds in the window command cmd
    (control, 0x21 c0 c1, 0x22 p0 p1). Returns the bytes in tx, control byte included;
    0 if nothing differs."""
    pages = int(len(buf)) >> 7
    b8 = ptr8(buf)
    s8 = ptr8(shadow)
    lo = x if x > 0 else 0  # the columns to compare, lo..hi
    hi = x + w - 1
    if hi > 127:
        hi = 127
    p = (y if y > 0 else 0) >> 3
    last = (y + h - 1) >> 3
    if last >= pages:
        last = pages - 1
    if hi < lo or h <= 0:
        return 0
    b = ptr32(buf)  # bytearrays are word-aligned: whole pages compare 4 columns at a time
    s = ptr32(shadow)
    whole = lo == 0 and hi == 127
    c0 = 128
    c1 = -1
    p0 = -1
    p1 = -1
    while p <= last:
        base = p << 7
        if whole:
            i = p << 5
            end = i + 32
            while i < end and b[i] == s[i]:
                i += 1
            if i == end:
                p += 1
                continue
        a = base + lo
        end = base + hi
        while a <= end and b8[a] == s8[a]:
            a += 1
        if a > end:  # nothing changed on this page
            p += 1
            continue
        # From the right, only columns beyond the span found so far can widen it.
        z = end
        stop = base + c1
        if stop < a:
            stop = a
        while z > stop and b8[z] == s8[z]:
            z -= 1
        if a - base < c0:
            c0 = a - base
        if z - base > c1:
            c1 = z - base
        if p0 < 0:
            p0 = p
        p1 = p
        p += 1
    if p0 < 0:
        return 0
    t = ptr8(tx)
    c = ptr8(cmd)
    c[2] = c0
    c[3] = c1
    c[5] = p0
    c[6] = p1
    k = 1
    p = p0
    while p <= p1:
        i = (p << 7) + c0
        end = (p << 7) + c1
        while i <= end:
            v = b8[i]
            t[k] = v
            s8[i] = v
            k += 1
            i += 1
        p += 1
    return k
