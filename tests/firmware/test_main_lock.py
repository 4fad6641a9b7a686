# firmware/main.py with a locked token never ends: a crash or a stray KeyboardInterrupt
# restarts the app; unlocked, a crash ends main.py (the REPL), as before. main.py runs with
# stand-ins for the app and the board (docs/security.md, "Locked mode").
import sys

import fsutil
import micropython
import mptest
import security

_SALT = bytes(16)
_KEY = bytes(range(32))


class _Board:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.interrupt = []

    def set_interrupt_char(self, on):
        self.interrupt.append(on)

    def display(self):
        raise OSError(19, "no display")


class _BoardModule:
    def __init__(self, board):
        self._board = board

    def make(self):
        return self._board


class _App:
    """app.run raises what `plan` says, one item per call; SystemExit ends the test."""

    def __init__(self, plan):
        self.plan = list(plan)
        self.calls = 0

    def run(self, board):
        self.calls += 1
        raise self.plan.pop(0)


def _run_main(data_dir, plan):
    board = _Board(data_dir)
    app = _App(plan)
    saved = {name: sys.modules.get(name) for name in ("app", "board")}
    sys.modules["app"] = app
    sys.modules["board"] = _BoardModule(board)
    path = _main_path()
    try:
        with open(path) as f:
            code = compile(f.read(), "main.py", "exec")
        try:
            exec(code, {"__name__": "main"})
            ended = "returned"
        except SystemExit:
            ended = "exit"
        except KeyboardInterrupt:
            ended = "KeyboardInterrupt"
    finally:
        for name, module in saved.items():
            if module is None:
                del sys.modules[name]
            else:
                sys.modules[name] = module
        micropython.kbd_intr(3)
    return ended, app.calls, board.interrupt


def _main_path():
    # The repository's firmware/main.py beside this folder, or a deployed board's /main.py.
    here = globals().get("__file__", "")
    for path in (here.rsplit("/", 2)[0] + "/../firmware/main.py", "/main.py"):
        try:
            open(path).close()
            return path
        except OSError:
            pass
    mptest.skip("main.py not found")


def _data(locked):
    d = fsutil.tmpdir("mainlock")
    if locked:
        s = security.State(d)
        s.set_password(_SALT, 100000, _KEY)
        s.set_locked(True)
    return d


def test_locked_a_crash_and_a_stray_interrupt_restart_the_app():
    ended, calls, interrupt = _run_main(
        _data(True), [RuntimeError("crash"), KeyboardInterrupt(), SystemExit()]
    )
    assert ended == "exit" and calls == 3, (ended, calls)
    assert interrupt == [False, False, False]  # Ctrl-C stays off at every start


def test_unlocked_a_crash_ends_main_and_ctrl_c_is_on():
    ended, calls, interrupt = _run_main(_data(False), [RuntimeError("crash")])
    assert ended == "returned" and calls == 1
    assert interrupt == [True]
    ended, calls, _ = _run_main(_data(False), [KeyboardInterrupt()])
    assert ended == "KeyboardInterrupt" and calls == 1  # it reaches the REPL


def test_out_of_memory_starts_the_app_again_locked_or_not():
    # The REPL would hide it from the host ("answers with the REPL"): a fresh start has the
    # heap back, and INFO says what ran out (test_app_stops.py).
    ended, calls, interrupt = _run_main(_data(False), [MemoryError(), RuntimeError("crash")])
    assert ended == "returned" and calls == 2, (ended, calls)
    assert interrupt == [True, True]
    ended, calls, _ = _run_main(_data(True), [MemoryError(), SystemExit()])
    assert ended == "exit" and calls == 2, (ended, calls)


def test_locked_but_opened_by_unlock_ctrl_c_reaches_the_repl():
    security.open_repl(True)
    try:
        ended, calls, _ = _run_main(_data(True), [KeyboardInterrupt()])
    finally:
        security.open_repl(False)
    assert ended == "KeyboardInterrupt" and calls == 1


def teardown_function():
    fsutil.cleanup()


if __name__ == "__main__":
    mptest.main(globals())
