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
# way fall through to the REPL (USB still works for mpremote/deploy).
import micropython

micropython.kbd_intr(-1)
try:
    for _ in range(2):  # a backward jump: the VM's pending-exception check point
        pass
except KeyboardInterrupt:
    pass


def _fallback(e):
    import sys

    sys.print_exception(e)
    try:
        import board

        d = board.make().display()
        text = str(e)
        d.fill(0)
        d.fill_rect(0, 0, 128, 8, 1)
        d.text("Firmware error", 1, 0, 0)
        d.text(type(e).__name__[:16], 0, 16, 1)
        for i in range(3):
            d.text(text[i * 16 : i * 16 + 16], 0, 28 + 8 * i, 1)
        d.text("REPL on USB", 0, 56, 1)
        d.show()
    except Exception as e2:  # noqa: BLE001 - nothing else left to try
        sys.print_exception(e2)


def _locked(data_dir):
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


def _main():
    """Returns (to the REPL) only when the token is not locked."""
    while True:
        locked = True  # until the flash says otherwise
        try:
            import app
            import board

            _board = board.make()
        except Exception as e:  # noqa: BLE001 - anything: show it, then the REPL if allowed
            _fallback(e)
            if not _locked("/data"):  # every board keeps its data there
                return
        else:
            locked = _locked(_board.data_dir)
            if not locked:
                _board.set_interrupt_char(True)
            try:
                app.run(_board)
            except KeyboardInterrupt:
                # Ctrl-C gets through only when unlocked, or UNLOCK (or a factory reset)
                # opened the REPL since.
                if not locked or _repl_open():
                    raise
            except Exception as e:  # noqa: BLE001 - already on the panel: details to the REPL
                import sys

                sys.print_exception(e)
            if not locked:
                return
        # Locked: never the REPL. Start the app again after a pause.
        import time

        time.sleep_ms(500)


_main()
