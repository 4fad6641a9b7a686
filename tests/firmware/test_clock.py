# Clock: small-int UTC from a DS3231, phase from its second edge, validity, setting.
import asyncio
import time

import clock
import micropython
import mptest
from fakes import RTC, Ticks

T2026 = 1795000000  # 2026-11-18T10:13:20Z
DAY = 86400


def make(unix_s=T2026, phase_ms=0):
    t = Ticks()
    rtc = RTC(t.ticks_ms, unix_s, phase_ms)
    c = clock.Clock(rtc, t.ticks_ms, t.sleep_ms)
    return t, rtc, c


def test_unread_clock_is_not_valid():
    _, _, c = make()
    assert not c.valid()
    assert c.error and c.status == clock.NOT_READ


def test_read_gives_days_and_second_of_day():
    t, rtc, c = make(T2026 + 5, 0)
    assert c.read()
    assert c.valid()
    c.sample()
    assert (c.days, c.sod) == ((T2026 + 5) // DAY, (T2026 + 5) % DAY)
    t.advance(3000)
    assert c.unix() == T2026 + 8


def test_refresh_measures_the_phase_to_a_few_ms():
    for phase in (0, 1, 337, 500, 998):
        t, rtc, c = make(T2026, phase)
        assert c.refresh()
        for step in (0, 250, 999, 30000, 86400 * 1000):
            t.advance(step)
            err = c.unix_ms() - rtc.now_ms()
            assert -2 <= err <= 2, (phase, step, err)


def test_steady_state_sync_reads_rtc_near_the_edge_only():
    t, rtc, c = make(T2026, 420)
    c.refresh()
    t.advance(60000 + 300)
    rtc.reads = 0
    c.refresh()
    # waits until ~20 ms before the edge, then polls every 2 ms: about a dozen reads
    assert rtc.reads <= 14, rtc.reads
    assert -2 <= c.unix_ms() - rtc.now_ms() <= 2


def test_sample_crosses_midnight_and_allocates_nothing():
    t, rtc, c = make(19000 * DAY + DAY - 2, 0)
    c.refresh()
    c.sample()
    days0 = c.days
    micropython.heap_lock()
    try:
        n = 5  # a while loop: range() would allocate its iterator
        while n:
            t.advance(1000)
            c.sample()
            n -= 1
    finally:
        micropython.heap_unlock()
    now = rtc.now_ms() // 1000
    assert c.days == days0 + 1 and (c.days, c.sod) == (now // DAY, now % DAY), (c.days, c.sod)
    assert -2 <= c.unix_ms() - rtc.now_ms() <= 2


def test_stopped_oscillator_is_not_valid_and_says_so():
    t, rtc, c = make()
    rtc.osf = True
    assert not c.read()
    assert not c.valid()
    assert c.error == "clock not set" and c.status == clock.NOT_SET
    assert not c.refresh()


def test_missing_rtc_is_reported_not_raised():
    t, rtc, c = make()
    rtc.present = False
    assert not c.read()
    assert c.error == "RTC not responding" and c.status == clock.NO_ANSWER
    c2 = clock.Clock(None, t.ticks_ms, t.sleep_ms)
    assert not c2.read()
    assert c2.error == "no RTC" and c2.status == clock.NO_RTC


def test_rtc_that_does_not_tick_is_caught():
    t, rtc, c = make()

    frozen = rtc.days_seconds()
    rtc.days_seconds = lambda: frozen
    assert not c.refresh()
    assert c.error == "RTC not ticking" and c.status == clock.NOT_TICKING


def test_revision_changes_on_jump_not_on_resync():
    t, rtc, c = make(T2026, 100)
    c.refresh()
    r = c.revision
    t.advance(10000)
    c.refresh()
    assert c.revision == r
    rtc.shift(120)
    c.refresh()
    assert c.revision > r
    assert -2 <= c.unix_ms() - rtc.now_ms() <= 2


# With the real tick counter (asyncio sleeps in real time).


def _set_at_the_edge_once():
    rtc = RTC(time.ticks_ms, 1000000000, 0)
    rtc.osf = True
    c = clock.Clock(rtc)
    target = T2026 * 1000 + 640  # the edge comes 360 ms after the call
    t0 = time.ticks_ms()
    asyncio.run(c.set_unix_ms(target))
    el = time.ticks_diff(time.ticks_ms(), t0)
    want = target + el
    problems = []
    # At the new time's first edge, or (when a loaded host overslept the wait past it) at a
    # later edge: never between edges, which would leave the DS3231's phase wrong.
    if not (355 <= el % 1000 <= 400 and el < 2400):
        problems.append("written %d ms after the call" % el)
    if rtc.osf or not c.valid():
        problems.append("oscillator-stop flag left set or clock not valid")
    if not -3 <= rtc.now_ms() - want <= 3:
        problems.append("RTC off by %d ms" % (rtc.now_ms() - want))
    if not -3 <= c.unix_ms() - want <= 3:
        problems.append("clock off by %d ms" % (c.unix_ms() - want))
    return problems


def test_set_unix_ms_writes_at_the_new_seconds_edge():
    # Real time on a shared host: the OS may stop this process for a few ms between the end
    # of the wait and the write (seen at -8 ms under CI load), which no firmware can prevent
    # and a board does not do. So up to three tries, each checked in full; one must be exact.
    seen = []
    for _ in range(3):
        problems = _set_at_the_edge_once()
        if not problems:
            return
        seen.append(problems)
    raise AssertionError(seen)


def test_set_unix_ms_rejects_out_of_range_without_writing():
    rtc = RTC(time.ticks_ms, T2026, 0)
    c = clock.Clock(rtc)
    for bad in (0, 946684799999, 4102444800000, 1.5e12, "1795000000000"):
        mptest.raises(ValueError, asyncio.run, c.set_unix_ms(bad))
    assert rtc.writes == 0


def test_the_idle_clock_leaves_the_setting_code_unloaded():
    # Reading, syncing and checking the clock must not import clockset.py (setting the time:
    # a command-only module the app drops with the protocol server).
    import sys

    sys.modules.pop("clockset", None)
    rtc = RTC(time.ticks_ms, T2026, 250)
    c = clock.Clock(rtc)
    c.read()
    c.refresh()
    assert asyncio.run(c.check())
    c.sample()
    c.unix()
    c.unix_ms()
    assert "clockset" not in sys.modules


def test_check_notices_a_moved_rtc():
    rtc = RTC(time.ticks_ms, T2026, 250)
    c = clock.Clock(rtc)
    c.refresh()
    rtc.shift(-3600)
    assert asyncio.run(c.check())
    assert -3 <= c.unix_ms() - rtc.now_ms() <= 3
    rtc.osf = True
    assert not asyncio.run(c.check())
    assert c.error == "clock not set" and c.status == clock.NOT_SET


if __name__ == "__main__":
    mptest.main(globals())
