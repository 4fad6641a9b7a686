"""The panel as one component: what is on it, when it is redrawn, and whether it is lit.

    s = screen.Screen(display, clock, draw, owner)  # draw(ui): the content; owner (or None)
                               # hears owner.screen_woke(was_off) and owner.screen_dark()
    s.contrast, s.timeout_ms   # settings (appload.apply_config sets them and the panel's)
    s.render()                 # boot: the first frame now
    s.changed()                # anyone: redraw soon (within one poll, 10 ms)
    s.wake_soon()              # anyone: light the panel and redraw soon (the host changed it)
    s.touch()                  # a button was used: the timeout starts again
    s.wake(), s.off()          # a press on a dark panel, the timeout
    s.fail(e)                  # show an error now (it stays until the next redraw)
    s.stop(e)                  # the app stopped: blank the panel at once, then say why
    await s.run()              # the screen task

Redraws have one owner: only this class calls draw(). It redraws when something changed and
once a second, just after the clock's second edge (so a code changes within a few ms of its
period boundary and the countdown moves once a second). The task sleeps until that edge or
for one poll (_POLL_MS), whichever comes first. It also owns the panel's state: lit or dark
after timeout_ms without input (0: never), dimmed after a minute without input when it never
times out, and the burn-in shift, one pixel every 3 minutes. A redraw of an unchanged account
screen allocates nothing, and the display compares and sends only the area the UI redrew
(the UI marks it in the display's `area`).
"""

import time

from micropython import const

_POLL_MS = const(10)
_POLL_OFF_MS = const(20)
_EDGE_MARGIN_MS = const(2)  # wake this long after the predicted second edge
_SHIFT_MS = const(180000)
_DIM_AFTER_MS = const(60000)
# Burn-in offsets dx, dy (a pair of bytes each: one small object), the next every _SHIFT_MS.
_SHIFTS = b"\x00\x00\x01\x01\x02\x00\x01\x02\x00\x01\x02\x02\x01\x00\x00\x02\x02\x01"


class Screen:
    def __init__(self, display, clock, draw, owner=None):
        # Runs once, at boot: its code is bootinit.py (dropped by the app after boot).
        import bootinit

        bootinit.screen(self, display, clock, draw, owner)

    # ---- requests from the rest of the token

    def changed(self):
        self.dirty = True

    def wake_soon(self):
        self.dirty = True
        self._wake_ask = True

    def touch(self):
        self.input_at = time.ticks_ms()

    # ---- drawing

    def draw(self):
        """Draw the current frame into the display's buffer (no I/O)."""
        ui = self.ui
        i = self._shift * 2
        ui.shift(_SHIFTS[i], _SHIFTS[i + 1])
        self._draw(ui)
        self._second = self._clock.sod

    def render(self):
        """Draw the current screen and send what changed to the panel."""
        self.dirty = False
        if self.ui is None or not self.on:
            return
        try:
            self.draw()
            self.fault = None
        except Exception as e:  # noqa: BLE001 - show it rather than freeze
            _log(e)
            self._draw_fault(e)
        self._show()

    def fail(self, e):
        """Show an error at once (e.g. a counter that could not be saved)."""
        _log(e)
        if self.ui is not None and self.on:
            self._draw_fault(e)
            self._show()

    def _show(self):
        try:
            self.display.show()  # only what the UI redrew, when the display can tell
            self.frames += 1
        except OSError as e:
            _log(e)

    def _draw_fault(self, e):
        self.fault = e
        try:
            _report(self.ui, e, False)
        except Exception:  # noqa: BLE001, S110 - nothing more to show
            pass

    def stop(self, e):
        """The app stopped (e: why). A token must never go on showing a code that is no
        longer current: blank the panel first, then show the reason, lit."""
        d = self.display
        if d is None:
            return
        for _ in range(2):  # a second Ctrl-C may land in the first attempt: try once more
            try:
                d.fill(0)
                d.show(True)  # all of it: an interrupted show() may have left the panel stale
                try:
                    import gc

                    gc.collect()  # what the stopped tasks held is garbage now: room for text
                    _report(self.ui, e, True)
                    d.show(True)
                finally:
                    d.poweron()  # also lights a panel that had timed out or dimmed
                    d.contrast(self.contrast)
                self.on = True
                self.dimmed = False
                return
            except KeyboardInterrupt:
                continue
            except Exception:  # noqa: BLE001, S112 - a failing panel: nothing more to show
                return

    # ---- lit, dimmed, dark

    def wake(self):
        self.input_at = time.ticks_ms()
        was_off = not self.on
        self.on = True
        if self._owner is not None:
            self._owner.screen_woke(was_off)
        # Draw first, light the panel after: the panel keeps its RAM while off, and must not
        # flash the code it showed when it went dark.
        self.render()
        d = self.display
        if d is not None:
            try:
                if was_off:
                    d.poweron()
                if self.dimmed:
                    d.contrast(self.contrast)
            except OSError as e:
                _log(e)
        self.dimmed = False

    def off(self):
        self.on = False
        if self._owner is not None:
            self._owner.screen_dark()
        d = self.display
        if d is not None:
            try:
                d.poweroff()
            except OSError as e:
                _log(e)

    def idle(self, now):
        """Timeout and dimming, by the time since the last input."""
        idle = time.ticks_diff(now, self.input_at)
        timeout = self.timeout_ms
        if self.on and timeout and idle >= timeout:
            self.off()
        elif self.on and not self.dimmed and idle >= _DIM_AFTER_MS:
            self.dimmed = True
            d = self.display
            if d is not None:
                try:
                    d.contrast(self.contrast // 4)
                except OSError as e:
                    _log(e)

    # ---- the task

    def update(self):
        """One step of the screen task: wake if asked, time out, move the burn-in shift,
        redraw if something changed or a new second began. Allocates nothing when idle."""
        if self._wake_ask:
            self._wake_ask = False
            self.wake()
        now = time.ticks_ms()
        self.idle(now)
        if time.ticks_diff(now, self._shift_at) >= _SHIFT_MS:
            self._shift_at = now
            self._shift = (self._shift + 1) % (len(_SHIFTS) // 2)
            self.dirty = True
        if not self.on:
            self.dirty = False
            return
        clock = self._clock
        clock.sample()
        if self.dirty or clock.sod != self._second:
            self.render()

    async def run(self):
        import asyncio

        clock = self._clock
        while True:
            wait = _POLL_OFF_MS
            if self.on:
                wait = clock.ms_to_edge() + _EDGE_MARGIN_MS
                if wait > _POLL_MS:
                    wait = _POLL_MS
            await asyncio.sleep_ms(wait)
            self.update()


def _report(ui, e, stopped):
    # screenmsg draws the report; it is dropped at once (a fault is rare, a stop the end).
    import sys

    import screenmsg

    try:
        screenmsg.draw(ui, e, stopped)
    finally:
        sys.modules.pop("screenmsg", None)
        sys.modules.pop("uiscreens", None)


def _log(e):
    print("token: display: %s: %s" % (type(e).__name__, e))
