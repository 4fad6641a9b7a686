# Buttons: debounce, short and long presses, a press held at start, swallowing, no allocation.
import buttons
import micropython
import mptest
from fakes import Button, Ticks

NEXT, PREV = 0, 1


def setup(n=2):
    t = Ticks()
    pins = [Button() for _ in range(n)]
    b = buttons.Buttons(pins, ticks_ms=t.ticks_ms)
    return t, pins, b


def run(t, b, ms, step=5):
    """Poll every `step` ms for `ms` ms; return the events."""
    events = []
    for _ in range(ms // step):
        t.advance(step)
        ev = b.poll()
        if ev:
            events.append((ev >> 2, ev & 3))
    return events


def test_short_press():
    t, pins, b = setup()
    pins[NEXT].down = True
    ev = run(t, b, 150)
    pins[NEXT].down = False
    ev += run(t, b, 100)
    assert ev == [(NEXT, buttons.DOWN), (NEXT, buttons.SHORT)], ev


def test_events_are_the_named_constants():
    t, pins, b = setup()
    seen = []
    for pin, hold in ((NEXT, 150), (NEXT, 800), (PREV, 150), (PREV, 800)):
        pins[pin].down = True
        for _ in range(hold // 5):
            t.advance(5)
            ev = b.poll()
            if ev:
                seen.append(ev)
        pins[pin].down = False
        for _ in range(20):
            t.advance(5)
            ev = b.poll()
            if ev:
                seen.append(ev)
    assert seen == [
        buttons.DOWN_0, buttons.SHORT_0, buttons.DOWN_0, buttons.LONG_0,
        buttons.DOWN_1, buttons.SHORT_1, buttons.DOWN_1, buttons.LONG_1,
    ], seen
    assert len(set(seen)) == 6 and 0 not in seen


def test_long_press_fires_while_held_and_no_short_after():
    t, pins, b = setup()
    pins[PREV].down = True
    ev = run(t, b, 800)
    assert ev == [(PREV, buttons.DOWN), (PREV, buttons.LONG)], ev
    pins[PREV].down = False
    assert run(t, b, 200) == []


def test_bounce_is_ignored():
    t, pins, b = setup()
    ev = []
    for _ in range(6):  # 6 ms of contact chatter, then a clean 100 ms press
        pins[NEXT].down = not pins[NEXT].down
        ev += run(t, b, 5)
    pins[NEXT].down = True
    ev += run(t, b, 100)
    for _ in range(6):
        pins[NEXT].down = not pins[NEXT].down
        ev += run(t, b, 5)
    pins[NEXT].down = False
    ev += run(t, b, 100)
    assert ev == [(NEXT, buttons.DOWN), (NEXT, buttons.SHORT)], ev


def test_a_blip_shorter_than_the_debounce_is_no_press():
    t, pins, b = setup()
    pins[NEXT].down = True
    ev = run(t, b, 20)
    pins[NEXT].down = False
    ev += run(t, b, 100)
    assert ev == [], ev


def test_press_held_at_start_counts_after_a_release():
    t = Ticks()
    pins = [Button()]
    pins[0].down = True
    b = buttons.Buttons(pins, ticks_ms=t.ticks_ms)
    ev = run(t, b, 1000)
    pins[0].down = False
    ev += run(t, b, 100)
    assert ev == [], ev
    pins[0].down = True
    ev = run(t, b, 100)
    pins[0].down = False
    ev += run(t, b, 100)
    assert ev == [(0, buttons.DOWN), (0, buttons.SHORT)], ev


def test_swallow_drops_short_and_long_of_the_current_press():
    t, pins, b = setup()
    pins[NEXT].down = True
    ev = run(t, b, 50)
    assert ev == [(NEXT, buttons.DOWN)]
    b.swallow()
    ev = run(t, b, 1000)
    pins[NEXT].down = False
    ev += run(t, b, 100)
    assert ev == [], ev
    pins[NEXT].down = True  # the next press counts again
    ev = run(t, b, 100)
    pins[NEXT].down = False
    ev += run(t, b, 100)
    assert ev == [(NEXT, buttons.DOWN), (NEXT, buttons.SHORT)], ev


def test_two_buttons_each_report():
    t, pins, b = setup()
    pins[NEXT].down = True
    pins[PREV].down = True
    ev = run(t, b, 100)
    pins[NEXT].down = False
    pins[PREV].down = False
    ev += run(t, b, 100)
    assert sorted(ev) == [
        (NEXT, buttons.DOWN),
        (NEXT, buttons.SHORT),
        (PREV, buttons.DOWN),
        (PREV, buttons.SHORT),
    ], ev


def test_a_failing_pin_reads_as_released():
    class Broken:
        def pressed(self):
            raise OSError(5)

    t = Ticks()
    b = buttons.Buttons([Broken()], ticks_ms=t.ticks_ms)
    assert run(t, b, 100) == []


def test_poll_allocates_nothing():
    t, pins, b = setup()
    pins[NEXT].down = True
    n = 300
    got = 0
    micropython.heap_lock()
    try:
        while n:
            t.advance(5)
            if b.poll():
                got += 1
            if n == 100:
                pins[NEXT].down = False
            n -= 1
    finally:
        micropython.heap_unlock()
    assert got == 2  # DOWN, LONG


if __name__ == "__main__":
    mptest.main(globals())
