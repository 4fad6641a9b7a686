# The token's entry point: build the board, run the app. If the app cannot start, say so on
# the panel; if it stops (Ctrl-C, a crash), app.run() has already blanked the panel and said
# why. Either way fall through to the REPL (USB still works for mpremote/deploy).
# KeyboardInterrupt (Ctrl-C from mpremote) is not caught: it must reach the REPL.


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


try:
    import app
    import board

    _board = board.make()
except Exception as e:  # noqa: BLE001 - anything: show it, then the REPL
    _fallback(e)
else:
    try:
        app.run(_board)
    except Exception as e:  # noqa: BLE001 - already on the panel: the details to the REPL
        import sys

        sys.print_exception(e)
