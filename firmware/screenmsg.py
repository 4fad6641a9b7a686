"""The panel's whole-screen reports: an error while drawing, and why the app stopped.
Imported by screen.Screen only when one is shown, and dropped right after: the idle token
holds none of it.

    screenmsg.draw(ui, e, stopped)    # e: the exception; stopped: the app has ended
"""

import uiscreens


def draw(ui, e, stopped):
    name = type(e).__name__
    if not stopped:
        text = str(e)
        lines = ("Error", name[:16], text[:16], text[16:32], text[32:48], "",
                 "USB: REPL has", "the details")  # fmt: skip
    elif isinstance(e, KeyboardInterrupt):
        lines = ("Token stopped", "", "Ctrl-C reached", "the USB REPL.", "", "Press reset to",
                 "start again.")  # fmt: skip
    elif isinstance(e, MemoryError):  # no str(e): the heap may be full
        lines = ("Token stopped", "", "MemoryError", "", "", "", "Press reset to",
                 "start again.")  # fmt: skip
    else:
        text = str(e)
        lines = ("Token stopped", "", name[:16], text[:16], text[16:32], "",
                 "Press reset to", "start again.")  # fmt: skip
    uiscreens.message(ui, lines)
