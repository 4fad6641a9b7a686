"""The panel's last word when the app cannot start (main.py's fallback): imported only then,
so a running token does not hold this code.

    bootfail.show(e, locked)    # "Firmware error", the exception, and what happens next
"""


def show(e, locked):
    import board

    d = board.make().display()
    text = str(e)
    d.fill(0)
    d.fill_rect(0, 0, 128, 8, 1)
    d.text("Firmware error", 1, 0, 0)
    d.text(type(e).__name__[:16], 0, 16, 1)
    for i in range(3):
        d.text(text[i * 16 : i * 16 + 16], 0, 28 + 8 * i, 1)
    d.text("Restarting" if locked else "REPL on USB", 0, 56, 1)
    d.show()
