# Runs before main.py at every boot (docs/security.md, "Locked mode"). MicroPython turns
# Ctrl-C on before it runs this file and again before main.py, and a KeyboardInterrupt that
# escapes this file makes MicroPython skip main.py and start the REPL. So: Ctrl-C off as the
# very first statement, then a check point inside a try to swallow one that was already
# pending. main.py turns it on again only when the token is not locked.
import micropython

micropython.kbd_intr(-1)
try:
    for _ in range(2):  # a backward jump: the VM's pending-exception check point
        pass
except KeyboardInterrupt:
    pass
