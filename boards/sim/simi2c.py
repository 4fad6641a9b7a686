# A simulated I2C bus for the sim board: routes machine.I2C calls to device models.
#
# SimI2C(devices) takes a dict {7-bit address: model}. It offers the machine.I2C methods the
# drivers use (scan, writeto, writevto, readfrom, readfrom_into, readfrom_mem,
# readfrom_mem_into, writeto_mem). A transaction to an address with no model, or whose model
# has `present = False`, raises OSError(19) (ENODEV), which is what the ESP32 port raises when
# nobody acknowledges the address byte.
#
# A model implements the device side of a transaction (subclass Device for no-op defaults):
#   i2c_start(read)   after the address byte: a new write (read=False) or read (read=True)
#   i2c_write(data)   bytes of a write transaction (a writevto calls it once per buffer):
#                     the caller's own buffer, to read during the call, never to keep (no
#                     copy: the bus shares the firmware's heap, and a board's bus copies
#                     nothing there)
#   i2c_read(buf)     fill buf with the bytes the device sends
#   i2c_stop()        end of a transaction (also after a repeated start)
#
# Byte counting, per address in `bytes` (dict) and in `total_bytes`: every byte that crosses
# the wire except start/stop conditions and acknowledge bits: the address byte of each
# transaction (1, or 2 for readfrom_mem: address+W, register, repeated start, address+R), then
# every data byte written or read. So `writeto(a, b"\x00\xaf")` counts 3 bytes.
# `transactions` counts address bytes sent (a readfrom_mem is 2). reset_counts() zeroes all.

_ENODEV = 19


class Device:
    """Base class for a device model: no-op defaults for the bus hooks."""

    present = True

    def i2c_start(self, read):
        pass

    def i2c_write(self, data):
        pass

    def i2c_read(self, buf):
        for i in range(len(buf)):
            buf[i] = 0xFF

    def i2c_stop(self):
        pass


class SimI2C:
    def __init__(self, devices=None):
        self.devices = dict(devices or {})
        self.bytes = {}
        self.total_bytes = 0
        self.transactions = 0

    # --- wiring ---------------------------------------------------------------------------

    def attach(self, addr, model):
        self.devices[addr] = model

    def detach(self, addr):
        self.devices.pop(addr, None)

    def reset_counts(self):
        self.bytes = {}
        self.total_bytes = 0
        self.transactions = 0

    # --- internals ------------------------------------------------------------------------

    def _count(self, addr, n):
        self.bytes[addr] = self.bytes.get(addr, 0) + n
        self.total_bytes += n

    def _open(self, addr, read):
        # The address byte goes out whether or not anybody answers.
        self._count(addr, 1)
        self.transactions += 1
        model = self.devices.get(addr)
        if model is None or not getattr(model, "present", True):
            raise OSError(_ENODEV)
        model.i2c_start(read)
        return model

    def _write(self, model, addr, buf):
        n = len(buf)
        if n:
            model.i2c_write(buf)
        self._count(addr, n)
        return n

    # --- machine.I2C API ------------------------------------------------------------------

    def scan(self):
        return sorted(a for a, m in self.devices.items() if getattr(m, "present", True))

    def writeto(self, addr, buf, stop=True):
        model = self._open(addr, False)
        n = self._write(model, addr, buf)
        model.i2c_stop()
        return n

    def writevto(self, addr, vector, stop=True):
        model = self._open(addr, False)
        n = 0
        for buf in vector:
            n += self._write(model, addr, buf)
        model.i2c_stop()
        return n

    def readfrom_into(self, addr, buf, stop=True):
        model = self._open(addr, True)
        model.i2c_read(buf)
        self._count(addr, len(buf))
        model.i2c_stop()

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def _memaddr(self, memaddr, addrsize):
        if addrsize not in (8, 16):
            raise ValueError("addrsize must be 8 or 16")
        if addrsize == 16:
            return bytes(((memaddr >> 8) & 0xFF, memaddr & 0xFF))
        return bytes((memaddr & 0xFF,))

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        # Write the register address, repeated start, read: two address bytes on the wire.
        reg = self._memaddr(memaddr, addrsize)
        model = self._open(addr, False)
        self._write(model, addr, reg)
        model.i2c_stop()
        model = self._open(addr, True)
        model.i2c_read(buf)
        self._count(addr, len(buf))
        model.i2c_stop()

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        reg = self._memaddr(memaddr, addrsize)
        model = self._open(addr, False)
        self._write(model, addr, reg)
        self._write(model, addr, buf)
        model.i2c_stop()
