# A model of an SSD1306 OLED module on I2C, for the sim board (runs inside MicroPython).
#
# It interprets the byte stream a driver sends, as the datasheet describes it, and keeps the
# 128x64-bit GDDRAM, so what the sim shows is what the driver really sent.
#
# Bus protocol: each write transaction starts with a control byte: bit 7 (Co) set means one
# byte follows and then another control byte; Co clear means every remaining byte of the
# transaction has the same kind. Bit 6 (D/C) selects GDDRAM data (0x40) or commands (0x00).
# Command parameters may arrive in later bytes or later transactions (a driver that sends
# 0x80,cmd then 0x80,param is fine): the command decoder keeps its state across them.
#
# Public API (used by boards/sim/board.py and the firmware tests):
#   Ssd1306Model(width=128, height=64, external_vcc=False, garbage=True)
#       height 64 or 32 (the module's glass). garbage=True fills GDDRAM with a fixed
#       pseudo-random pattern at power-up, like a real chip, so a driver must write it all.
#   gddram          bytearray(1024), page-major MONO_VLSB: gddram[page * 128 + x] holds rows
#                   8*page..8*page+7 (bit 0 on top) of panel column x. Indexed by the column
#                   as it appears on the glass; with the usual segment remap (0xA1) that is
#                   the column address the driver wrote to.
#   display_on, contrast, inverted, entire_on, seg_remap, com_remap, charge_pump,
#   addressing_mode, multiplex, com_pins, start_line, display_offset, scrolling
#   lit             True when the glass emits light (display on and a supply: charge pump
#                   enabled or external VCC)
#   pixel(x, y)     1 if the pixel at glass position (x, y) is lit (0, 0 = top left)
#   glass()         the visible picture, width*height//8 bytes in MONO_VLSB page-major
#                   order (framebuf-compatible); all zeros when the glass is dark. One
#                   bytearray, returned again by the next call: copy it to keep it
#   version         incremented on every change that can alter the glass: a GDDRAM byte that
#                   changed value, or a visible setting (not window or addressing commands)
#   bytes_received  every byte of every write transaction (control bytes included; the
#                   address byte is counted by SimI2C, not here)
#   data_bytes, command_bytes, transactions   finer counters; reset_counts() zeroes them
#   unknown         list of (up to 32) command bytes the model does not know, in order
#   reset()         the RES# pin: back to power-on state (GDDRAM kept, as on the chip)
#
# Orientation: the modelled module mounts its glass the way the common 0.96" and 0.91" modules
# do, so that the usual init (segment remap 0xA1, COM scan 0xC8) shows column 0 / row 0 at the
# top left. 0xA0 with 0xC0 shows the picture rotated by 180 degrees. As the datasheet says,
# the segment remap only affects data written afterwards (it is applied when a byte is stored),
# while the COM scan direction flips the picture immediately.
#
# The COM pin configuration (0xDA) must match the module's wiring (0x12, alternative, for
# 64 rows; 0x02, sequential, for 32 rows); with the wrong one the rows come out interleaved,
# as on real hardware. Scrolling commands are decoded (parameters consumed) and recorded in
# `scrolling`, but the glass does not scroll. In page addressing mode the column pointer wraps
# from 127 to 0 within the page.

from simi2c import Device

_RAM = 1024  # 128 columns x 8 pages
_COLS = 128
_NO_ROW = 255  # _rows(): no scanned GDDRAM row reaches this glass row

# Commands with parameters: command byte -> number of parameter bytes.
_PARAMS = {
    0x20: 1,  # memory addressing mode
    0x21: 2,  # column window
    0x22: 2,  # page window
    0x26: 6,  # right horizontal scroll
    0x27: 6,  # left horizontal scroll
    0x29: 5,  # vertical and right scroll
    0x2A: 5,  # vertical and left scroll
    0x81: 1,  # contrast
    0x8D: 1,  # charge pump
    0xA3: 2,  # vertical scroll area
    0xA8: 1,  # multiplex ratio
    0xD3: 1,  # display offset
    0xD5: 1,  # clock divide / oscillator
    0xD9: 1,  # pre-charge period
    0xDA: 1,  # COM pins configuration
    0xDB: 1,  # VCOMH deselect level
}

_HORIZONTAL = 0
_VERTICAL = 1
_PAGE = 2


def _com_pin(step, mux, com_remap, alternative, lr_remap):
    # Which COM pin the `step`-th scanned row drives (datasheet section 10.1.14 and table 10-3).
    logical = mux - 1 - step if com_remap else step
    if alternative:
        pin = logical // 2 if logical % 2 == 0 else 32 + logical // 2
    else:
        pin = logical
    if lr_remap:
        pin = (pin + 32) % 64
    return pin


class Ssd1306Model(Device):
    def __init__(self, width=128, height=64, external_vcc=False, garbage=True):
        if width != 128 or height not in (32, 64):
            raise ValueError("Ssd1306Model: 128x64 or 128x32 only")
        self.width = width
        self.height = height
        self.external_vcc = external_vcc
        self.gddram = bytearray(_RAM)
        self._glass = bytearray(width * height // 8)  # glass()'s buffer, made with the model
        if garbage:
            seed = 0x2545F491
            for i in range(_RAM):
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                self.gddram[i] = (seed >> 16) & 0xFF
        # The COM pin each glass row is wired to: the pin the reference setup (0xC8, the
        # module's COM configuration, full multiplex) drives with that row.
        alt = height == 64
        self._wiring = [_com_pin(y, height, True, alt, False) for y in range(height)]
        self._identity = bytearray(range(height))
        # _rows()'s buffers, made once: the model shares the firmware's heap (host_tools sim
        # --heap, the firmware tests on an ESP32-sized heap). Row numbers are 0..63, _NO_ROW
        # where no scanned row reaches the glass row.
        self._rowbuf = bytearray(height)
        self._step_of_pin = bytearray(64)
        self.bytes_received = 0
        self.data_bytes = 0
        self.command_bytes = 0
        self.transactions = 0
        self.unknown = []
        self.version = 0
        self._rowmap = None
        self.reset()

    # --- state ----------------------------------------------------------------------------

    def reset(self):
        """Power-on / RES# state of every register (the datasheet's reset values)."""
        self.display_on = False
        self.contrast = 0x7F
        self.inverted = False
        self.entire_on = False
        self.seg_remap = False
        self.com_remap = False
        self.charge_pump = False
        self.addressing_mode = _PAGE
        self.multiplex = 64
        self.com_pins = 0x12
        self.start_line = 0
        self.display_offset = 0
        self.scrolling = False
        self.col_start, self.col_end = 0, 127
        self.page_start, self.page_end = 0, 7
        self.col = 0
        self.page = 0
        self._cmd = []  # command being assembled: [opcode, params...]
        self._ctrl = True  # next byte is a control byte
        self._single = False  # Co=1: one byte, then a control byte again
        self._is_data = False
        self._changed(True)

    def reset_counts(self):
        self.bytes_received = self.data_bytes = self.command_bytes = self.transactions = 0

    def _changed(self, geometry=False):
        self.version += 1
        if geometry:
            self._rowmap = None

    @property
    def lit(self):
        return self.display_on and (self.charge_pump or self.external_vcc)

    # --- bus side -------------------------------------------------------------------------

    def i2c_start(self, read):
        self.transactions += 1
        self._ctrl = True

    def i2c_write(self, data):
        self.bytes_received += len(data)
        for b in data:
            if self._ctrl:
                self._is_data = bool(b & 0x40)
                self._single = bool(b & 0x80)
                self._ctrl = False
                continue
            if self._is_data:
                self.data_bytes += 1
                self._store(b)
            else:
                self.command_bytes += 1
                self._command_byte(b)
            if self._single:
                self._ctrl = True

    def i2c_read(self, buf):
        # Reads are not supported in I2C mode (the datasheet's status read is for the
        # parallel interfaces): the module answers with 0xFF.
        for i in range(len(buf)):
            buf[i] = 0xFF

    # --- GDDRAM writes --------------------------------------------------------------------

    def _store(self, b):
        x = self.col if self.seg_remap else _COLS - 1 - self.col
        i = self.page * _COLS + x
        if self.gddram[i] != b:
            self.gddram[i] = b
            self._changed()
        mode = self.addressing_mode
        if mode == _HORIZONTAL:
            if self.col >= self.col_end:
                self.col = self.col_start
                self.page = self.page_start if self.page >= self.page_end else self.page + 1
            else:
                self.col += 1
        elif mode == _VERTICAL:
            if self.page >= self.page_end:
                self.page = self.page_start
                self.col = self.col_start if self.col >= self.col_end else self.col + 1
            else:
                self.page += 1
        else:
            self.col = (self.col + 1) % _COLS

    # --- commands -------------------------------------------------------------------------

    def _command_byte(self, b):
        cmd = self._cmd
        cmd.append(b)
        if len(cmd) <= _PARAMS.get(cmd[0], 0):
            return  # waiting for parameters
        self._cmd = []
        before = self._visible()
        self._execute(cmd)
        if self._visible() != before:
            self._changed(True)

    def _visible(self):
        # Everything besides GDDRAM that decides what the glass shows.
        return (
            self.display_on,
            self.contrast,
            self.inverted,
            self.entire_on,
            self.com_remap,
            self.charge_pump,
            self.multiplex,
            self.com_pins,
            self.start_line,
            self.display_offset,
        )

    def _execute(self, cmd):
        op = cmd[0]
        if op == 0xAE or op == 0xAF:
            self.display_on = op == 0xAF
        elif op == 0x81:
            self.contrast = cmd[1]
        elif op == 0xA6 or op == 0xA7:
            self.inverted = op == 0xA7
        elif op == 0xA4 or op == 0xA5:
            self.entire_on = op == 0xA5
        elif op == 0xA0 or op == 0xA1:
            self.seg_remap = op == 0xA1
        elif 0xC0 <= op <= 0xCF:
            self.com_remap = bool(op & 0x08)
        elif op == 0x8D:
            self.charge_pump = bool(cmd[1] & 0x04)
        elif op == 0x20:
            self.addressing_mode = cmd[1] & 0x03
        elif op == 0x21:
            self.col_start, self.col_end = cmd[1] & 0x7F, cmd[2] & 0x7F
            self.col = self.col_start
        elif op == 0x22:
            self.page_start, self.page_end = cmd[1] & 0x07, cmd[2] & 0x07
            self.page = self.page_start
        elif op <= 0x0F:
            if self.addressing_mode == _PAGE:
                self.col = (self.col & 0xF0) | op
        elif op <= 0x1F:
            if self.addressing_mode == _PAGE:
                self.col = ((op & 0x07) << 4) | (self.col & 0x0F)
        elif 0xB0 <= op <= 0xB7:
            if self.addressing_mode == _PAGE:
                self.page = op & 0x07
        elif 0x40 <= op <= 0x7F:
            self.start_line = op & 0x3F
        elif op == 0xA8:
            mux = (cmd[1] & 0x3F) + 1
            if mux >= 16:  # the datasheet marks 0..14 as invalid entries
                self.multiplex = mux
        elif op == 0xDA:
            self.com_pins = cmd[1]
        elif op == 0xD3:
            self.display_offset = cmd[1] & 0x3F
        elif op in (0x26, 0x27, 0x29, 0x2A):
            pass  # scroll setup: parameters consumed, takes effect on 0x2F
        elif op == 0x2F:
            self.scrolling = True
        elif op == 0x2E:
            self.scrolling = False
        elif op in (0xD5, 0xD9, 0xDB, 0xA3, 0xE3):
            pass  # timing, voltage, scroll area, NOP: no visible effect in the model
        else:
            if len(self.unknown) < 32:
                self.unknown.append(op)

    # --- the glass ------------------------------------------------------------------------

    def _rows(self):
        # For each glass row: the GDDRAM row it shows, or _NO_ROW if no scanned row reaches it.
        if self._rowmap is None:
            mux = self.multiplex
            alt = bool(self.com_pins & 0x10)
            lr = bool(self.com_pins & 0x20)
            step_of_pin = self._step_of_pin
            for i in range(64):
                step_of_pin[i] = _NO_ROW
            for step in range(mux):
                step_of_pin[_com_pin(step, mux, self.com_remap, alt, lr)] = step
            rows = self._rowbuf
            for y in range(self.height):
                step = step_of_pin[self._wiring[y]]
                if step == _NO_ROW:
                    rows[y] = _NO_ROW
                else:
                    rows[y] = (step + self.start_line + self.display_offset) % 64
            self._rowmap = rows
        return self._rowmap

    def pixel(self, x, y):
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ValueError("pixel outside the glass")
        if not self.lit:
            return 0
        if self.entire_on:
            return 1
        row = self._rows()[y]
        if row == _NO_ROW:
            return 0
        on = (self.gddram[(row >> 3) * _COLS + x] >> (row & 7)) & 1
        return on ^ 1 if self.inverted else on

    def glass(self):
        # Into one buffer made with the model, returned itself (valid until the next call): the
        # model shares the firmware's heap, in the sim and in the firmware tests, and a copy
        # per call (2-3 KB at once) was what ran out first on an ESP32-sized heap.
        out = self._glass
        if not self.lit:
            for i in range(len(out)):
                out[i] = 0
            return out
        if self.entire_on:
            for i in range(len(out)):
                out[i] = 0xFF
            return out
        rows = self._rows()
        ram = self.gddram
        inv = self.inverted
        n = len(out)
        if rows == self._identity:
            # The usual setup: the glass shows GDDRAM rows as they are.
            if inv:
                for i in range(n):
                    out[i] = ram[i] ^ 0xFF
            else:
                out[:] = memoryview(ram)[:n]
            return out
        for i in range(n):
            out[i] = 0
        for y in range(self.height):
            row = rows[y]
            dst = (y >> 3) * _COLS
            bit = 1 << (y & 7)
            if row == _NO_ROW:
                continue  # no COM drives this row: dark, even when inverted
            src = (row >> 3) * _COLS
            shift = row & 7
            for x in range(_COLS):
                if ((ram[src + x] >> shift) & 1) ^ inv:
                    out[dst + x] |= bit
        return out
