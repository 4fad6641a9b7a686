# The token's entry point: build the board, run the app.
#
# Locked mode (docs/security.md, "Locked mode"): MicroPython turns Ctrl-C on before it runs
# main.py, so the first statement turns it off again, before anything reads the flash. A
# Ctrl-C that arrived before that is a pending KeyboardInterrupt, which the VM raises at its
# next check point (a jump): the loop in the try below is that check point, and it swallows
# it. From then on no new one can arrive until Ctrl-C is turned on again, which happens only
# when the flash says the token is not locked, or UNLOCK opened the REPL for this boot.
# A locked token never lets this file end: a crash restarts the app, so there is no way into
# the REPL. Unlocked, it behaves as before: if the app cannot start, say so on the panel; if
# it stops (Ctrl-C, a crash), app.run() has already blanked the panel and said why; either
# way fall through to the REPL (USB still works for mpremote/deploy). Out of memory is the
# exception, locked or not: the app starts again (a fresh heap; INFO says so), since the REPL
# would hide it from the host.
import micropython

micropython.kbd_intr(-1)
try:
    for _ in range(2):  # a backward jump: the VM's pending-exception check point
        pass
except KeyboardInterrupt:
    pass


def _fallback(e, locked=False):
    import sys

    sys.print_exception(e)
    try:
        import bootfail  # the panel's message: its code is loaded only when it is needed

        bootfail.show(e, locked)
    except Exception as e2:  # noqa: BLE001 - nothing else left to try
        sys.print_exception(e2)


_DATA = "/data"  # every board keeps its data there (board.data_dir, checked again below)


def _none_of(data_dir):
    # True if the security record (security.py's file) has no copy at all (.bin, .bak, .new):
    # a token that never had a password, which is never locked. Only os.stat, no import:
    # Ctrl-C comes back on at once.
    import os

    for suffix in ("", ".bak", ".new"):
        try:
            os.stat(data_dir + "/security.bin" + suffix)
            return False
        except OSError as e:
            if e.args[0] != 2:  # not ENOENT: cannot tell
                return False
    return True


def _locked(data_dir):
    if _none_of(data_dir):
        return False
    try:
        import security

        return security.locked_at_boot(data_dir)
    except Exception:  # noqa: BLE001 - the module or the flash is unreadable: fail closed
        return True


def _repl_open():
    try:
        import security

        return security.repl_open()
    except Exception:  # noqa: BLE001
        return False


def _run(state):
    """Build the board and run the app once; state[0] is whether the token is locked. True
    if the app ran out of memory: it is started again, locked or not (the REPL would hide
    that from the host, and a fresh start has the heap back)."""
    try:
        import app
        import board

        b = board.make()
    except Exception as e:  # noqa: BLE001 - anything: show it, then the REPL if allowed
        _fallback(e, state[0])
        return
    if b.data_dir != _DATA:
        state[0] = _locked(b.data_dir)
    b.set_interrupt_char(not state[0] or _repl_open())
    try:
        app.run(b)
    except Exception as e:  # noqa: BLE001 - already on the panel: the details to the REPL
        import sys

        sys.print_exception(e)
        return isinstance(e, MemoryError)
    return False


def _main():
    """Returns (to the REPL) only when the token is not locked."""
    state = [_locked(_DATA)]
    if not state[0]:
        micropython.kbd_intr(3)  # as soon as the flash says so; the board's switch follows
    while True:
        try:
            if not _run(state) and not state[0]:
                return
            # Locked: never the REPL. Start the app again after a pause.
            import time

            time.sleep_ms(500)
        except KeyboardInterrupt:
            # Ctrl-C gets through only when unlocked, or when UNLOCK (or a factory reset)
            # opened the REPL since; anything else (one taken just before the lock was read)
            # is swallowed.
            if not state[0] or _repl_open():
                raise


_main()
