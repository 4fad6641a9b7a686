# The screen component alone (firmware/screen.py): it is the one place that redraws, once a
# second after the clock's edge and when asked; timeout, dimming, waking; an allocation-free
# step of its task.
import time

import clock
import micropython
import mptest
import panelread
import screen
import uiscreens
from fakes import RTC, Display


class Owner:
    def __init__(self):
        self.draws = 0
        self.woke = []
        self.dark = 0

    def draw(self, ui):
        self.draws += 1
        uiscreens.message(ui, ("Title", "", "frame"))

    def screen_woke(self, was_off):
        self.woke.append(was_off)

    def screen_dark(self):
        self.dark += 1


def make(timeout_ms=30000):
    c = clock.Clock(RTC(time.ticks_ms, 1795000000))
    c.read()
    d = Display()
    o = Owner()
    s = screen.Screen(d, c, o.draw, o)
    s.contrast = 100  # the settings, as appload.apply_config sets them
    s.timeout_ms = timeout_ms
    s.render()
    return s, d, o, c


def _within_one_second(s):
    # Start just after a second edge so the tests below stay inside one second.
    s._clock.sample()
    time.sleep_ms(s._clock.ms_to_edge() + 5)
    s.update()


def test_redraws_when_asked_and_not_otherwise():
    s, d, o, _ = make()
    _within_one_second(s)
    draws = o.draws
    s.update()
    assert o.draws == draws  # nothing changed, same second
    s.changed()
    s.update()
    assert o.draws == draws + 1
    assert panelread.has_text(bytes(d.shown), "Title", ink=0)


def test_redraws_once_a_new_second_begins():
    s, d, o, c = make()
    _within_one_second(s)
    draws = o.draws
    time.sleep_ms(c.ms_to_edge() + 3)
    s.update()
    assert o.draws == draws + 1


def test_timeout_darkens_and_wake_draws_before_lighting():
    s, d, o, _ = make(timeout_ms=5000)
    s.idle(time.ticks_add(s.input_at, 4999))
    assert s.on and d.on
    s.idle(time.ticks_add(s.input_at, 5000))
    assert not s.on and not d.on and o.dark == 1
    draws = o.draws
    s.changed()
    s.update()  # dark: nothing drawn
    assert o.draws == draws
    s.wake_soon()
    s.update()
    assert s.on and d.on and o.woke == [True] and o.draws == draws + 1


def test_dims_after_a_minute_when_it_never_times_out():
    s, d, o, _ = make(timeout_ms=0)
    s.idle(time.ticks_add(s.input_at, 60000))
    assert s.on and s.dimmed and d.contrast_value == 25
    s.wake()
    assert not s.dimmed and d.contrast_value == 100 and o.woke == [False]


def test_a_failing_draw_shows_the_error():
    s, d, o, _ = make()

    def broken(ui):
        raise ValueError("bad frame")

    s._draw = broken
    s.render()
    assert isinstance(s.fault, ValueError)
    assert panelread.has_text(bytes(d.shown), "bad frame")


def test_a_step_of_the_screen_task_allocates_nothing():
    s, d, o, c = make()
    _within_one_second(s)
    s.changed()
    micropython.heap_lock()
    try:
        s.update()  # a redraw
        s.update()  # nothing to do
        s.changed()
        s.update()
    finally:
        micropython.heap_unlock()
    assert s.fault is None, s.fault


def test_stop_blanks_and_lights_the_panel():
    s, d, o, _ = make()
    s.off()
    s.stop(KeyboardInterrupt())
    assert d.on and s.on
    assert panelread.has_text(bytes(d.shown), "Token stopped", ink=0)
    assert panelread.has_text(bytes(d.shown), "Ctrl-C reached")


if __name__ == "__main__":
    mptest.main(globals())
