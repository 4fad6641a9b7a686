# Setting the clock (clock.Clock.set_unix_ms), apart from clock.py because only the protocol's
# time sync does it: app.py drops this module with the protocol server, so the idle token does
# not hold its code.

import time

from micropython import const

_DAY = const(86400)


async def set_unix_ms(clock, ms, t0):
    # Clock.set_unix_ms: `ms` is Unix milliseconds as of ticks t0. Waits for that time's next
    # second edge and writes the RTC there.
    import asyncio

    if not isinstance(ms, int) or ms < 946684800000 or ms >= 4102444800000:
        raise ValueError("time must be Unix ms within 2000..2099")
    rtc = clock._rtc
    if rtc is None:
        raise OSError(19, "no RTC")
    ticks = clock._ticks
    # Looked up before the wait: a driver may load code for it (drivers/ds3231.py), which
    # must not delay the write at the edge.
    set_time = rtc.set_time
    while True:
        el = time.ticks_diff(ticks(), t0)
        rem = 1000 - (ms + el) % 1000  # until the next edge of the new time
        if rem == 1000:
            rem = 0
        if rem > 4:
            await asyncio.sleep_ms(rem - 3)
            continue  # recompute: the loop may have been busy for longer
        while time.ticks_diff(ticks(), t0) < el + rem:
            pass  # the last few ms: spin, sleep_ms granularity would cost accuracy
        secs = (ms + el + rem) // 1000
        break
    set_time(secs)
    edge = ticks()
    set_time = None  # let the driver's code go before more is loaded
    rtc.clear_oscillator_stop()
    # Not divmod(): on a 32-bit port it returns big-int objects even for small values,
    # and every later += on them would allocate; // and % give real small ints.
    clock._set(secs // _DAY, secs % _DAY, edge, True)
    clock.last_sync = edge
    clock.revision += 1
