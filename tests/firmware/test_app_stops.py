# The app stopping (Ctrl-C, a task that dies, MemoryError): the panel never keeps a code.
# Split from test_app.py, its helpers in appfake.py: a process each keeps the heap of either
# within an ESP32-sized one (MICROPYTHON_HEAP=112K).

import app as appmod
import buttons
import fsutil
import mptest
import panelread
import vault
from appfake import (
    RFC6238,
    Board,
    make,
    rfc_account,
    shown,
)
from fakes import Button

# ---- the app stops: the panel never keeps a code (a stale code is worse than none)


class _InterruptingButton(Button):
    """Raises KeyboardInterrupt at its n-th read, as the sim does for a Ctrl-C at a hardware
    access; remembers what the panel showed just before."""

    def __init__(self, panel, after):
        super().__init__()
        self.panel = panel
        self.left = after
        self.code_before = None

    def pressed(self):
        self.left -= 1
        if self.left == 0:
            self.code_before = panelread.code(bytes(self.panel.shown))
            raise KeyboardInterrupt
        return False


def _assert_stopped(b, *why):
    f = shown(b)
    assert panelread.code(f) is None, panelread.code(f)
    assert panelread.has_text(f, "Token stopped", ink=0)
    for text in why:
        assert panelread.has_text(f, text), text
    assert b.panel.on


def test_ctrl_c_blanks_the_code_and_says_why():
    b = Board(fsutil.tmpdir("app"), unix=1234567890)
    vault.Vault(b.data_dir).add(*rfc_account()[:3], **rfc_account()[3])
    pin = _InterruptingButton(b.panel, 30)
    b.buttons = (pin, Button())
    mptest.raises(KeyboardInterrupt, appmod.run, b)  # it must still reach the REPL
    assert pin.code_before == RFC6238[1234567890]["sha1"]  # a code was up when it came
    _assert_stopped(b, "Ctrl-C reached", "the USB REPL.")


def test_ctrl_c_while_the_screen_is_off_lights_the_stop_screen():
    b, a = make([rfc_account()], unix=1234567890)
    a.screen.off()
    pin = _InterruptingButton(b.panel, 5)
    a.buttons = buttons.Buttons((pin, Button()))
    a.start = lambda: None  # already started, screen off
    mptest.raises(KeyboardInterrupt, a.run)
    _assert_stopped(b, "Ctrl-C reached")


def _dying_task(error):
    async def task():
        import asyncio

        await asyncio.sleep_ms(50)
        raise error

    return task


def test_a_task_that_dies_stops_the_app_and_shows_the_error():
    b, a = make([rfc_account()], unix=1234567890)
    assert panelread.code(shown(b)) is not None
    a.start = lambda: None  # already started: keep the screen whose task is replaced
    a.screen.run = _dying_task(RuntimeError("screen task bug"))
    e = mptest.raises(RuntimeError, a.run)
    assert e.args == ("screen task bug",)
    _assert_stopped(b, "RuntimeError", "screen task bug")


def test_a_task_out_of_memory_stops_the_app_with_the_reason_and_it_is_remembered():
    # main.py then starts the app again (test_main_lock.py): a fresh heap, never the REPL
    b, a = make([rfc_account()], unix=1234567890)
    assert panelread.code(shown(b)) is not None
    a._clock_task = _dying_task(MemoryError())
    try:
        mptest.raises(MemoryError, a.run)
        _assert_stopped(b, "MemoryError")
        assert appmod.App(b).memory_note == "app (restarted)"  # the next app's INFO
    finally:
        appmod._stopped_by_memory[0] = None
    assert appmod.App(b).memory_note is None


def test_memory_error_outside_the_tasks_stops_the_app_with_the_reason_and_is_remembered():
    b, a = make([rfc_account()], unix=1234567890)
    assert panelread.code(shown(b)) is not None

    def start():
        raise MemoryError()

    a.start = start
    try:
        mptest.raises(MemoryError, a.run)
        _assert_stopped(b, "MemoryError")
        # main.py starts the app again (test_main_lock.py): the new app's INFO says why
        assert appmod.App(b).memory_note == "app (restarted)"
    finally:
        appmod._stopped_by_memory[0] = None


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
