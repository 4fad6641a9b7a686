# main.py's fallback panel (firmware/bootfail.py): when the app cannot start, the panel says
# "Firmware error", the exception, and whether the REPL or a restart follows.
import sys

import mptest
import panelread
from fakes import Display


class _BoardModule:
    def __init__(self, display):
        self.panel = display

    def make(self):
        return self

    def display(self):
        return self.panel


def _show(e, locked):
    d = Display()
    saved = sys.modules.get("board")
    sys.modules["board"] = _BoardModule(d)
    try:
        import bootfail

        bootfail.show(e, locked)
    finally:
        if saved is None:
            sys.modules.pop("board", None)
        else:
            sys.modules["board"] = saved
    return bytes(d.shown)


def test_unlocked_says_the_error_and_the_repl():
    f = _show(ValueError("flash is not mounted"), False)
    assert panelread.has_text(f, "Firmware error", ink=0)
    assert panelread.has_text(f, "ValueError")
    assert panelread.has_text(f, "flash is not mou")  # 16 characters a line
    assert panelread.has_text(f, "nted")
    assert panelread.has_text(f, "REPL on USB")


def test_locked_says_it_restarts():
    f = _show(OSError(5), True)
    assert panelread.has_text(f, "OSError")
    assert panelread.has_text(f, "Restarting")
    assert not panelread.has_text(f, "REPL on USB")


if __name__ == "__main__":
    mptest.main(globals())
