"""The token's user settings, kept on flash with store.Store (atomic, checksummed).

    c = config.Config(data_dir)       # reads DIR/config.bin on first use
    c.get("contrast")                 # -> 128
    c.set("contrast", 200)            # validates (ValueError), saves, returns the value
    c.items()                         # ((name, value), ...) in NAMES order
    c.revision                        # +1 at every change: the app polls it to apply live
    c.error                           # None, or why the file was ignored (defaults in use)

Settings (NAMES), with their type, range and default:
    screen_timeout_s  int   0 (never) or 5..3600    30   display off after this idle time
    contrast          int   0..255                  128
    rotate            bool                          False  turn the picture by 180 degrees
    button_mode       str   auto | one | two        auto   auto: two buttons if wired
    preview_s         int   0 (off) .. 30           5    show the next code this many
                                                         seconds before the period ends
    sleep_s           int   0 (never) or 10..3600   600  with the screen off, light-sleep
                                                         after this long without input (and
                                                         30 s without USB traffic), deep-sleep
                                                         after 6 times as long. A sleeping
                                                         board misses USB input until a press
                                                         wakes it: 0 for a token on a desk.

set() accepts the value's own type; a bool also as 0/1. A rejected value changes nothing.
A damaged settings file is not fatal: the defaults apply, `error` says why, and the next
set() writes a fresh file.

Reading the file, checking values and changing a setting are configfile.py, imported when the
file is read (the first use) or a setting changes, and dropped again (app._COMMAND_MODULES):
the idle token holds only the values.

File DIR/config.bin (store.Store, magic b"TKCF"): UTF-8 text, one "name=value" per line, only
the settings that differ from their defaults. Unknown names are ignored when loading (a newer
firmware may add settings), and so are invalid values (the default applies).
"""

import store

NAMES = ("screen_timeout_s", "contrast", "rotate", "button_mode", "preview_s", "sleep_s")
_DEFAULTS = (30, 128, False, "auto", 5, 600)  # (configfile.py reads them too)
_FILE = "config.bin"
_MAGIC = b"TKCF"
_MAX_SIZE = 1024


class Config:
    NAMES = NAMES

    def __init__(self, directory):
        self._store = store.Store(directory.rstrip("/") + "/" + _FILE, _MAGIC, _MAX_SIZE)
        self._values = None
        self.error = None
        self.revision = 0

    def _ensure(self):
        values = self._values
        if values is None:
            import configfile

            values = self._values = configfile.load(self)
        return values

    def get(self, name):
        values = self._ensure()
        if name not in NAMES:
            import configfile

            configfile.validate(name, None)  # raises ValueError: no such setting
        return values[NAMES.index(name)]

    def items(self):
        values = self._ensure()
        return tuple((NAMES[i], values[i]) for i in range(len(NAMES)))

    def set(self, name, value):
        import configfile

        return configfile.change(self, name, value)
