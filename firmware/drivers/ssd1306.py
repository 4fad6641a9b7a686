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
# rectangle its caller vouches for (nothing outside it changed). A caller that draws straight
# into the buffer can vouch without a call: it grows `area` (x0, y0, x1, y1, ends excluded,
# then area[4] = 1) and calls show(), which then compares only that rectangle and resets it;
# the UI does, so a one-digit refresh compares 48 bytes instead of 1,024. The diff, and the
# copy of the window into fixed staging regions sent by one writevto (no allocation), run in
# one viper call.
#
# Other methods: poweroff()/poweron() (display sleep, GDDRAM kept), contrast(0..255),
# invert(bool), rotate(bool) (180 degrees; needs a show(), which is then full, because the
# segment remap only applies to data written after it), init_display() (full init again, e.g.
# after the panel lost power). `bytes_sent` counts bytes handed to the bus (control bytes
# included, address bytes not). Bus errors raise OSError(errno, "SSD1306 at 0x..: ...").
#
# Memory. The idle token draws, shows, dims and sleeps the panel; init_display(), rotate(),
# invert() and show_area() (at boot, on a settings change, or never) are in ssd1306_extra.py,
# reached through the same methods: __getattr__ loads that module for the call and drops it
# again at once (drivers.extra()).

import framebuf
import micropython
from micropython import const

_SET_CONTRAST = const(0x81)
_SET_DISP = const(0xAE)

_VOUCHED = const(1)  # area[4]: every change since the last show() lies inside area[0:4]
_FULL = const(3)  # area[4]: send the whole frame, changed or not
# area[4] = 0: nothing vouched since the last show(); 2: anything may have changed. Both
# make show() compare the whole frame.


class SSD1306_I2C(framebuf.FrameBuffer):
    def __init__(self, width, height, i2c, addr=0x3C, external_vcc=False, reset=None):
        if width != 128 or height not in (32, 64):
            raise ValueError("SSD1306: 128x64 or 128x32 panels only")
        self.width = width
        self.height = height
        self.pages = height // 8
        self.i2c = i2c
        self._writeto = i2c.writeto  # bound once: show() is the hot path
        self._writevto = i2c.writevto
        self.addr = addr
        self.external_vcc = external_vcc
        self._reset = reset
        self._rotated = False
        size = self.pages * width
        self.buffer = bytearray(size)
        super().__init__(self.buffer, width, height, framebuf.MONO_VLSB)
        # The rest (the shadow and its staging, the command buffers) and the panel's init:
        # ssd1306_extra.setup(), boot-time code the idle token does not keep.
        self._setup()

    def __getattr__(self, name):
        # init_display(), rotate(), invert(), show_area(), _setup(): see the header.
        import drivers

        return drivers.extra(self, "ssd1306_extra", name)

    # --- bus --------------------------------------------------------------------------------

    def _fail(self, e):
        self._stale = True  # the panel may hold part of a frame: resend it all next time
        return OSError(e.errno, "SSD1306 at 0x%02x: I2C write failed" % self.addr)

    def _write(self, buf):
        try:
            self._writeto(self.addr, buf)
        except OSError as e:
            raise self._fail(e) from None
        self.bytes_sent += len(buf)

    def write_cmd(self, cmd):
        self._cmd1[1] = cmd
        self._write(self._cmd1)

    # --- controls -----------------------------------------------------------------------------

    def poweroff(self):
        self.write_cmd(_SET_DISP)

    def poweron(self):
        self.write_cmd(_SET_DISP | 0x01)

    def contrast(self, value):
        if not 0 <= value <= 255:
            raise ValueError("contrast must be 0..255")
        c = self._cmd2
        c[1] = _SET_CONTRAST
        c[2] = value
        self._write(c)

    # --- refresh ------------------------------------------------------------------------------

    def show(self, full=False):
        """Send what changed since the last show() (everything if full); returns data bytes.
        Only the rectangle in self.area is compared when a caller vouched for it (see
        show_area()), else the whole frame. The changed window costs two writes (window,
        data) whatever its shape, and allocates nothing."""
        if full or self._stale:
            self.area[4] = _FULL
            self._stale = False  # until a write fails
        n = _gather(self.buffer, self._shadow, self._win, self.area, self._views, self._txvec)
        if n == 0:
            return 0
        try:
            self._writeto(self.addr, self._win)
            self._writevto(self.addr, self._txvec)
        except OSError as e:
            raise self._fail(e) from None
        self.bytes_sent += 8 + n
        return n


# The diff runs in viper: as bytecode, scanning 1,024 bytes against the shadow cost more than
# everything else in a one-digit refresh, and each Python call costs about as much as the
# scan of a digit's cell, so one call does it all. It knows the frame is 128 columns wide
# (the only width the driver accepts) and takes the buffer's length for the page count.


@micropython.viper
def _gather(buf, shadow, cmd, area: ptr8, views, vec) -> int:
    """Find the smallest window holding every byte where buf differs from the shadow (the
    start of `shadow`), within the rectangle in area if area[4] == _VOUCHED (clipped to the
    frame), else in the whole frame; all of it if area[4] == _FULL. Copy the window row by
    row into the shadow and into the staging regions (after the shadow) that vec sends,
    taken from views (see SSD1306_I2C.__init__), and put its bounds in the window command
    cmd (control, 0x21 c0 c1, 0x22 p0 p1). Resets area[0:5] to nothing vouched. Returns the
    window's bytes; 0 if nothing differs."""
    pages = int(area[5])
    size = pages << 7
    b8 = ptr8(buf)
    s8 = ptr8(shadow)
    state = int(area[4])
    lo = 0  # the columns to compare, lo..hi, on pages p..last
    hi = 127
    p = 0
    last = pages - 1
    if state == _VOUCHED:
        lo = int(area[0])
        hi = int(area[2]) - 1
        if hi > 127:
            hi = 127
        p = int(area[1]) >> 3
        last = (int(area[3]) - 1) >> 3
        if last >= pages:
            last = pages - 1
        if hi < lo or int(area[3]) <= int(area[1]):
            last = -1
    area[0] = 0xFF
    area[1] = 0xFF
    area[2] = 0
    area[3] = 0
    area[4] = 0
    c0 = 0
    c1 = 127
    p0 = 0
    p1 = pages - 1
    if state != _FULL:
        b = ptr32(b8)  # bytearrays are word-aligned: whole pages compare 4 columns at a time
        s = ptr32(s8)
        whole = lo == 0 and hi == 127
        c0 = 128
        c1 = -1
        p0 = -1
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
    c = ptr8(cmd)
    c[2] = c0
    c[3] = c1
    c[5] = p0
    c[6] = p1
    n = (p1 - p0 + 1) * (c1 - c0 + 1)
    if n != int(area[6]) | (int(area[7]) << 8):  # set the vector up for this length
        area[6] = n & 0xFF
        area[7] = n >> 8
        if n == size:  # the whole frame: sent from the buffer itself
            vec[1] = views[11]
            k = 1
        else:  # vec[1 + k]: region k (bit 9 - k of n), or nothing
            k = 0
        while k < 10:
            vec[1 + k] = views[k] if n & (512 >> k) else views[10]
            k += 1
    if n == size:
        b = ptr32(b8)
        s = ptr32(s8)
        i = 0
        while i < pages << 5:
            s[i] = b[i]
            i += 1
        return n
    # Region of bit B lies at size + 1024 - 2B in `shadow`: consecutive bits are adjacent.
    bit = 512
    while not (n & bit):
        bit >>= 1
    o = size + 1024 - (bit << 1)  # where the next byte goes
    rend = o + bit  # the end of the current region
    p = p0
    while p <= p1:
        i = (p << 7) + c0
        end = (p << 7) + c1
        while i <= end:
            if o == rend:  # on to the next region n uses
                bit >>= 1
                while not (n & bit):
                    bit >>= 1
                o = size + 1024 - (bit << 1)
                rend = o + bit
            v = b8[i]
            s8[o] = v
            s8[i] = v
            o += 1
            i += 1
        p += 1
    return n
